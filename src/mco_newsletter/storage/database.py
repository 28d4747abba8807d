"""One connection to the subscriber store, SQLite or PostgreSQL, with its dialect: the one way the tool's
statements reach a database (the store, the ledger and the query modules of this package use it).

Statements use `?` (or `:name`) placeholders; the dialect turns them into the driver's. Transactions are
explicit (`with db.transaction():`) and take the store's write lock at once; everything else autocommits.

A PostgreSQL connection the server ended (a restart, a failover, an administrator's pg_terminate_backend) fails
the statement or transaction it was in, and is opened again before the next one begins: a long-running `serve`
outlives its database server's restarts. Never within a transaction: what it did so far is gone with it.
On a read-only connection a statement the server refused for that reason (its goodbye was not there yet when the
connection was checked) is made once more on the new connection: a read may be repeated, a write never.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import NewsletterError
from .dialect import LOST, UNIQUE, Dialect
from .location import StoreLocation
from .waits import waiting

# Writers wait this long for one another (transactions are short; a large import takes seconds).
# After WAIT_NOTICE_S (waits.py) the person is told who holds the database.
BUSY_TIMEOUT_S = 30


class Database:
    """A connection and its dialect. Not for concurrent use: callers that share one serialize their calls."""

    def __init__(
        self,
        connection: Any,
        dialect: Dialect,
        location: StoreLocation,
        on_wait: Callable[[list[str]], None] | None = None,
        reopen: Callable[[], Any] | None = None,
        read_only: bool = False,
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self.location = location
        self.on_wait = on_wait
        self.reopen = reopen  # a new connection as this one was made (None: never reopened)
        self.read_only = read_only  # every statement a read: one refused because the connection was lost is repeated
        self.waits: float | None = None  # the last wait_at_most, made again on a reopened connection
        self.within = 0  # transactions of ours open on this connection
        # The server process of a PostgreSQL connection (read now: while a statement waits, the connection is busy).
        self.session = connection.info.backend_pid if connection is not None and dialect.name == "postgresql" else None

    def _ready(self) -> None:
        """Open the connection again if the server ended it, unless a transaction of ours was using it."""
        if self.reopen is not None and self.within == 0 and self.dialect.lost(self.connection):
            self._reconnect()

    def _reconnect(self) -> None:
        assert self.reopen is not None
        try:
            self.connection.close()
        except Exception as exc:  # noqa: BLE001 — a lost connection may refuse even to close
            if not self.dialect.is_error(exc):
                raise
        self.connection = self.reopen()
        self.session = self.connection.info.backend_pid if self.dialect.name == "postgresql" else None
        if self.waits is not None:
            self.dialect.wait_at_most(self.connection, self.waits)

    def alive(self) -> bool:
        """Whether the connection is usable as it is (a lost one is opened again by the next statement)."""
        return not self.dialect.lost(self.connection)

    @property
    def kind(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.dialect.name

    def execute(self, sql: str, params: Any = ()) -> Any:
        """Run one statement; the driver's cursor (fetchone, fetchall, rowcount, iteration)."""
        self._ready()
        try:
            return self.connection.execute(self.dialect.statement(sql), params)
        except Exception as exc:
            if not (
                self.read_only
                and self.reopen is not None
                and self.within == 0
                and self.dialect.is_error(exc)
                and self.dialect.failure(exc) == LOST
            ):
                raise
            try:
                self._reconnect()
            except Exception:  # noqa: BLE001 — the server is gone, not just the connection: the statement's own error
                raise exc from None
        return self.connection.execute(self.dialect.statement(sql), params)

    def write(self, sql: str, params: Any = ()) -> Any:
        """One changing statement committed on its own (outside a transaction): atomic, one round trip, and on
        PostgreSQL without the store's write lock (the locks of the rows it changes only), so it is for rows no other
        program writes meanwhile, as Database.transaction(store_wide=False) is; a failing disk or server is an error
        that says which, as in a transaction."""
        try:
            return self.execute(sql, params)
        except Exception as exc:
            if self.dialect.is_error(exc) and self.dialect.failure(exc) not in (None, UNIQUE):
                raise self.failed(exc) from exc
            raise

    def executemany(self, sql: str, rows: Iterable) -> None:
        """Run one statement for each row of parameters."""
        self._ready()
        self.dialect.executemany(self.connection, sql, rows)

    def load(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Add many rows to a table at once (PostgreSQL's COPY, SQLite's prepared insert)."""
        if rows:
            self.dialect.load(self.connection, table, columns, rows)

    def one(self, sql: str, params: Any = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Any = ()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def value(self, sql: str, params: Any = (), default: Any = None) -> Any:
        """The first column of the first row, or `default` when there is no row."""
        row = self.one(sql, params)
        return row[0] if row is not None else default

    def stream(self, sql: str, params: Any = (), size: int = 1000) -> Iterator[tuple]:
        """The rows of a query, `size` at a time (a server-side cursor on PostgreSQL): memory stays flat."""
        self._ready()
        return self.dialect.stream(self.connection, sql, params, size)

    def update_statistics(self, *tables: str) -> None:
        """After a bulk write to these tables (a campaign's rows, an import): the planner's statistics brought up to
        date where the store keeps them (PostgreSQL's ANALYZE; SQLite plans well without)."""
        self.dialect.update_statistics(self.connection, tables)

    def wait_at_most(self, seconds: float) -> None:
        """From now on, wait at most `seconds` for a lock another connection holds (then report the store locked)."""
        self._ready()
        self.waits = seconds
        self.dialect.wait_at_most(self.connection, seconds)

    @property
    def in_transaction(self) -> bool:
        return self.dialect.in_transaction(self.connection)

    @contextmanager
    def transaction(self, *, store_wide: bool = True) -> Iterator[Database]:
        """A write transaction holding the store's write lock from its start (SQLite's BEGIN IMMEDIATE; the
        same lock as an advisory lock on PostgreSQL), so it never fails half-way on a lock.

        `store_wide=False` is for a transaction that writes only rows no other program writes meanwhile (the ledger
        rows of a campaign whose claim this process holds) and reads nothing it then relies on: on PostgreSQL it
        takes only those rows' locks, so it neither waits for nor holds up the store's other writers.

        A failing disk or server (full, read-only, unreachable) rolls it back and becomes an error that says which.
        """
        self._ready()
        try:
            with waiting(self.holders, self.on_wait):
                self.dialect.begin(self.connection, store_wide=store_wide)
        except Exception as exc:
            self.rollback()
            if self.dialect.is_error(exc):
                raise self.failed(exc) from exc
            raise
        self.within += 1
        try:
            yield self
            self.connection.execute("COMMIT")
        except BaseException as exc:
            self.rollback()
            if self.dialect.is_error(exc) and self.dialect.failure(exc) not in (None, UNIQUE):
                raise self.failed(exc) from exc
            raise
        finally:
            self.within -= 1

    @contextmanager
    def scratch(self) -> Iterator[Database]:
        """A transaction on this connection's own temporary tables only: it takes no write lock of the store (a
        deferred BEGIN on SQLite, a plain one on PostgreSQL), so it never waits for, nor holds up, a writer."""
        self.connection.execute("BEGIN")
        try:
            yield self
            self.connection.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise

    @contextmanager
    def savepoint(self, name: str = "work") -> Iterator[None]:
        """A part of the transaction that an exception undoes alone (the exception still propagates)."""
        self.connection.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.in_transaction:  # SQLite rolls the whole transaction back itself after some errors (a full disk)
                self.connection.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.connection.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.connection.execute(f"RELEASE SAVEPOINT {name}")

    def rollback(self) -> None:
        """End an open transaction without its changes (SQLite has ended one by itself after some errors)."""
        try:
            if self.in_transaction:
                self.connection.execute("ROLLBACK")
        except Exception as exc:  # noqa: BLE001 — a lost connection has no transaction left to end
            if not self.dialect.is_error(exc):
                raise

    def holders(self) -> list[str]:
        """The other programs that hold the store, when they can be known: those that have the SQLite file open, as
        `pid N (command)`; on PostgreSQL those holding what this connection waits for (else the write lock), as their
        application_name says (`mco-newsletter send 2024-05 (host, pid N)`)."""
        if self.location.path is not None:
            from .waits import holders as file_holders

            return file_holders(self.location.path)
        from .postgresql import holders as server_holders

        return server_holders(self.location, self.session)

    def failed(self, exc: BaseException) -> NewsletterError:
        """The error a person reads for this driver error (who holds the store, when it is locked)."""
        from .dialect import BUSY
        from .failures import failure_of

        busy = self.dialect.failure(exc) == BUSY
        return failure_of(exc, self.location, self.holders() if busy else None) or NewsletterError(str(exc))

    def close(self) -> None:
        self.connection.close()


def open_database(
    location: StoreLocation,
    *,
    busy_timeout: float = BUSY_TIMEOUT_S,
    on_wait: Callable[[list[str]], None] | None = None,
    durable_commits: bool = True,
    read_only: bool = False,
    migrate: bool = True,
) -> Database:
    """Open the store at `location`, creating and migrating it as needed (not when read_only).

    Another writer is waited for up to busy_timeout seconds; on_wait(holders) is called once when the wait
    passes WAIT_NOTICE_S. Every commit is durable unless durable_commits is False (then a power cut or a server
    crash may lose the last commits, never corrupt the store; a killed process loses nothing either way).
    """
    from . import migrate as migrations

    connection: Any  # psycopg's or sqlite3's
    if location.url:
        from .postgresql import PostgresDialect, connect_postgresql

        def connect():
            return connect_postgresql(
                location, busy_timeout=busy_timeout, durable_commits=durable_commits, read_only=read_only
            )

        database = Database(connect(), PostgresDialect(), location, on_wait, reopen=connect, read_only=read_only)
    else:
        from .sqlite import SQLiteDialect, configure, connect_sqlite

        dialect = SQLiteDialect()
        assert location.path is not None, "a store without a URL is an SQLite file"
        try:
            connection = connect_sqlite(location.path, busy_timeout=busy_timeout, read_only=read_only)
        except Exception as exc:
            if dialect.is_error(exc):
                raise Database(None, dialect, location).failed(exc) from None
            raise
        database = Database(connection, dialect, location, on_wait)
    try:
        with waiting(database.holders, on_wait):
            if database.kind == "sqlite" and not read_only:
                configure(connection, busy_timeout=busy_timeout, durable_commits=durable_commits)
            if migrate and not read_only:
                migrations.migrate(database)
    except BaseException as exc:
        database.close()
        if database.dialect.is_error(exc):
            raise database.failed(exc) from None
        raise
    return database
