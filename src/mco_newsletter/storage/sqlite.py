"""The SQLite store: one file in WAL mode, owner-only, opened with the settings every connection needs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import NewsletterError
from .dialect import BUSY, DAMAGED, FULL, READ_ONLY, UNIQUE, Dialect, Statements


class SQLiteDialect(Dialect):
    """SQLite's spelling of what differs (storage/dialect.py)."""

    name = "sqlite"
    in_ids = "IN (SELECT value FROM json_each(?))"

    def executemany(self, connection: Any, sql: str, rows: Iterable) -> None:
        connection.executemany(sql, rows)

    def load(self, connection: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
        )

    def ids(self, values: Iterable) -> str:
        return json.dumps(list(values))

    def text_rows(self, parameter: str) -> str:
        return f"SELECT value FROM json_each({parameter})"

    def joined(self, expression: str, separator: str) -> str:
        return f"group_concat({expression}, char({ord(separator)}))"

    def ids_past(self, db: Statements, table: str, value: int) -> None:
        # AUTOINCREMENT's counter; a table that never had a row has no line in sqlite_sequence yet.
        db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?", (value, table, value))
        if db.one("SELECT 1 FROM sqlite_sequence WHERE name = ?", (table,)) is None:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, value))

    def begin(self, connection: Any, *, store_wide: bool = True) -> None:
        # One writer at a time, whatever it writes: the write lock now, or SQLITE_BUSY now, never half-way.
        connection.execute("BEGIN IMMEDIATE")

    def in_transaction(self, connection: Any) -> bool:
        return connection.in_transaction

    def wait_at_most(self, connection: Any, seconds: float) -> None:
        connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def stream(self, connection: Any, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple]:
        cursor = connection.execute(sql, params)
        cursor.arraysize = size
        while batch := cursor.fetchmany():
            yield from batch

    def failure(self, exc: BaseException) -> str | None:
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return BUSY
        if name.startswith("SQLITE_FULL") or "full" in text:
            return FULL
        if name.startswith("SQLITE_CONSTRAINT_UNIQUE") or name.startswith("SQLITE_CONSTRAINT_PRIMARYKEY"):
            return UNIQUE
        if name.startswith("SQLITE_READONLY") or "readonly" in text:
            return READ_ONLY
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return DAMAGED
        return None

    def is_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)


def prepare_private_file(path: Path) -> None:
    """Create the database's missing folders (0700) and the file (0600); make existing files owner-only.

    SQLite gives its -wal and -shm files the database's mode; ones left wider by someone are tightened too.
    """
    from ..files import make_private_file, tighten

    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise NewsletterError(
            f"{path} is {kind}, not a database file",
            hint="set [database] path (or MCO_NEWSLETTER_DB) to a file, e.g. private/subscribers.sqlite3",
        )
    make_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        sibling = path.with_name(path.name + suffix)
        if sibling.is_file():
            tighten(sibling)


def connect_sqlite(
    path: Path, *, busy_timeout: float, durable_commits: bool = True, read_only: bool = False
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), shareable between threads (the callers
    serialize their use). The file is prepared first, unless read_only (a file open_store has prepared)."""
    if read_only:
        from urllib.parse import quote

        return sqlite3.connect(
            f"file:{quote(str(path))}?mode=ro",
            uri=True,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
    try:
        prepare_private_file(path)
    except OSError as exc:
        raise NewsletterError(
            f"{path}: cannot create the subscriber database: {exc.strerror or exc}",
            hint="check that its folder exists, is writable and has free space",
        ) from None
    return sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)


def configure(connection: sqlite3.Connection, *, busy_timeout: float, durable_commits: bool) -> None:
    """The settings of a writing connection (run while the caller tells the person about any wait)."""
    SQLiteDialect().wait_at_most(connection, busy_timeout)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {'FULL' if durable_commits else 'NORMAL'}")
    # Deleted rows are overwritten, not left in free pages: erasure means erasure.
    connection.execute("PRAGMA secure_delete = ON")


def holders(path: Path) -> list[str]:
    """The other processes that have the database file (or its WAL) open (storage/waits.py)."""
    from .waits import holders as open_by

    return open_by(path)
