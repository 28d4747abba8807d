"""What differs between SQLite and PostgreSQL for statements written once: placeholders, lists of ids,
joined text, streaming reads, transactions taken at once, and which failure an error is.

Statements are written for both: `?` and `:name` placeholders, `ON CONFLICT … DO NOTHING/UPDATE`,
`RETURNING id`, `CASE … THEN 1 ELSE 0 END` for flags kept as integers. A statement that needs one of
the differences takes it from the dialect (`db.dialect.in_ids`, `db.dialect.joined(…)`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

# The kinds of failure the rest of the tool tells apart (Dialect.failure).
BUSY, FULL, UNIQUE, LOST, READ_ONLY, DAMAGED, DENIED = (
    "busy",
    "full",
    "unique",
    "lost",
    "read-only",
    "damaged",
    "denied",
)


class Statements(Protocol):
    """What a dialect runs its own statements through (storage.database.Database)."""

    def execute(self, sql: str, params: Any = ()) -> Any: ...

    def one(self, sql: str, params: Any = ()) -> tuple | None: ...


class Dialect:
    """One store's way of saying what differs; subclasses in storage/sqlite.py and storage/postgresql.py."""

    name = ""
    # `column {in_ids}` with ids(values) as its one parameter: is the column's value one of the list?
    in_ids = ""

    def statement(self, sql: str) -> str:
        """The statement as the driver takes it."""
        return sql

    def executemany(self, connection: Any, sql: str, rows: Iterable) -> None:
        """Run one statement for each row of parameters."""
        raise NotImplementedError

    def load(self, connection: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Add many rows to a table at once."""
        raise NotImplementedError

    def ids(self, values: Iterable) -> Any:
        """A list of values as the one parameter of `in_ids`."""
        raise NotImplementedError

    def text_rows(self, parameter: str) -> str:
        """A query of one text column, `value`, with a row for each text of a list given as `parameter` (a
        placeholder such as `:ids`, its value `ids(texts)`): what an INSERT … SELECT takes a list from."""
        raise NotImplementedError

    def joined(self, expression: str, separator: str) -> str:
        """An aggregate joining the expression's text values with a one-character separator (order unspecified)."""
        raise NotImplementedError

    def ids_past(self, db: Statements, table: str, value: int) -> None:
        """Make the table's next new id greater than `value` (never lower it): ids are never given twice."""
        raise NotImplementedError

    def update_statistics(self, connection: Any, tables: tuple[str, ...]) -> None:
        """After a bulk write: let the query planner see the tables' new sizes."""

    def begin(self, connection: Any, *, store_wide: bool = True) -> None:
        """Start a write transaction that holds the store's write lock at once (never fails half-way on one); with
        `store_wide=False`, one that needs only the locks of the rows it writes, where the store has such locks."""
        raise NotImplementedError

    def in_transaction(self, connection: Any) -> bool:
        raise NotImplementedError

    def lost(self, connection: Any) -> bool:
        """Whether the server ended the connection (it cannot be used again)."""
        return False

    def wait_at_most(self, connection: Any, seconds: float) -> None:
        """How long the connection waits for a lock before its statement fails as BUSY."""
        raise NotImplementedError

    def stream(self, connection: Any, sql: str, params: Sequence[Any], size: int) -> Iterator[tuple]:
        """The rows of a query, `size` at a time, never all in memory."""
        raise NotImplementedError

    def failure(self, exc: BaseException) -> str | None:
        """Which kind of failure a driver error is (BUSY, FULL, …), or None for any other."""
        raise NotImplementedError

    def is_error(self, exc: BaseException) -> bool:
        """Whether the exception is this driver's."""
        raise NotImplementedError


def now() -> str:
    """The current time as stored: UTC, ISO 8601, whole seconds (text on both stores, so that both sort and
    compare it alike)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
