"""The ledger: one campaign per issue and segment, one row per reader, moved to `sent` only after acceptance.

States: pending → sending (a message or request that may have reached the provider) → sent; refused
(the server refused the address for good) and skipped (the reader left before their turn) are final;
failed is open (a rerun tries again). Only the process holding the issue's claim (delivery/locks.py)
writes a campaign's rows, so rows found in `sending` when a claim is taken were left by a dead process.

A row in doubt (its message may have been accepted: left in `sending` by a dead process, or in a request
without an answer) that is sent again gets `twice` (the reader may have the issue twice), in the commit that
records it `sent`; one whose reader left before it could be sent again ends `maybe_sent` (final, like sent).

The ledger owns the campaigns, deliveries and webhook_events tables; subscribers belong to the Store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..storage.dialect import now
from ..subscribers.segments import Segment
from ..subscribers.store import Store, segment_where

# The rows a send has still to deliver: the planner counts them, the send loop takes them, a resume finds them.
OPEN_STATES = ("pending", "sending", "failed")
_OPEN = "(" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")"  # the same, as SQL's list


@dataclass(frozen=True)
class Campaign:
    """One issue sent to one segment."""

    id: int
    issue_id: str
    segment: str
    started_at: str
    finished_at: str | None
    snapshot: dict


def _campaign(row: Sequence[Any]) -> Campaign:
    return Campaign(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


class Work(NamedTuple):
    """A ledger row still to send, with what the subscriber record says now."""

    row_id: int
    subscriber_id: int
    state: str
    email: str | None
    status: str | None
    nonce: bytes | None


@dataclass(frozen=True)
class Audience:
    """Who a run would add to a campaign: counts per reader language, and who is left out."""

    by_language: dict[str, int]
    already_sent: int
    first: list[tuple[str, str]]


class Ledger:
    """Ledger queries on the subscriber database; safe to call from several sending threads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        self.ids = store.db.dialect.ids  # a list of ids as the one parameter of `in_ids`
        self.in_ids = store.db.dialect.in_ids
        self.lock = threading.Lock()

    def find(self, issue_id: str, segment: str) -> Campaign | None:
        row = self.db.one(
            "SELECT id, issue_id, segment, started_at, finished_at, settings_snapshot"
            " FROM campaigns WHERE issue_id = ? AND segment = ?",
            (issue_id, segment),
        )
        return _campaign(row) if row else None

    def campaigns(self, issue_id: str) -> list[Campaign]:
        rows = self.db.execute(
            "SELECT id, issue_id, segment, started_at, finished_at, settings_snapshot"
            " FROM campaigns WHERE issue_id = ? ORDER BY id",
            (issue_id,),
        )
        return [_campaign(row) for row in rows]

    def _newcomers(self, issue_id: str, segment: Segment, campaign: Campaign | None, again: bool) -> tuple[str, list]:
        """The condition on subscribers `s` for readers a campaign does not hold yet, or skipped when they
        had left (and, unless `again`, who have no row in another campaign of the same issue)."""
        where, params = segment_where(segment)
        if campaign is not None:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = ? AND d.subscriber_id = s.id"
                " AND d.state != 'skipped')"
            )
            params = [*params, campaign.id]
        others = [c.id for c in self.campaigns(issue_id) if campaign is None or c.id != campaign.id]
        if others and not again:
            where += (
                " AND s.id NOT IN (SELECT d.subscriber_id FROM deliveries d WHERE d.campaign_id"
                f" {self.in_ids} AND d.state != 'skipped')"
            )
            params = [*params, self.ids(others)]
        return where, params

    def audience(
        self, *, issue_id: str, segment: Segment, campaign: Campaign | None, again: bool, first: int = 5
    ) -> Audience:
        """Readers of the segment a run would add, by language; and how many already got the issue in
        another campaign (left out unless `again`)."""
        where, params = self._newcomers(issue_id, segment, campaign, again)
        by_language = dict(
            self.db.execute(
                f"SELECT s.language, count(*) FROM subscribers s WHERE {where} GROUP BY s.language", params
            ).fetchall()
        )
        sample = self.db.execute(
            f"SELECT s.email, s.language FROM subscribers s WHERE {where} ORDER BY s.id LIMIT ?", [*params, first]
        ).fetchall()
        already = 0
        if any(c.id != getattr(campaign, "id", None) for c in self.campaigns(issue_id)):
            counted = sum(by_language.values())
            other_where, other_params = self._newcomers(issue_id, segment, campaign, again=not again)
            other = self.db.execute(f"SELECT count(*) FROM subscribers s WHERE {other_where}", other_params).fetchone()[
                0
            ]
            already = abs(counted - other)
        return Audience(by_language, already, sample)

    def create(
        self,
        *,
        issue_id: str,
        segment: Segment,
        editions: dict[str, str],
        fallback: str,
        snapshot: dict,
        again: bool = False,
    ) -> Campaign:
        """The campaign and a pending row for every reader it should reach, in one transaction."""
        started = now()
        with self.lock, self.store.transaction() as db:
            campaign_id = db.value(
                "INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (issue_id, segment.name, json.dumps(snapshot, sort_keys=True, default=str), started),
            )
            campaign = Campaign(campaign_id, issue_id, segment.name, started, None, snapshot)
            self._add_rows(campaign, segment, editions, fallback, again, started, new=True)
        return campaign

    def add_readers(
        self, campaign: Campaign, *, segment: Segment, editions: dict[str, str], fallback: str, again: bool = False
    ) -> int:
        """Rows for readers who joined the segment since the campaign started; the count added."""
        at = now()
        with self.lock, self.store.transaction() as db:
            added = self._add_rows(campaign, segment, editions, fallback, again, at, new=False)
            if added:
                db.execute("UPDATE campaigns SET finished_at = NULL WHERE id = ?", (campaign.id,))
        return added

    def _add_rows(self, campaign, segment, editions, fallback, again, at, *, new: bool) -> int:
        where, params = self._newcomers(campaign.issue_id, segment, None if new else campaign, again)
        # Every reader resolves to an edition: their language's, or the fallback's (also for a language
        # that is no longer in `languages`).
        mapping = " ".join("WHEN ? THEN ?" for _ in editions) or "WHEN NULL THEN NULL"
        pairs = [value for pair in editions.items() for value in pair]
        edition = f"CASE s.language {mapping} ELSE ? END"
        # A reader skipped because they had left, and who is back, gets their row reopened.
        cursor = self.db.execute(
            "INSERT INTO deliveries (campaign_id, subscriber_id, language, fallback, updated_at)"
            f" SELECT ?, s.id, {edition}, CASE WHEN {edition} != s.language THEN 1 ELSE 0 END, ? FROM subscribers s"
            f" WHERE {where} ORDER BY s.id"
            " ON CONFLICT (campaign_id, subscriber_id) DO UPDATE SET state = 'pending', language = excluded.language,"
            " fallback = excluded.fallback, last_error = NULL, updated_at = excluded.updated_at",
            [campaign.id, *pairs, fallback, *pairs, fallback, at, *params],
        )
        if cursor.rowcount:
            self.db.update_statistics("deliveries")
        return cursor.rowcount

    def languages(self, campaign: Campaign) -> list[str]:
        """Edition languages that still have rows to send."""
        rows = self.db.execute(
            f"SELECT DISTINCT language FROM deliveries WHERE campaign_id = ? AND state IN {_OPEN} ORDER BY language",
            (campaign.id,),
        )
        return [language for (language,) in rows]

    def work(self, campaign: Campaign, language: str, *, after: int, limit: int) -> list[Work]:
        """The next rows to send of one edition, with the subscriber's current address, status and nonce."""
        with self.lock:
            rows = self.db.execute(
                "SELECT d.id, d.subscriber_id, d.state, s.email, s.status, s.nonce FROM deliveries d"
                " LEFT JOIN subscribers s ON s.id = d.subscriber_id"
                f" WHERE d.campaign_id = ? AND d.language = ? AND d.id > ? AND d.state IN {_OPEN}"
                " ORDER BY d.id LIMIT ?",
                (campaign.id, language, after, limit),
            ).fetchall()
        return [Work(*row) for row in rows]

    def rows(self, row_ids: Iterable[int]) -> list[tuple[str, Work]]:
        """Open rows by id, each with its edition language."""
        with self.lock:
            found = self.db.execute(
                "SELECT d.language, d.id, d.subscriber_id, d.state, s.email, s.status, s.nonce FROM deliveries d"
                " LEFT JOIN subscribers s ON s.id = d.subscriber_id"
                f" WHERE d.id {self.in_ids} AND d.state IN {_OPEN} ORDER BY d.id",
                (self.ids(row_ids),),
            ).fetchall()
        return [(row[0], Work(*row[1:])) for row in found]

    def in_flight(self, campaign: Campaign) -> set[int]:
        """Rows a dead process left in `sending`: they may have reached the provider."""
        return {
            row_id
            for (row_id,) in self.db.execute(
                "SELECT id FROM deliveries WHERE campaign_id = ? AND state = 'sending'", (campaign.id,)
            )
        }

    def still_active(self, row_ids: list[int]) -> set[int]:
        """Of these rows, those whose reader is still on the list and active, read now (one indexed query)."""
        with self.lock:
            return {
                row_id
                for (row_id,) in self.db.execute(
                    "SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
                    f" WHERE d.id {self.in_ids} AND s.status = 'active'",
                    (self.ids(row_ids),),
                )
            }

    def mark(self, row_ids: Iterable[int], state: str, *, error: str | None = None, attempt: int | None = None) -> None:
        """Move rows to a state in one commit; `sending` counts an attempt (by default)."""
        attempt = (1 if state == "sending" else 0) if attempt is None else attempt
        with self.lock:
            self.db.write(
                "UPDATE deliveries SET state = ?, attempts = attempts + ?, last_error = ?, updated_at = ?"
                f" WHERE id {self.in_ids}",
                (state, attempt, error, now(), self.ids(row_ids)),
            )

    def mark_sent(
        self, accepted: Sequence[tuple[int, str | None]], *, twice: set[int] | frozenset = frozenset(), attempt: int = 0
    ) -> None:
        """Record that the provider accepted these rows (with its message id, when it gives one); those in `twice`
        were in doubt before: their readers may have it twice. `attempt`: 1 when it was not counted as it began."""
        at = now()
        if len(accepted) == 1:  # one message (SMTP, per connection): one autocommitted statement
            ((row_id, provider_id),) = accepted
            with self.lock:
                self.db.write(
                    "UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?,"
                    " attempts = attempts + ?, updated_at = ?, twice = CASE WHEN ? = 1 THEN 1 ELSE twice END"
                    " WHERE id = ?",
                    (provider_id, attempt, at, int(row_id in twice), row_id),
                )
            return
        ids = {provider_id for _, provider_id in accepted}
        doubted = self.ids(sorted(twice.intersection(row_id for row_id, _ in accepted)))
        if len(ids) == 1:  # one provider id for the whole request (or none: SMTP's taken rows): one statement
            with self.lock:
                self.db.write(
                    "UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?,"
                    f" attempts = attempts + ?, updated_at = ?, twice = CASE WHEN id {self.in_ids} THEN 1"
                    f" ELSE twice END WHERE id {self.in_ids}",
                    (ids.pop(), attempt, at, doubted, self.ids(row_id for row_id, _ in accepted)),
                )
            return
        with self.lock, self.store.transaction(store_wide=False) as db:
            db.executemany(
                "UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?,"
                " attempts = attempts + ?, updated_at = ?, twice = CASE WHEN ? = 1 THEN 1 ELSE twice"
                " END WHERE id = ?",
                [(provider_id, attempt, at, int(row_id in twice), row_id) for row_id, provider_id in accepted],
            )

    def record_taken(self, row_ids: set[int]) -> None:
        """Rows a dead sender's server took before it recorded them: `sent`, unless an answer was recorded; one in
        doubt before (`sending`: that sender sent it again) may have it twice."""
        with self.lock:
            self.db.write(
                f"UPDATE deliveries SET state = 'sent', last_error = NULL, attempts = attempts + 1,"
                f" updated_at = ?, twice = CASE WHEN state = 'sending' THEN 1 ELSE twice END"
                f" WHERE id {self.in_ids} AND state IN {_OPEN}",
                (now(), self.ids(sorted(row_ids))),
            )

    def mark_in_flight(self, row_ids: Iterable[int]) -> None:
        """Rows a dead sender had on the wire: `sending` (possibly received) unless an answer was recorded."""
        with self.lock:
            self.db.write(
                f"UPDATE deliveries SET state = 'sending' WHERE id {self.in_ids} AND state IN {_OPEN}",
                (self.ids(sorted(row_ids)),),
            )

    def unmark_in_flight(self, row_ids: Iterable[int]) -> None:
        """Rows marked `sending` ahead of their message, which never went: `pending` again (not in doubt)."""
        with self.lock:
            self.db.write(
                f"UPDATE deliveries SET state = 'pending' WHERE id {self.in_ids} AND state = 'sending'",
                (self.ids(sorted(row_ids)),),
            )

    def refuse(self, row_id: int, error: str, *, bounce: bool) -> None:
        """A final refusal of one reader's address (an attempt); with `bounce`, the reader is marked bounced too."""
        at = now()
        with self.lock, self.store.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = 'refused', last_error = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (error, at, row_id),
            )
            if bounce:
                owner = db.execute("SELECT subscriber_id FROM deliveries WHERE id = ?", (row_id,)).fetchone()
                if owner:
                    self.store.set_statuses([(owner[0], "bounced")], at)

    def leave_out(self, row_ids: Iterable[int], *, in_doubt: set[int]) -> None:
        """Readers who left before their turn: `skipped`, or `maybe_sent` for a row in doubt (its message may have
        reached them before they left). Both are final: nothing more is sent to them."""
        rows = list(row_ids)
        doubted = self.ids(sorted(in_doubt.intersection(rows)))
        with self.lock:
            self.db.write(
                f"UPDATE deliveries SET state = CASE WHEN id {self.in_ids} THEN 'maybe_sent' ELSE 'skipped'"
                f" END, updated_at = ? WHERE id {self.in_ids}",
                (doubted, now(), self.ids(rows)),
            )

    def finish(self, campaign: Campaign) -> None:
        with self.lock:
            self.db.write(
                "UPDATE campaigns SET finished_at = ? WHERE id = ? AND finished_at IS NULL", (now(), campaign.id)
            )

    def counts(self, campaign: Campaign) -> dict[str, dict[str, int]]:
        """Rows per edition language and state."""
        result: dict[str, dict[str, int]] = {}
        for language, state, count in self.db.execute(
            "SELECT language, state, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY language, state",
            (campaign.id,),
        ):
            result.setdefault(language, {})[state] = count
        return result

    def twice(self, campaign: Campaign) -> int:
        """How many readers of the campaign may have it twice (sent again after a doubt, in any run)."""
        return self.db.value("SELECT count(*) FROM deliveries WHERE campaign_id = ? AND twice = 1", (campaign.id,))

    def fallbacks(self, campaign: Campaign) -> dict[str, int]:
        return dict(
            self.db.all(
                "SELECT language, count(*) FROM deliveries WHERE campaign_id = ? AND fallback = 1 GROUP BY language",
                (campaign.id,),
            )
        )

    def forget(self, subscriber_id: int) -> list[tuple[int, int]]:
        """Delete a reader's rows (inside the caller's transaction); their (campaign id, row id) pairs."""
        rows = self.db.execute(
            "SELECT campaign_id, id FROM deliveries WHERE subscriber_id = ?", (subscriber_id,)
        ).fetchall()
        self.db.execute("DELETE FROM deliveries WHERE subscriber_id = ?", (subscriber_id,))
        return [(campaign_id, row_id) for campaign_id, row_id in rows]

    def history(self, subscriber_id: int) -> list[tuple[str, str, str | None]]:
        """The issues a reader's rows are for: (issue id, state, when), oldest first (the subject-access record)."""
        return [
            tuple(row)
            for row in self.db.all(
                "SELECT c.issue_id, d.state, d.updated_at FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
                " WHERE d.subscriber_id = ? ORDER BY d.id",
                (subscriber_id,),
            )
        ]

    def row_owner(self, row_id: int) -> tuple[int, int] | None:
        """(campaign id, subscriber id) of a ledger row, or None when there is no such row."""
        row = self.db.execute("SELECT campaign_id, subscriber_id FROM deliveries WHERE id = ?", (row_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def soft_bounced_in_a_row(self, subscriber_ids: list[int], count: int) -> list[int]:
        """Of these readers, those whose last `count` messages sent (rows sent or maybe sent) all soft-bounced."""
        rows = self.db.execute(
            "SELECT subscriber_id FROM (SELECT subscriber_id, provider_event, row_number() OVER (PARTITION BY"
            f" subscriber_id ORDER BY id DESC) AS position FROM deliveries WHERE subscriber_id {self.in_ids}"
            " AND state IN ('sent', 'maybe_sent')) AS latest WHERE position <= ? GROUP BY subscriber_id"
            " HAVING count(*) = ? AND sum(CASE WHEN provider_event = 'soft_bounce' THEN 1 ELSE 0 END) = ?",
            (self.ids(subscriber_ids), count, count, count),
        )
        return [subscriber_id for (subscriber_id,) in rows]

    def seen_events(self, event_ids: list[str]) -> set[str]:
        """Which of these provider event ids were applied before."""
        return {
            row[0]
            for row in self.db.execute(
                f"SELECT sg_event_id FROM webhook_events WHERE sg_event_id {self.in_ids}", (self.ids(event_ids),)
            )
        }

    def claim_events(self, event_ids: list[str], at: str) -> set[str]:
        """Record these provider event ids as applied; the ones that were not before (this transaction's to apply).

        One INSERT … ON CONFLICT DO NOTHING: a second replica applying the same batch at the same moment waits
        for the first one's commit and then claims nothing (a rollback of the first would leave them to it), so
        each event applies once and no batch fails on a duplicate key, whatever lock the transaction holds."""
        rows = self.db.execute(
            f"INSERT INTO webhook_events (sg_event_id, received_at) SELECT value, :at"
            f" FROM ({self.db.dialect.text_rows(':ids')}) AS given WHERE true"
            " ON CONFLICT (sg_event_id) DO NOTHING RETURNING sg_event_id",
            {"at": at, "ids": self.ids(dict.fromkeys(event_ids))},
        )
        return {event_id for (event_id,) in rows}

    def note_events(self, notes: list[tuple[str, int]], at: str) -> None:
        """Note the provider's last word (event, row id) on ledger rows."""
        self.db.executemany(
            "UPDATE deliveries SET provider_event = ?, provider_event_at = ? WHERE id = ?",
            [(kind, at, row_id) for kind, row_id in notes],
        )

    def purge_events(self, *, before: str) -> int:
        """Forget the event ids recorded before `before` (a time as stored); how many."""
        return self.db.execute("DELETE FROM webhook_events WHERE received_at < ?", (before,)).rowcount
