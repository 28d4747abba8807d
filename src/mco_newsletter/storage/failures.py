"""A failing store in words a person can act on: locked (and by whom), full, read-only, damaged, unreachable.

Each is a DatabaseError whose `cause` says it without a path, a URL or a holder's command line (which may
name an address): a server logs that, and tells a client.

SQLite's own words ("unable to open database file", "disk I/O error") do not say which, so the database's
folder is looked at too when its path is known; PostgreSQL's SQLSTATE codes say it (storage/postgresql.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DatabaseError
from .dialect import BUSY, DAMAGED, DENIED, FULL, LOST, READ_ONLY
from .location import StoreLocation


def sqlite_failure(exc: BaseException, path: Path | None = None, holders: list[str] | None = None) -> DatabaseError:
    """The sentence for an SQLite error: locked (and by whom), read-only, full, damaged, or not a database."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = f" {path}" if path else ""
    folder = path.parent if path else None
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return locked(holders)
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR")) and path and folder and folder.is_dir():
        try:
            disk = os.statvfs(folder)
        except OSError:
            disk = None
        if disk is not None and disk.f_flag & os.ST_RDONLY:
            return DatabaseError(
                f"the subscriber database{where} is on a read-only file system",
                "mount that disk read-write, or set [database] path to a writable place",
                cause="the subscriber database is on a read-only file system",
            )
        room = disk.f_bavail * disk.f_frsize if disk is not None else None
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return DatabaseError(
                f"the subscriber database{where} (or its folder) is not writable by you",
                "check the owner and permissions of the file and its folder",
                cause="the subscriber database (or its folder) is not writable",
            )
        if room is not None and room < 256 * 1024:
            name = "SQLITE_FULL"
    if name.startswith("SQLITE_FULL") or "full" in text:
        return DatabaseError(
            f"the disk holding the subscriber database{where} is full",
            "free some disk space, then run the command again (the unfinished change was "
            "rolled back: nothing half-written was kept)",
            cause="the disk holding the subscriber database is full",
        )
    if name.startswith("SQLITE_NOTADB"):
        return DatabaseError(
            f"{path or 'the database'}: cannot open the subscriber database: {text}",
            "is it an SQLite file? set [database] path or MCO_NEWSLETTER_DB",
            cause=f"the subscriber database cannot be opened: {text}",
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return DatabaseError(
            f"the subscriber database{where} is read-only: {text}",
            "check the owner and permissions of the file and its folder",
            cause=f"the subscriber database is read-only: {text}",
        )
    return DatabaseError(
        f"the subscriber database{where} is damaged or unreadable: {text}",
        "restore it from a backup (and keep the damaged file for inspection)",
        cause=f"the subscriber database is damaged or unreadable: {text}",
    )


def postgres_failure(
    exc: BaseException, location: StoreLocation | None = None, holders: list[str] | None = None
) -> DatabaseError:
    """The sentence for an error PostgreSQL (or the connection to it) gave."""
    from .postgresql import PostgresDialect, reason_of

    url = location.url if location else None
    where = f" at {location.shown}" if location else ""
    reason = reason_of(exc, url)
    kind = PostgresDialect().failure(exc)
    if kind == BUSY:
        return locked(holders)
    if kind == FULL:
        return DatabaseError(
            f"the disk of the PostgreSQL server holding the subscriber database{where} is full",
            "free space on the database server, then run the command again (the unfinished change was rolled back)",
            cause="the disk of the database server is full",
        )
    if kind == LOST:
        return DatabaseError(
            f"the connection to the subscriber database{where} failed: {reason}",
            "check that the PostgreSQL server runs and can be reached, then run the command again",
            cause="the connection to the database server failed",
        )
    if kind == READ_ONLY:
        return DatabaseError(
            f"the subscriber database{where} takes no writes (a standby server?): {reason}",
            "point the URL at the primary server",
            cause="the subscriber database takes no writes",
        )
    if kind == DENIED:
        return DatabaseError(
            f"the subscriber database{where} refused: {reason}",
            "the URL's user needs the rights to create and change the tool's tables",
            cause="the database server refused the tool's user",
        )
    if kind == DAMAGED:
        return DatabaseError(
            f"the subscriber database{where} is damaged or unreadable: {reason}",
            "restore it from a backup",
            cause=f"the subscriber database is damaged or unreadable: {reason}",
        )
    return DatabaseError(
        f"the subscriber database{where} failed: {reason}",
        "--debug shows where it happened",
        cause=f"the subscriber database failed ({getattr(exc, 'sqlstate', None) or type(exc).__name__})",
    )


def locked(holders: list[str] | None) -> DatabaseError:
    held = f": in use by {', '.join(holders)}" if holders else " by another program"
    return DatabaseError(
        f"the subscriber database is locked{held}",
        "wait until it ends, then run the command again",
        cause="the subscriber database is locked by another program",
    )


def failure_of(
    exc: BaseException, location: StoreLocation | None = None, holders: list[str] | None = None
) -> DatabaseError | None:
    """The sentence for any store's error, or None when the exception is no database driver's."""
    import sqlite3
    import sys

    if isinstance(exc, sqlite3.Error):
        return sqlite_failure(exc, location.path if location else None, holders)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        return postgres_failure(exc, location, holders)
    return None


def driver_errors(location: StoreLocation) -> tuple[type[Exception], ...]:
    """The base classes of the errors the store's driver raises."""
    if location.kind == "postgresql":
        import psycopg

        return (psycopg.Error,)
    import sqlite3

    return (sqlite3.Error,)
