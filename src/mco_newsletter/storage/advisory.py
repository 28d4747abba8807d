"""Locks every host of a PostgreSQL store sees: advisory locks held by a connection of their own, the database's
equivalent of the flock files in private/locks (delivery/locks.py), and the send claims' table that names their
holders.

The server releases a session's advisory locks the moment its connection closes: a killed process's socket
closes at once (measured: bench/RESULTS.md); a host that vanishes (power cut, network gone) is noticed by the
TCP keepalives this session asks the server for, within KEEPALIVE_S. A lock is waited for on this session alone,
so the store's own connection is never held up by it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .database import Database, open_database
from .dialect import now
from .location import StoreLocation
from .postgresql import STORE_LOCKS

# pg_advisory_lock(SEND_CLAIMS, n) claims the issue whose id hashes to n (a class of the tool's own, apart from
# STORE_LOCKS and from any other program's locks). Two ids with one hash would only wait for each other.
SEND_CLAIMS = 0x6D6373  # "mcs"
# (STORE_LOCKS, n): in front of the window, the gate an erasure closes; the transmission window itself.
GATE, WINDOW = 3, 4
# The server probes an idle connection after 10 s, then every 5 s; three unanswered probes end it.
KEEPALIVE = (10, 5, 3)
KEEPALIVE_S = KEEPALIVE[0] + KEEPALIVE[1] * KEEPALIVE[2]


def claim_key(issue_id: str) -> tuple[int, int]:
    """The advisory lock that claims an issue for one sender."""
    return SEND_CLAIMS, zlib.crc32(issue_id.encode("utf-8")) & 0x7FFFFFFF


def store_key(number: int) -> tuple[int, int]:
    return STORE_LOCKS, number


@dataclass(frozen=True)
class ClaimHolder:
    """Who holds an issue's send claim, as the holder recorded it."""

    issue_id: str
    segment: str
    host: str
    pid: int
    started_at: str


class Session:
    """A connection of its own to a PostgreSQL store, holding advisory locks until they are unlocked or it closes.
    Not for concurrent use: its one owner (a send's claim and window, an erasure's pause) serializes its calls."""

    def __init__(self, database: Database):
        self.db = database

    @classmethod
    def open(cls, location: StoreLocation) -> Session:
        database = open_database(location, migrate=False)
        try:
            idle, interval, count = KEEPALIVE
            # A lock is waited for as long as it takes unless a timeout is given (flock's way); ignored on a
            # Unix socket, the keepalives let the server end a vanished host's session, and free its locks.
            database.execute("SET lock_timeout = 0")
            database.execute(f"SET tcp_keepalives_idle = {idle}")
            database.execute(f"SET tcp_keepalives_interval = {interval}")
            database.execute(f"SET tcp_keepalives_count = {count}")
        except BaseException:
            database.close()
            raise
        return cls(database)

    @property
    def pid(self) -> int:
        """The server process of this session (pg_locks and pg_stat_activity name sessions by it)."""
        return self.db.connection.info.backend_pid

    def try_lock(self, key: tuple[int, int], *, shared: bool = False) -> bool:
        """Take the lock if it is free now; whether it was taken."""
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        return bool(self.db.value(f"SELECT {function}(?, ?)", key))

    def lock(self, key: tuple[int, int], *, shared: bool = False, timeout: float | None = None) -> bool:
        """Wait for the lock (at most `timeout` seconds when given); whether it was taken."""
        from .dialect import BUSY

        function = "pg_advisory_lock_shared" if shared else "pg_advisory_lock"
        if timeout is None:
            self.db.execute(f"SELECT {function}(?, ?)", key)
            return True
        self.db.execute(f"SET lock_timeout = {max(1, int(timeout * 1000))}")
        try:
            self.db.execute(f"SELECT {function}(?, ?)", key)
        except Exception as exc:
            if self.db.dialect.is_error(exc) and self.db.dialect.failure(exc) == BUSY:
                return False
            raise
        finally:
            self.db.execute("SET lock_timeout = 0")
        return True

    def unlock(self, key: tuple[int, int], *, shared: bool = False) -> None:
        function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
        self.db.execute(f"SELECT {function}(?, ?)", key)

    def record_claim(self, *, issue_id: str, segment: str, host: str, pid: int) -> None:
        """Say who holds the issue's claim (this session, which must hold its lock)."""
        self.db.execute(
            "INSERT INTO send_claims (issue_id, segment, host, pid, started_at, session)"
            " VALUES (?, ?, ?, ?, ?, pg_backend_pid()) ON CONFLICT (issue_id) DO UPDATE SET segment = excluded.segment,"
            " host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, session = excluded.session",
            (issue_id, segment, host, pid, now()),
        )

    def forget_claim(self, issue_id: str) -> None:
        self.db.execute("DELETE FROM send_claims WHERE issue_id = ? AND session = pg_backend_pid()", (issue_id,))

    def claim_holder(self, issue_id: str) -> ClaimHolder | None:
        """Who holds the issue's claim now: the row of the session that holds its lock (a dead sender's row, whose
        session is gone, names no one), or None while the holder has not said so yet."""
        row = self.db.one(
            "SELECT c.issue_id, c.segment, c.host, c.pid, c.started_at FROM send_claims c JOIN pg_locks l"
            " ON l.pid = c.session AND l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ?"
            " AND l.objsubid = 2 WHERE c.issue_id = ?",
            (*claim_key(issue_id), issue_id),
        )
        return ClaimHolder(*row) if row else None

    def close(self) -> None:
        self.db.close()  # the server releases every lock the session holds
