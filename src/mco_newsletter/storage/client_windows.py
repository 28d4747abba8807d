"""PostgreSQL's tables of the hour, in which `serve` replicas count what clients do (sign-ups, bad review links)
together, without any client's address ever reaching the database's files, WAL or backups for longer than the
limit needs it.

Each hour has a table of its own, `client_window_<hour since 1970>`, UNLOGGED (never written to the WAL, so never
in a base backup, an archived WAL segment or a standby; emptied by a crash). Its first row holds the hour's key,
32 random bytes made by the first replica that needs it (name ''); the other rows hold counts under a client's
keyed hash (web/shared_counts.py makes it: the address never arrives here). When the hour after it is over,
the table is dropped: its file is deleted with the key, and the hashes in it cannot be tested against any
address again. (Deleting the rows instead would leave them in the table's file until a vacuum.)
"""

from __future__ import annotations

import re
import secrets

from .database import Database
from .postgresql import STORE_LOCKS

PREFIX = "client_window_"
KEY_BYTES = 32
# pg_advisory_xact_lock(STORE_LOCKS, CLIENT_WINDOW_LOCK): one replica at a time creates an hour's table and key.
CLIENT_WINDOW_LOCK = 101
UNDEFINED_TABLE = "42P01"
_TABLE = re.compile(rf"{PREFIX}([0-9]{{1,12}})")


def table_of(hour: int) -> str:
    """The name of an hour's table (the hour an integer: never text from outside)."""
    return f"{PREFIX}{int(hour)}"


def _missing_table(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == UNDEFINED_TABLE


class ClientWindows:
    """The tables of the hour on one connection (autocommit: each count is its own statement, no store-wide
    lock); callers serialize their calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def key(self, hour: int, *, make: bool = True) -> bytes | None:
        """The hour's key, its table made (with a new random key) if no replica made it yet (make=False: None)."""
        try:
            found = self.db.value(f"SELECT client FROM {table_of(hour)} WHERE name = ''")
        except Exception as exc:
            if not _missing_table(exc):
                raise
            found = None
        if found is not None or not make:
            return None if found is None else bytes(found)
        with self.db.transaction():  # once an hour per store; its own lock too, whatever the writer lock covers
            self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", (STORE_LOCKS, CLIENT_WINDOW_LOCK))
            self.db.execute(
                f"CREATE UNLOGGED TABLE IF NOT EXISTS {table_of(hour)} (name TEXT NOT NULL, client BYTEA"
                " NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (name, client))"
            )
            self.db.execute(
                f"INSERT INTO {table_of(hour)} (name, client, count) SELECT '', ?, 0"
                f" WHERE NOT EXISTS (SELECT 1 FROM {table_of(hour)} WHERE name = '')",
                (secrets.token_bytes(KEY_BYTES),),
            )
            return bytes(self.db.value(f"SELECT client FROM {table_of(hour)} WHERE name = ''"))

    def add(self, hour: int, name: str, client: bytes, *, below: float | None = None) -> int | None:
        """Count one more for the client under `name` in the hour's table; the count now. With `below`, only while
        the count is below it (None, and nothing counted, once it is not)."""
        if below is not None and below <= 0:
            return None
        guard = "" if below is None else " WHERE counts.count < :below"
        statement = (
            f"INSERT INTO {table_of(hour)} AS counts (name, client, count) VALUES (:name, :client, 1)"
            f" ON CONFLICT (name, client) DO UPDATE SET count = counts.count + 1{guard} RETURNING count"
        )
        params = {"name": name, "client": client, "below": below}
        try:
            return self.db.value(statement, params)
        except Exception as exc:
            if not _missing_table(exc):
                raise
        self.key(hour)  # dropped under us by a replica whose clock is ahead: made again
        return self.db.value(statement, params)

    def count(self, hour: int, name: str, client: bytes) -> int:
        """The client's count under `name` in the hour's table (0 when there is none, or no table)."""
        try:
            return self.db.value(
                f"SELECT count FROM {table_of(hour)} WHERE name = ? AND client = ?", (name, client), default=0
            )
        except Exception as exc:
            if not _missing_table(exc):
                raise
            return 0

    def hours(self) -> list[int]:
        """The hours whose tables exist, oldest first."""
        names = self.db.all(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename LIKE 'client\\_window\\_%'"
        )
        return sorted(int(match.group(1)) for (name,) in names if (match := _TABLE.fullmatch(name)))

    def drop_before(self, hour: int) -> int:
        """Drop the tables of the hours before `hour` (their keys with them); how many."""
        old = [number for number in self.hours() if number < hour]
        for number in old:
            self.db.execute(f"DROP TABLE IF EXISTS {table_of(number)}")
        return len(old)
