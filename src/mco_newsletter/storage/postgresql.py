"""The PostgreSQL store, through psycopg 3 (the `postgres` extra): connecting with errors a person can act on,
and PostgreSQL's spelling of what differs (storage/dialect.py)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import NewsletterError
from .dialect import BUSY, DAMAGED, DENIED, FULL, LOST, READ_ONLY, UNIQUE, Dialect, Statements
from .location import StoreLocation, redact

if TYPE_CHECKING:  # psycopg is imported when a PostgreSQL store is opened
    import psycopg

INSTALL_HINT = "install the PostgreSQL driver: pip install 'mco-newsletter[postgres]'"
# pg_advisory_xact_lock(STORE_LOCKS, n): the tool's own advisory locks, apart from any other program's.
STORE_LOCKS = 0x6D636F  # "mco"
WRITER_LOCK, MIGRATION_LOCK = 1, 2
# SQLSTATE classes and codes → the failures the tool tells apart.
_FAILURES = {
    "55P03": BUSY,
    "40P01": BUSY,
    "40001": BUSY,
    "53100": FULL,
    "23505": UNIQUE,
    "25006": READ_ONLY,
    "XX001": DAMAGED,
    "XX002": DAMAGED,
    "42501": DENIED,
    "57P01": LOST,
    "57P02": LOST,
    "57P03": LOST,
    # A table or column the tool made is gone: the store was damaged (or changed) by someone else.
    "42P01": DAMAGED,
    "42703": DAMAGED,
}
# What the tool's connections call themselves in pg_stat_activity (NAMEDATALEN - 1 bytes at most, ASCII): set
# by a command that says more than its name (send: the issue), else the running command's name.
_program: list[str | None] = [None]
_NAME_BYTES = 63
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|\?|:[A-Za-z_][A-Za-z0-9_]*|%")
_cursor_names = itertools.count(1)


@lru_cache(maxsize=2048)
def translated(sql: str) -> str:
    """A statement's `?` and `:name` placeholders as psycopg's `%s` and `%(name)s` (a literal % doubled);
    quoted strings, quoted names and `::` casts are left alone."""

    def token(match: re.Match) -> str:
        text = match.group(0)
        if text[0] in "'\"" or text == "::":
            return text.replace("%", "%%") if text[0] == "'" else text
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return f"%({text[1:]})s"

    return _TOKEN.sub(token, sql)


def name_program(name: str) -> None:
    """What this process is, for its connections' application_name (`mco-newsletter send 2024-05`): another
    program waiting for it on any host can name it. Never a reader's address or any other argument's value."""
    _program[0] = name


def program_label() -> str:
    """This process's application_name: what it is, then its host and pid (`mco-newsletter send 2024-05 (laptop,
    pid 4242)`), cut to what PostgreSQL keeps."""
    import os
    import socket

    where = f" ({socket.gethostname()}, pid {os.getpid()})"
    name = (_program[0] or _command()).encode("ascii", "replace").decode("ascii")
    return name[: max(0, _NAME_BYTES - len(where))] + where[:_NAME_BYTES]


def _command() -> str:
    """The command being run (`mco-newsletter subscribers erase`): its name only, never its arguments."""
    import sys

    click = sys.modules.get("click")  # the CLI's; a program using the library names itself with name_program
    context = click.get_current_context(silent=True) if click is not None else None
    if context is None:
        return "mco-newsletter"
    return " ".join(["mco-newsletter", *context.command_path.split()[1:]])


# The sessions a waiting session waits for; else those holding the store's write lock.
_BLOCKERS = (
    "SELECT a.pid, a.application_name, a.usename, a.client_addr::text FROM pg_stat_activity a"
    " WHERE a.pid = ANY(pg_blocking_pids(%s)) ORDER BY a.pid"
)
_WRITERS = (
    "SELECT a.pid, a.application_name, a.usename, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a"
    " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
    " AND l.objsubid = 2 AND l.pid <> %s ORDER BY a.pid"
)


def holders(location: StoreLocation, session: int | None) -> list[str]:
    """The programs holding what the session `session` waits for (pg_blocking_pids), or else the store's write
    lock: the tool's by their application_name (what, host, pid), any other as a PostgreSQL session. Asked on a
    connection of its own (the waiting one is busy waiting); nothing when the server cannot say."""
    import psycopg

    assert location.url is not None, "holders(): a PostgreSQL store has a URL"
    try:
        with psycopg.connect(
            location.url, autocommit=True, connect_timeout=5, application_name=program_label()
        ) as side:
            rows = side.execute(_BLOCKERS, (session or 0,)).fetchall()
            if not rows:
                rows = side.execute(_WRITERS, (STORE_LOCKS, WRITER_LOCK, session or 0)).fetchall()
    except psycopg.Error:
        return []
    return [_session(*row) for row in rows]


def _session(pid: int, application: str | None, user: str | None, address: str | None) -> str:
    if application and application.startswith("mco-newsletter"):
        return application
    words = [f"PostgreSQL session {pid}"]
    if user:
        words.append(f"of {user}")
    if application:
        words.append(f"({application})")
    if address:
        words.append(f"from {address}")
    return " ".join(words)


class PostgresDialect(Dialect):
    """PostgreSQL's spelling of what differs."""

    name = "postgresql"
    in_ids = "= ANY(?)"

    def statement(self, sql: str) -> str:
        return translated(sql)

    def executemany(self, connection: Any, sql: str, rows: Iterable) -> None:
        rows = list(rows)
        if rows:
            with connection.cursor() as cursor:
                cursor.executemany(translated(sql), rows)

    def load(self, connection: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def ids(self, values: Iterable) -> list:
        return list(values)

    def text_rows(self, parameter: str) -> str:
        return f"SELECT unnest(CAST({parameter} AS text[])) AS value"

    def joined(self, expression: str, separator: str) -> str:
        return f"string_agg({expression}, chr({ord(separator)}))"

    def ids_past(self, db: Statements, table: str, value: int) -> None:
        if value >= 1:  # the identity column's sequence; setval(…, n) makes the next id n + 1
            db.execute(
                "SELECT setval(seq, greatest(?, coalesce(pg_sequence_last_value(seq), 0)))"
                " FROM (SELECT pg_get_serial_sequence(?, 'id')::regclass AS seq) AS identity",
                (value, table),
            )

    def update_statistics(self, connection: Any, tables: tuple[str, ...]) -> None:
        # A table filled moments ago has no statistics until autovacuum's next round (up to a minute): the planner
        # takes 24,000 rows for 68 and joins them in a nested loop (8 s for a send's plan, against 10 ms).
        connection.execute(f"ANALYZE {', '.join(tables)}")

    def begin(self, connection: Any, *, store_wide: bool = True) -> None:
        # SQLite lets one writer in at a time, and the tool's read-then-write transactions (an import, a
        # sign-up) rely on it; the same store-wide lock, released at COMMIT or ROLLBACK, keeps that here.
        # A send's own ledger rows need only their row locks: two sends, an import and serve's writes go on side by
        # side (bench/RESULTS.md).
        connection.execute("BEGIN")
        if store_wide:
            connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (STORE_LOCKS, WRITER_LOCK))

    def in_transaction(self, connection: Any) -> bool:
        from psycopg.pq import TransactionStatus

        return connection.info.transaction_status != TransactionStatus.IDLE

    def lost(self, connection: Any) -> bool:
        # A server that ends a connection (a restart, pg_terminate_backend) says so and closes its socket, which
        # psycopg learns only from the next statement, failing it. An idle connection's socket has nothing to
        # read: when it has, libpq reads it (the goodbye, then the end), without waiting and without a round trip.
        import psycopg
        from psycopg.pq import ConnStatus

        from ..idle_sockets import readable

        # Never while another thread's statement is on the connection (psycopg's own lock held): reading its answer
        # off the socket here left that statement waiting forever for an answer already taken, the server idle
        # (serve's health route against its writer). The statement's own thread learns whether the server ended it.
        if connection.closed or connection.broken:
            return True
        if not connection.lock.acquire(blocking=False):
            return False
        try:
            if readable(connection.pgconn.socket):
                connection.pgconn.consume_input()
                connection.pgconn.consume_input()
        except (psycopg.OperationalError, OSError, ValueError):
            return True
        finally:
            connection.lock.release()
        return connection.pgconn.status != ConnStatus.OK

    def wait_at_most(self, connection: Any, seconds: float) -> None:
        connection.execute(f"SET lock_timeout = {int(seconds * 1000)}")

    def stream(self, connection: Any, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple]:
        # A server-side cursor lives in a transaction: a read-only one of its own (one snapshot, as on
        # SQLite) unless the caller is in one already.
        own = not self.in_transaction(connection)
        if own:
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            with connection.cursor(name=f"stream_{next(_cursor_names)}") as cursor:
                cursor.itersize = size
                cursor.execute(translated(sql), params)
                yield from cursor
        finally:
            if own and not connection.closed:
                connection.execute("ROLLBACK")

    def failure(self, exc: BaseException) -> str | None:
        import psycopg

        code = getattr(exc, "sqlstate", None) or ""
        if code in _FAILURES:
            return _FAILURES[code]
        if code.startswith("08") or (isinstance(exc, psycopg.OperationalError) and not code):
            return LOST
        return None

    def is_error(self, exc: BaseException) -> bool:
        import sys

        psycopg = sys.modules.get("psycopg")
        return psycopg is not None and isinstance(exc, psycopg.Error)


def connect_postgresql(
    location: StoreLocation, *, busy_timeout: float, durable_commits: bool = True, read_only: bool = False
) -> psycopg.Connection[Any]:
    """An autocommit connection (transactions are explicit); psycopg's connections are thread-safe."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise NewsletterError(
            f"the subscriber database is PostgreSQL ({location.shown}), but psycopg, the driver "
            "this tool talks to PostgreSQL with, is not installed",
            hint=INSTALL_HINT,
        ) from None
    url = location.url
    assert url is not None, "a PostgreSQL store is named by its URL"
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise NewsletterError(
            f"the database URL {location.shown} cannot be read: {reason_of(exc, url)}",
            hint="write it as postgresql://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass)",
            exit_code=2,
        ) from None
    extra: dict[str, Any] = {
        key: value
        for key, value in (("connect_timeout", 10), ("application_name", program_label()))
        if key not in given
    }
    try:
        connection = psycopg.connect(url, autocommit=True, **extra)
    except psycopg.Error as exc:
        raise connect_error(exc, location, given) from None
    try:
        # A lock (the writer's, a row's) is waited for this long, as SQLite's busy timeout.
        PostgresDialect().wait_at_most(connection, busy_timeout)
        if not durable_commits:
            connection.execute("SET synchronous_commit = off")  # a server crash may lose the last commits only
        if read_only:
            connection.execute("SET default_transaction_read_only = on")
    except psycopg.Error:
        connection.close()
        raise
    return connection


def connect_error(exc: BaseException, location: StoreLocation, given: dict) -> NewsletterError:
    """A failed connection in words: wrong password, unknown user or database, or no server there."""
    reason = reason_of(exc, location.url)
    lowered = reason.lower()
    user = given.get("user") or "(your login name)"
    if "password" in lowered and ("authentication failed" in lowered or "no password" in lowered):
        return NewsletterError(
            f"PostgreSQL at {location.shown} refused the password of user {user}",
            hint="check the password (PGPASSWORD, ~/.pgpass, or the URL's); it is never shown",
        )
    if "does not exist" in lowered:
        return NewsletterError(
            f"cannot open the subscriber database at {location.shown}: {reason}",
            hint="create it first (createdb), or fix the user or database name in the URL",
        )
    if "authentication" in lowered or "pg_hba.conf" in lowered:
        return NewsletterError(
            f"PostgreSQL at {location.shown} does not let user {user} in: {reason}",
            hint="the server's pg_hba.conf decides who may connect from where",
        )
    return NewsletterError(
        f"cannot reach the PostgreSQL server of {location.shown}: {reason}",
        hint="is the server running, and are the host and port in the URL right?",
    )


def reason_of(exc: BaseException, url: str | None) -> str:
    """libpq's own reason, its last line of substance, without anything that could be the password."""
    text = str(exc).replace("\t", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    reason = reason.split(" failed: ")[-1] if " failed: " in reason else reason
    reason = reason.removeprefix("FATAL:").strip()
    if url:
        from .location import password_of

        secret = password_of(url)
        if secret:
            reason = reason.replace(secret, "***")
        reason = reason.replace(url, redact(url))
    return reason
