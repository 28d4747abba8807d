"""Locks a `serve` replica holds for as long as its connection lives, on PostgreSQL: released by the server the
moment the replica's connection ends (a stop, a crash, a lost host), so no stale lock outlives its holder."""

from __future__ import annotations

from .database import Database
from .postgresql import STORE_LOCKS

# pg_try_advisory_lock(STORE_LOCKS, EDITOR_LOCK): the one replica of a store that serves the review pages.
EDITOR_LOCK = 104


def hold(db: Database, number: int) -> bool:
    """Take the lock for the connection's lifetime; False when another connection holds it."""
    return bool(db.value("SELECT pg_try_advisory_lock(?, ?)", (STORE_LOCKS, number)))


def holder(db: Database, number: int) -> str | None:
    """Who holds the lock, as the server knows them: `PostgreSQL process N (from ADDRESS, connected at TIME)`."""
    row = db.one(
        "SELECT a.pid, coalesce(host(a.client_addr), 'this server''s socket'), a.backend_start"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
        " AND l.granted AND l.classid = ? AND l.objid = ? AND l.objsubid = 2",
        (STORE_LOCKS, number),
    )
    if row is None:
        return None
    return f"PostgreSQL process {row[0]} (from {row[1]}, connected at {row[2]:%Y-%m-%d %H:%M:%S %Z})"
