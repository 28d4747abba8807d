"""The ledger: one campaign per issue and segment, one row per reader, moved to `sent` only after acceptance.

States: pending → sending (a request that may have reached the provider) → sent | failed; readers who
left the list after the campaign started become skipped. A crash between the provider's acceptance and
the ledger's commit leaves rows in `sending`: they are sent again on resume (at most one request's worth).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from ..subscribers.segments import Segment
from ..subscribers.store import Store, now

OPEN_STATES = ("pending", "sending", "failed")


@dataclass(frozen=True)
class Campaign:
    """One issue sent to one segment."""

    id: int
    issue_id: str
    segment: str
    started_at: str
    finished_at: str | None
    snapshot: dict


class Work(NamedTuple):
    """A ledger row still to send, with what the subscriber record says now."""

    row_id: int
    subscriber_id: int
    state: str
    email: str | None
    status: str | None


class Ledger:
    """Ledger queries on the subscriber database; safe to call from several sending threads."""

    def __init__(self, store: Store):
        self.store = store
        self.db = store.db
        self.lock = threading.Lock()
        # A killed process loses nothing that was committed (the WAL is in the OS's hands); only a
        # power cut can lose the last commits, which then are sent again: never lost, at worst twice.
        self.db.execute("PRAGMA synchronous = NORMAL")

    def find(self, issue_id: str, segment: str) -> Campaign | None:
        row = self.db.execute("SELECT id, issue_id, segment, started_at, finished_at, settings_snapshot"
                              " FROM campaigns WHERE issue_id = ? AND segment = ?", (issue_id, segment)).fetchone()
        return Campaign(*row[:5], json.loads(row[5])) if row else None

    def campaigns(self, issue_id: str) -> list[Campaign]:
        rows = self.db.execute("SELECT id, issue_id, segment, started_at, finished_at, settings_snapshot"
                               " FROM campaigns WHERE issue_id = ? ORDER BY id", (issue_id,))
        return [Campaign(*row[:5], json.loads(row[5])) for row in rows]

    def create(self, *, issue_id: str, segment: Segment, editions: dict[str, str], snapshot: dict) -> Campaign:
        """The campaign and a pending row for every active reader of the segment, in one transaction."""
        where, params = segment.where()
        mapping = " ".join("WHEN ? THEN ?" for _ in editions)
        mapping_params = [value for pair in editions.items() for value in pair]
        started = now()
        with self.lock, self.store.transaction() as db:
            campaign_id = db.execute(
                "INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES (?, ?, ?, ?)",
                (issue_id, segment.name, json.dumps(snapshot, sort_keys=True, default=str), started)).lastrowid
            db.execute(
                "INSERT INTO deliveries (campaign_id, subscriber_id, language, fallback, updated_at)"
                f" SELECT ?, s.id, CASE s.language {mapping} END,"
                f" CASE s.language {mapping} END != s.language, ?"
                f" FROM subscribers s WHERE {where} ORDER BY s.id",
                [campaign_id, *mapping_params, *mapping_params, started, *params])
        return Campaign(campaign_id, issue_id, segment.name, started, None, snapshot)

    def languages(self, campaign: Campaign) -> list[str]:
        """Edition languages that still have rows to send."""
        rows = self.db.execute("SELECT DISTINCT language FROM deliveries WHERE campaign_id = ? AND state IN"
                               " ('pending', 'sending', 'failed') ORDER BY language", (campaign.id,))
        return [language for (language,) in rows]

    def work(self, campaign: Campaign, language: str, *, after: int, limit: int) -> list[Work]:
        """The next rows to send of one edition, with the subscriber's current address and status."""
        with self.lock:
            rows = self.db.execute(
                "SELECT d.id, d.subscriber_id, d.state, s.email, s.status FROM deliveries d"
                " LEFT JOIN subscribers s ON s.id = d.subscriber_id"
                " WHERE d.campaign_id = ? AND d.language = ? AND d.id > ? AND d.state IN ('pending', 'sending', 'failed')"
                " ORDER BY d.id LIMIT ?", (campaign.id, language, after, limit)).fetchall()
        return [Work(*row) for row in rows]

    def mark(self, row_ids: Iterable[int], state: str, *, error: str | None = None) -> None:
        """Move rows to a state in one commit; `sending` counts an attempt."""
        at = now()
        attempt = 1 if state == "sending" else 0
        with self.lock, self.store.transaction() as db:
            db.execute("UPDATE deliveries SET state = ?, attempts = attempts + ?, last_error = ?, updated_at = ?"
                       " WHERE id IN (SELECT value FROM json_each(?))",
                       (state, attempt, error, at, json.dumps(list(row_ids))))

    def mark_sent(self, accepted: list[tuple[int, str | None]]) -> None:
        """Record that the provider accepted these rows (with its message id, when it gives one)."""
        at = now()
        if len(accepted) == 1:  # one message (SMTP, per connection): one autocommitted statement
            (row_id, provider_id), = accepted
            with self.lock:
                self.db.execute("UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?,"
                                " updated_at = ? WHERE id = ?", (provider_id, at, row_id))
            return
        ids = {provider_id for _, provider_id in accepted}
        with self.lock, self.store.transaction() as db:
            if len(ids) == 1:  # one provider id for the whole request: one statement
                db.execute("UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?, updated_at = ?"
                           " WHERE id IN (SELECT value FROM json_each(?))",
                           (ids.pop(), at, json.dumps([row_id for row_id, _ in accepted])))
            else:
                db.executemany("UPDATE deliveries SET state = 'sent', last_error = NULL, provider_id = ?,"
                               " updated_at = ? WHERE id = ?",
                               [(provider_id, at, row_id) for row_id, provider_id in accepted])

    def finish(self, campaign: Campaign) -> None:
        with self.lock, self.store.transaction() as db:
            db.execute("UPDATE campaigns SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                       (now(), campaign.id))

    def counts(self, campaign: Campaign) -> dict[str, dict[str, int]]:
        """Rows per edition language and state."""
        result: dict[str, dict[str, int]] = {}
        for language, state, count in self.db.execute(
                "SELECT language, state, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY language, state",
                (campaign.id,)):
            result.setdefault(language, {})[state] = count
        return result

    def fallbacks(self, campaign: Campaign) -> dict[str, int]:
        rows = self.db.execute("SELECT language, count(*) FROM deliveries WHERE campaign_id = ? AND fallback"
                               " GROUP BY language", (campaign.id,))
        return dict(rows.fetchall())
