"""Running the schema's steps (migrations.py) on a store: the ones it lacks, all in one transaction, safe when
two processes open a new store at once.

SQLite keeps the version in PRAGMA user_version and lets one writer in at a time (BEGIN IMMEDIATE);
PostgreSQL keeps it in the table schema_version and serializes migrations with an advisory lock.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import NewsletterError
from .migrations import MIGRATIONS, Step


class Opened(Protocol):
    """The store being opened (storage.database.Database), as migrating it needs it."""

    @property
    def kind(self) -> str: ...

    @property
    def connection(self) -> Any: ...

    def rollback(self) -> None: ...


def newest() -> int:
    """The schema version this tool knows."""
    return len(MIGRATIONS)


def statements(step: str | Step, dialect: str) -> list[str]:
    """A step's statements for one store (a plain text step reads the same on both), split at each `;` that is not
    within a $$-quoted body (a PostgreSQL function's)."""
    text = step if isinstance(step, str) else step.text(dialect)
    found: list[str] = []
    current: list[str] = []
    for number, part in enumerate(text.split("$$")):
        pieces = part.split(";") if number % 2 == 0 else [part]
        for index, piece in enumerate(pieces):
            if index:
                found.append("".join(current))
                current = []
            current.append(piece if number % 2 == 0 else f"$${piece}$$")
    found.append("".join(current))
    return [statement for statement in found if statement.strip()]


def migrate(database: Opened) -> None:
    """Bring the store to the newest schema (it must not be newer than this tool knows)."""
    if database.kind == "postgresql":
        _migrate_postgresql(database)
    else:
        _migrate_sqlite(database.connection)


def version_of(database: Opened) -> int:
    """The store's schema version (0: a new, empty store)."""
    if database.kind == "sqlite":
        return database.connection.execute("PRAGMA user_version").fetchone()[0]
    import psycopg

    try:
        row = database.connection.execute("SELECT version FROM schema_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row else 0


def _too_new(version: int) -> NewsletterError:
    return NewsletterError(
        f"the subscriber database has schema version {version}, newer than this tool knows",
        hint="upgrade mco-newsletter",
    )


def _migrate_sqlite(connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > newest():
        raise _too_new(version)
    if version == newest():
        connection.execute("PRAGMA foreign_keys = ON")
        return
    # Rebuilding a table drops the old one: with foreign keys on, that would delete every row that
    # refers to it (subscriber tags). They are off during migrations (the pragma cannot change inside
    # a transaction) and checked before the commit.
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements(step, "sqlite"):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        broken = connection.execute("PRAGMA foreign_key_check").fetchone()
        if broken:
            raise NewsletterError(
                f"migrating the subscriber database broke a reference in {broken[0]}",
                hint="nothing was changed; please report this",
            )
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    connection.execute("PRAGMA foreign_keys = ON")


def _migrate_postgresql(database) -> None:
    from .dialect import now as now_text
    from .postgresql import MIGRATION_LOCK, STORE_LOCKS

    version = version_of(database)
    if version > newest():
        raise _too_new(version)
    if version == newest():
        return
    connection = database.connection
    connection.execute("BEGIN")
    try:
        # Two processes opening a new store at once: the second waits here, then finds it migrated.
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (STORE_LOCKS, MIGRATION_LOCK))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, migrated_at TEXT NOT NULL)"
        )
        row = connection.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else 0
        if version > newest():
            raise _too_new(version)
        for step in MIGRATIONS[version:]:
            for statement in statements(step, "postgresql"):
                connection.execute(statement)
        if version < newest():
            connection.execute("DELETE FROM schema_version")
            connection.execute(
                "INSERT INTO schema_version (version, migrated_at) VALUES (%s, %s)", (newest(), now_text())
            )
    except BaseException:
        database.rollback()
        raise
    connection.execute("COMMIT")
