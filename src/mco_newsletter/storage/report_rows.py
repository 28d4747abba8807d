"""The statements of `report` (reporting/) and of what feeds it without tracking anyone: the tallies of what readers
did because of a campaign's message, and the count of reports that named no delivery of ours.

Nothing here keeps who did what: a tally is one number per campaign, edition language and kind; an unmatched report
is one number per day, source and kind. The ledger's own rows (their state, the provider's last word, `twice`) are
read, never written, except the provider's `deferred`, noted only on a row that has no later word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from .database import Database

# The reader actions tallied per campaign and edition.
COMPLAINT, UNSUBSCRIBE, PREFERENCES = "complaint", "unsubscribe", "preferences"
# What smtp.py writes on a row whose address the server refused for good (a bounce); its other refusals (an address
# the server cannot carry) are not the reader's.
SMTP_BOUNCE_PREFIX = "refused by the server:"


# What is counted of one campaign's rows of one edition: (name, condition on a ledger row). On SQLite, one pass over
# the rows in the order of their index (campaign, language), each count a `count(*) FILTER (WHERE …)` (15 % less CPU
# than sum(CASE …)): its GROUP BY of the rows' states and words sorted a million rows in a temporary B-tree, 2.2 times
# the CPU (bench/RESULTS.md). PostgreSQL's hashed GROUP BY of those is twice as fast as the counts there, so it groups
# and the counts are made of the groups (the same names).
TAKEN = "state IN ('sent', 'maybe_sent')"
ROW_COUNTS = (
    ("planned", "1 = 1"),
    ("twice", "twice = 1"),
    ("sent", "state = 'sent'"),
    ("maybe_sent", "state = 'maybe_sent'"),
    ("skipped", "state = 'skipped'"),
    ("open", "state IN ('pending', 'sending', 'failed')"),
    ("put_off", "state = 'failed'"),
    ("refused", "state = 'refused'"),
    ("smtp_bounces", f"state = 'refused' AND substr(coalesce(last_error, ''), 1, {len(SMTP_BOUNCE_PREFIX)}) = ?"),
    *(
        (name, f"{TAKEN} AND provider_event = '{word}'")
        for name, word in (
            ("delivered", "delivered"),
            ("deferred", "deferred"),
            ("provider_bounces", "bounce"),
            ("soft_bounced", "soft_bounce"),
            ("blocked", "blocked"),
            ("provider_dropped", "dropped"),
        )
    ),
)


class EditionCounts(NamedTuple):
    """The counts of ROW_COUNTS for one campaign's rows of one edition."""

    campaign_id: int
    language: str
    counts: dict[str, int]


class CampaignRow(NamedTuple):
    id: int
    issue_id: str
    segment: str
    started_at: str
    finished_at: str | None
    snapshot: str


class Tallies:
    """campaign_tallies and unmatched_reports: counts only (written inside the caller's transaction)."""

    def __init__(self, db: Database):
        self.db = db

    def add_for_delivery(self, pairs: Iterable[tuple[int, str]]) -> None:
        """Count each (ledger row id, kind) once for the row's campaign and edition (a row gone counts nowhere)."""
        self.db.executemany(
            "INSERT INTO campaign_tallies (campaign_id, language, kind, count) SELECT campaign_id, language, ?, 1"
            " FROM deliveries WHERE id = ? ON CONFLICT (campaign_id, language, kind)"
            " DO UPDATE SET count = campaign_tallies.count + 1",
            [(kind, row_id) for row_id, kind in pairs],
        )

    def attribute(self, subscriber_id: int, issue_id: str, kind: str) -> bool:
        """Count `kind` for the campaign of this issue that sent the reader their message (their newest row of the
        issue that was sent); False, counting nothing, when no campaign of the issue sent them one."""
        row = self.db.one(
            "SELECT d.id FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE d.subscriber_id = ?"
            " AND c.issue_id = ? AND d.state IN ('sent', 'maybe_sent') ORDER BY d.id DESC LIMIT 1",
            (subscriber_id, issue_id),
        )
        if row is None:
            return False
        self.add_for_delivery([(row[0], kind)])
        return True

    def add_unmatched(self, counted: Counter) -> None:
        """Add to the per-day counts: `counted` maps (day, source, kind, reader found: bool) to a number."""
        self.db.executemany(
            "INSERT INTO unmatched_reports (day, source, kind, reader, count) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (day, source, kind, reader) DO UPDATE SET count = unmatched_reports.count + excluded.count",
            [(day, source, kind, int(reader), number) for (day, source, kind, reader), number in counted.items()],
        )

    def note_deferred(self, row_ids: list[int], at: str) -> None:
        """The provider still tries these rows' messages: noted only where it has not said more (a late `deferred`
        never hides a `delivered` or a bounce that came first)."""
        if row_ids:
            self.db.execute(
                "UPDATE deliveries SET provider_event = 'deferred', provider_event_at = ?"
                f" WHERE id {self.db.dialect.in_ids} AND (provider_event IS NULL"
                " OR provider_event = 'deferred')",
                (at, self.db.dialect.ids(sorted(set(row_ids)))),
            )


class ReportRows:
    """What `report` reads: campaigns, their rows' outcomes per edition, the tallies, the unmatched reports."""

    def __init__(self, db: Database):
        self.db = db

    def campaigns(self, issue_id: str | None = None) -> list[CampaignRow]:
        """Every campaign (of one issue), newest first."""
        where, params = ("WHERE issue_id = ?", (issue_id,)) if issue_id is not None else ("", ())
        return [
            CampaignRow(*row)
            for row in self.db.all(
                "SELECT id, issue_id, segment, started_at, finished_at, settings_snapshot FROM campaigns"
                f" {where} ORDER BY started_at DESC, id DESC",
                params,
            )
        ]

    def outcomes(self, campaign_ids: list[int]) -> list[EditionCounts]:
        """The campaigns' rows counted per edition (ROW_COUNTS)."""
        if not campaign_ids:
            return []
        return self._grouped(campaign_ids) if self.db.kind == "postgresql" else self._filtered(campaign_ids)

    def _filtered(self, campaign_ids: list[int]) -> list[EditionCounts]:
        """outcomes() as one filtered count per name, over the rows in the order of their index."""
        counts = ", ".join(f"count(*) FILTER (WHERE {condition})" for _, condition in ROW_COUNTS)
        rows = self.db.all(
            f"SELECT campaign_id, language, {counts} FROM deliveries WHERE campaign_id"
            f" {self.db.dialect.in_ids} GROUP BY campaign_id, language",
            (SMTP_BOUNCE_PREFIX, self.db.dialect.ids(campaign_ids)),
        )
        names = [name for name, _ in ROW_COUNTS]
        return [EditionCounts(row[0], row[1], dict(zip(names, map(int, row[2:]), strict=False))) for row in rows]

    def _grouped(self, campaign_ids: list[int]) -> list[EditionCounts]:
        """outcomes() from the rows grouped by state, the provider's word, SMTP bounce and `twice`."""
        rows = self.db.all(
            "SELECT campaign_id, language, state, coalesce(provider_event, ''),"
            f" CASE WHEN state = 'refused' AND substr(coalesce(last_error, ''), 1, {len(SMTP_BOUNCE_PREFIX)}) = ?"
            f" THEN 1 ELSE 0 END, twice, count(*) FROM deliveries WHERE campaign_id {self.db.dialect.in_ids}"
            " GROUP BY 1, 2, 3, 4, 5, 6",
            (SMTP_BOUNCE_PREFIX, self.db.dialect.ids(campaign_ids)),
        )
        words = {
            "delivered": "delivered",
            "deferred": "deferred",
            "bounce": "provider_bounces",
            "soft_bounce": "soft_bounced",
            "blocked": "blocked",
            "dropped": "provider_dropped",
        }
        counted: dict[tuple[int, str], dict[str, int]] = {}
        for campaign_id, language, state, word, smtp_bounce, twice, number in rows:
            into = counted.setdefault((campaign_id, language), dict.fromkeys((name for name, _ in ROW_COUNTS), 0))
            names = ["planned", *(["twice"] if twice else []), *(["smtp_bounces"] if smtp_bounce else [])]
            if state in ("pending", "sending", "failed"):
                names += ["open", *(["put_off"] if state == "failed" else [])]
            else:
                names.append(state)
            if state in ("sent", "maybe_sent") and word in words:
                names.append(words[word])
            for name in names:
                into[name] += number
        return [EditionCounts(campaign_id, language, counts) for (campaign_id, language), counts in counted.items()]

    def tallies(self, campaign_ids: list[int]) -> list[tuple[int, str, str, int]]:
        """(campaign id, language, kind, count) of the campaigns."""
        if not campaign_ids:
            return []
        return [
            tuple(row)
            for row in self.db.all(
                "SELECT campaign_id, language, kind, count FROM campaign_tallies"
                f" WHERE campaign_id {self.db.dialect.in_ids}",
                (self.db.dialect.ids(campaign_ids),),
            )
        ]

    def unmatched(self, since_day: str) -> list[tuple[str, str, str, bool, int]]:
        """(day, source, kind, reader found, count) from `since_day` (YYYY-MM-DD, UTC) on, oldest first."""
        return [
            (day, source, kind, bool(reader), count)
            for day, source, kind, reader, count in self.db.all(
                "SELECT day, source, kind, reader, count FROM unmatched_reports WHERE day >= ?"
                " ORDER BY day, source, kind, reader",
                (since_day,),
            )
        ]
