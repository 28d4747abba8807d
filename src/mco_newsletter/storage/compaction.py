"""What deleted rows leave in the store's files, and giving it back.

SQLite overwrites a row as it deletes it (PRAGMA secure_delete), and an erasure then empties the write-ahead log
(Store.checkpoint): nothing of an erased person is left in its files. PostgreSQL keeps a deleted row's bytes in its
table's file (and in its indexes) as a dead row until VACUUM marks the space free, and even then until something is
written over it. So after an erasure the tables that held the person are vacuumed (`vacuum`), and `database compact`
rewrites them whole (`compact`: VACUUM FULL, a fresh file holding the live rows only, the old one removed), at a
quiet hour: it locks each table against every reader and writer while it is copied. On SQLite the same command
rebuilds the file (VACUUM) to give its free pages back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .database import Database
from .dialect import now

# The tables a reader's data is in: an erasure deletes their rows in each (Store.erase, Ledger.forget).
PERSON_TABLES = ("subscribers", "subscriber_tags", "signup_requests", "signup_queue", "mail_log", "deliveries")
# PostgreSQL's own table of the planner's statistics: samples of column values. The columns that hold addresses or
# names are never sampled (migration step 10), but a value sampled before that, or of an import's staging table,
# stays in its file until it is compacted too (which only the database's owner or a superuser may do).
STATISTICS = "pg_statistic"


@dataclass(frozen=True)
class Compacted:
    """One table rewritten: its size (with its indexes) before and after, and how long it was locked."""

    table: str
    bytes_before: int
    bytes_after: int
    seconds: float


@dataclass(frozen=True)
class Compaction:
    """What `database compact` did: the tables, the erasures since the previous compaction (and when that ended),
    and what it could not compact, with the reason."""

    kind: str
    tables: tuple[Compacted, ...]
    erasures: int
    previous: str | None
    skipped: tuple[tuple[str, str], ...] = ()


def vacuum(db: Database, tables: tuple[str, ...] = PERSON_TABLES) -> None:
    """PostgreSQL, after an erasure: VACUUM the tables that held the person, so that their dead rows' index entries
    go and their space is free to be written over (it takes no lock that stops readers or writers). It cannot run
    inside a transaction. On SQLite nothing is needed: the rows were overwritten as they were deleted."""
    if db.kind == "postgresql":
        db.execute(f"VACUUM {', '.join(tables)}")


def compact(db: Database) -> Compaction:
    """Rewrite the tables that held people, so that no deleted row's bytes stay in their files; the store's whole
    file on SQLite. Each table is locked against readers and writers while it is rewritten."""
    previous = db.value("SELECT value FROM meta WHERE key = 'compacted_at'")
    erasures = db.value("SELECT count(*) FROM erased WHERE erased_at > ?", (previous or "",), default=0)
    try:
        if db.kind == "postgresql":
            done, skipped = _compact_postgresql(db)
        else:
            done, skipped = (_compact_sqlite(db),), ()
    except Exception as exc:
        if db.dialect.is_error(exc):  # a table held past the wait (a lock timeout), a full disk, a lost server
            raise db.failed(exc) from None
        raise
    with db.transaction():
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('compacted_at', ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value",
            (now(),),
        )
    return Compaction(db.kind, done, int(erasures), previous, skipped)


def _compact_postgresql(db: Database) -> tuple[tuple[Compacted, ...], tuple[tuple[str, str], ...]]:
    tables, skipped = list(PERSON_TABLES), []
    if db.value(
        "SELECT pg_has_role(current_user, datdba, 'MEMBER') FROM pg_database WHERE datname = current_database()"
    ):
        tables.append(STATISTICS)
    else:
        skipped.append((STATISTICS, "only the database's owner or a superuser may compact it"))
    done = []
    for table in tables:
        before = db.value("SELECT pg_total_relation_size(?::regclass)", (table,))
        start = time.monotonic()
        db.execute(f"VACUUM (FULL) {table}")
        done.append(
            Compacted(
                table,
                before,
                db.value("SELECT pg_total_relation_size(?::regclass)", (table,)),
                time.monotonic() - start,
            )
        )
    return tuple(done), tuple(skipped)


def _compact_sqlite(db: Database) -> Compacted:
    def size() -> int:
        return db.value("PRAGMA page_count") * db.value("PRAGMA page_size")

    before = size()
    start = time.monotonic()
    db.execute("VACUUM")
    # VACUUM wrote the whole file through the write-ahead log: fold it back and empty it.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Compacted("(the whole file)", before, size(), time.monotonic() - start)
