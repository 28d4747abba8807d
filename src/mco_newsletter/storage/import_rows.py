"""The statements of a subscriber import (subscribers/csv_import.py). The file's valid rows are staged, batch by
batch, in temporary tables of the import's own connection (PostgreSQL's COPY; SQLite's inserts), where duplicates
within the file are found; then, in the store's write transaction, each staged row's outcome is decided and applied
by a few statements over the whole file. Nothing of the store is held in memory: an import of a million rows takes
the memory of one batch, and its time grows with the rows, not faster.

Temporary tables live in the connection's own temporary space (SQLite's temporary file, deleted when closed;
PostgreSQL's temporary tables, never written to its write-ahead log), and are dropped when the import ends.
"""

from __future__ import annotations

from collections.abc import Callable

from .database import Database

# A staged row, in the order of the file. Each row's outcome is written to import_decided in the write transaction
# (one insert of narrow rows: rewriting every staged row with it cost twice as much on PostgreSQL).
STAGED = ("line", "email", "key", "name", "language", "status", "consent_at", "consent_source", "left_at", "nonce")
_TABLES = {
    "sqlite": (
        "CREATE TEMPORARY TABLE import_staging (line INTEGER PRIMARY KEY, email TEXT NOT NULL,"
        " key TEXT NOT NULL UNIQUE, name TEXT, language TEXT NOT NULL, status TEXT NOT NULL, consent_at TEXT,"
        " consent_source TEXT, left_at TEXT, nonce BLOB NOT NULL)",
        "CREATE TEMPORARY TABLE import_tags (line INTEGER NOT NULL, tag TEXT NOT NULL,"
        " PRIMARY KEY (line, tag)) WITHOUT ROWID",
        "CREATE TEMPORARY TABLE import_decided (line INTEGER NOT NULL, subscriber_id INTEGER, held TEXT,"
        " status TEXT NOT NULL, outcome TEXT NOT NULL)",
    ),
    "postgresql": (
        "CREATE TEMPORARY TABLE import_staging (line BIGINT PRIMARY KEY, email TEXT NOT NULL,"
        " key TEXT NOT NULL UNIQUE, name TEXT, language TEXT NOT NULL, status TEXT NOT NULL,"
        " consent_at TEXT, consent_source TEXT, left_at TEXT, nonce BYTEA NOT NULL)",
        "CREATE TEMPORARY TABLE import_tags (line BIGINT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (line, tag))",
        "CREATE TEMPORARY TABLE import_decided (line BIGINT NOT NULL, subscriber_id BIGINT, held TEXT,"
        " status TEXT NOT NULL, outcome TEXT NOT NULL)",
        # The planner's statistics (pg_statistic, a catalog: in the WAL) never sample a staged address or
        # name.
        "ALTER TABLE import_staging ALTER COLUMN email SET STATISTICS 0,"
        " ALTER COLUMN key SET STATISTICS 0, ALTER COLUMN name SET STATISTICS 0",
    ),
}
# Which of a batch's addresses earlier rows hold: one lookup of the unique index per address, whatever plan a
# statement prepared for a smaller table would choose (PostgreSQL's `key = ANY(…)` on a table grown since its plan
# was made scanned the whole table per batch: a re-import of 100,000 rows took six minutes).
_EARLIER = {
    "sqlite": "SELECT key, line FROM (SELECT k.value AS key, (SELECT s.line FROM import_staging s WHERE s.key ="
    " k.value) AS line FROM json_each(?) AS k) AS found WHERE line IS NOT NULL",
    "postgresql": "SELECT key, line FROM (SELECT k.key, (SELECT s.line FROM import_staging s WHERE s.key = k.key)"
    " AS line FROM unnest(?::text[]) AS k (key)) AS found WHERE line IS NOT NULL",
}
# The outcomes that write the row's tags.
_TAGGED = "('added', 'left_added', 'confirmed', 'updated', 'resubscribed')"
# Addresses hashed and looked up among the erased at a time.
HASH_BATCH = 5000


class Staging:
    """The staged rows of one import on one connection (a context: the tables are dropped when it ends)."""

    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> Staging:
        self._drop()  # left by an import this connection gave up on
        for statement in _TABLES[self.db.kind]:
            self.db.execute(statement)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.db.in_transaction:
            self._drop()

    def _drop(self) -> None:
        for table in ("import_decided", "import_tags", "import_staging"):
            self.db.execute(f"DROP TABLE IF EXISTS {table}")

    def add(self, rows: list[tuple], tags: list[tuple[int, str]]) -> dict[int, int]:
        """Stage a batch of rows (STAGED's columns, in the order of the file) and their (line, tag) pairs; a row whose
        address (its key) an earlier row holds is left out. The lines of those left out, each with the earlier line."""
        earlier = {}
        if rows:
            earlier = dict(self.db.all(_EARLIER[self.db.kind], (self.db.dialect.ids([row[2] for row in rows]),)))
        duplicates, kept = {}, []
        for row in rows:
            first = earlier.setdefault(row[2], row[0])
            if first != row[0]:
                duplicates[row[0]] = first
            else:
                kept.append(row)
        with self.db.scratch():
            self.db.load("import_staging", STAGED, kept)
            self.db.load("import_tags", ("line", "tag"), [pair for pair in tags if pair[0] not in duplicates])
        return duplicates

    def decide(self, *, resubscribe: bool, hash_of: Callable[[str], str]) -> list[tuple[str, str, int]]:
        """In the caller's write transaction: each staged row's outcome against the store as it is now, and their
        counts as (outcome, status, rows). An address erased earlier is never let in (`hash_of` its keyed hash)."""
        db = self.db
        db.update_statistics("import_staging", "import_tags")
        # A person who left is never made active; an active reader is marked as having left unless they consented
        # here after the file's record of it. A web sign-up still pending is confirmed by the file.
        db.execute(
            "INSERT INTO import_decided (line, subscriber_id, held, status, outcome)"
            " SELECT st.line, s.id, s.status, st.status, CASE"
            " WHEN s.id IS NULL THEN CASE WHEN st.status = 'active' THEN 'added' ELSE 'left_added' END"
            " WHEN st.status <> 'active' THEN CASE"
            "  WHEN s.status <> 'active' THEN 'unchanged'"
            "  WHEN st.left_at IS NOT NULL AND s.consent_at > st.left_at THEN 'kept_newer'"
            "  ELSE 'left_marked' END"
            " WHEN s.status = 'pending' THEN 'confirmed'"
            " WHEN s.status <> 'active' THEN CASE WHEN :resubscribe = 1 THEN 'resubscribed' ELSE 'kept_inactive' END"
            " WHEN st.name IS NOT NULL AND (s.name IS NULL OR st.name <> s.name) OR st.language <> s.language"
            "  OR EXISTS (SELECT 1 FROM import_tags it WHERE it.line = st.line AND NOT EXISTS"
            "   (SELECT 1 FROM subscriber_tags t WHERE t.subscriber_id = s.id AND t.tag = it.tag)) THEN 'updated'"
            " ELSE 'unchanged' END"
            " FROM import_staging st LEFT JOIN subscribers s ON s.email_key = st.key",
            {"resubscribe": int(resubscribe)},
        )
        if db.one("SELECT 1 FROM erased LIMIT 1"):
            self._mark_erased(hash_of)
        return [
            tuple(row)
            for row in db.all(
                "SELECT outcome, status, count(*) FROM import_decided GROUP BY outcome, status ORDER BY outcome, status"
            )
        ]

    def _mark_erased(self, hash_of: Callable[[str], str]) -> None:
        """Rows that would add an address (or confirm a pending sign-up of one) whose keyed hash is among the
        erased: looked up a batch at a time, so that neither the store's hashes nor the file's are all held."""
        db = self.db
        found: list[int] = []  # lines
        batch: dict[str, int] = {}  # keyed hash → line

        def look_up() -> None:
            held = db.all(f"SELECT hash FROM erased WHERE hash {db.dialect.in_ids}", (db.dialect.ids(batch),))
            found.extend(batch[hashed] for (hashed,) in held)
            batch.clear()

        for line, key in db.stream(
            "SELECT d.line, st.key FROM import_decided d JOIN import_staging st"
            " ON st.line = d.line WHERE d.subscriber_id IS NULL OR d.held = 'pending'"
        ):
            batch[hash_of(key)] = line
            if len(batch) >= HASH_BATCH:
                look_up()
        if batch:
            look_up()
        if found:
            db.execute(
                f"UPDATE import_decided SET outcome = 'erased' WHERE line {db.dialect.in_ids}", (db.dialect.ids(found),)
            )

    def apply(self, *, source: str, at: str) -> None:
        """Write the decided rows to the store (the caller's write transaction): new people with their consent
        (the export's, or this import's `source` at `at`), changed names, languages and statuses, missing tags."""
        db, times = self.db, {"source": source, "at": at}
        db.execute(
            "INSERT INTO subscribers (email, email_key, name, language, status, consent_source, consent_at,"
            " created_at, updated_at, nonce) SELECT st.email, st.key, st.name, st.language, st.status,"
            " coalesce(st.consent_source, :source), coalesce(st.consent_at, :at), :at, :at, st.nonce"
            " FROM import_decided d JOIN import_staging st ON st.line = d.line"
            " WHERE d.outcome IN ('added', 'left_added') ORDER BY st.line",
            times,
        )
        # Re-activated (or confirmed) readers take this import as their consent; an update keeps theirs.
        db.execute(
            "UPDATE subscribers SET name = coalesce(st.name, subscribers.name), language = st.language,"
            " status = CASE WHEN d.outcome = 'updated' THEN subscribers.status ELSE 'active' END,"
            " consent_source = CASE WHEN d.outcome = 'updated' THEN subscribers.consent_source"
            "  ELSE :source END,"
            " consent_at = CASE WHEN d.outcome = 'updated' THEN subscribers.consent_at ELSE :at END,"
            " consent_version = CASE WHEN d.outcome = 'updated' THEN subscribers.consent_version END,"
            " updated_at = :at FROM import_decided d JOIN import_staging st ON st.line = d.line"
            " WHERE subscribers.id = d.subscriber_id AND d.outcome IN ('updated', 'resubscribed', 'confirmed')",
            times,
        )
        db.execute(
            "UPDATE subscribers SET status = d.status, updated_at = :at FROM import_decided d"
            " WHERE subscribers.id = d.subscriber_id AND d.outcome = 'left_marked'",
            times,
        )
        db.execute(
            "INSERT INTO subscriber_tags (subscriber_id, tag) SELECT s.id, it.tag FROM import_decided d"
            " JOIN import_staging st ON st.line = d.line JOIN import_tags it ON it.line = d.line"
            f" JOIN subscribers s ON s.email_key = st.key WHERE d.outcome IN {_TAGGED} ON CONFLICT DO NOTHING"
        )
        db.update_statistics("subscribers", "subscriber_tags")
