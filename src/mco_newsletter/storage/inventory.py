"""What a store holds, table by table: its tables (in an order that satisfies their references), their columns and
keys, row counts, an ordered digest of every row, and the schema version (`database status`, `database copy`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from .database import Database

# The tool's own record of the schema, not data: never copied, never counted.
BOOKKEEPING = ("schema_version",)


@dataclass(frozen=True)
class Table:
    """One table of the tool's schema: its columns in order, its primary key, and the tables it refers to."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    refers_to: tuple[str, ...]
    texts: frozenset[str] = frozenset()  # the columns that hold text (ordered byte by byte, as SQLite does)


@dataclass(frozen=True)
class Status:
    """`database status`: which store, its schema version (and the newest this tool knows), rows per table."""

    kind: str
    shown: str
    version: int
    newest: int
    rows: dict[str, int]


def tables(db: Database) -> list[Table]:
    """The tool's tables, each after the tables it refers to."""
    if db.kind == "sqlite":
        names = [
            name
            for (name,) in db.all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        found = {}
        for name in names:
            info = db.all(f"PRAGMA table_info({name})")
            key = tuple(column[1] for column in sorted((c for c in info if c[5]), key=lambda c: c[5]))
            refers = tuple(sorted({row[2] for row in db.all(f"PRAGMA foreign_key_list({name})")} - {name}))
            texts = frozenset(column[1] for column in info if "TEXT" in column[2].upper())
            found[name] = Table(name, tuple(column[1] for column in info), key, refers, texts)
    else:
        names = [
            name
            for (name,) in db.all(
                "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        found = {}
        for name in names:
            described = db.all(
                "SELECT column_name, data_type FROM information_schema.columns WHERE"
                " table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                (name,),
            )
            columns = tuple(column for column, _ in described)
            texts = frozenset(column for column, kind in described if kind == "text")
            key = tuple(
                c
                for (c,) in db.all(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary"
                    " ORDER BY array_position(i.indkey, a.attnum)",
                    (name,),
                )
            )
            refers = tuple(
                sorted(
                    {
                        t
                        for (t,) in db.all(
                            "SELECT confrelid::regclass::text FROM pg_constraint"
                            " WHERE conrelid = ?::regclass AND contype = 'f'",
                            (name,),
                        )
                    }
                    - {name}
                )
            )
            found[name] = Table(name, columns, key, refers, texts)
    ordered: list[Table] = []
    while len(ordered) < len(found):
        placed = {table.name for table in ordered}
        ready = [
            table
            for name, table in sorted(found.items())
            if name not in placed and name not in BOOKKEEPING and set(table.refers_to) <= placed
        ]
        if not ready:
            break
        ordered += ready
    return [table for table in ordered if table.name not in BOOKKEEPING]


def count(db: Database, table: str) -> int:
    return db.value(f"SELECT count(*) FROM {table}")


def rows(db: Database, table: Table) -> Iterator[tuple]:
    """Every row of the table in key order (text byte by byte, whatever the database's collation), streamed."""
    order = ", ".join(
        f'{column} COLLATE "C"' if db.kind == "postgresql" and column in table.texts else column for column in table.key
    )
    return db.stream(f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {order}")


def digest(db: Database, table: Table) -> tuple[int, str]:
    """(rows, SHA-256 of every value of every row in key order): equal on two stores when they hold the same."""
    hashed = hashlib.sha256()
    number = 0
    for row in rows(db, table):
        number += 1
        for value in row:
            hashed.update(_canonical(value))
        hashed.update(b"\n")
    return number, hashed.hexdigest()


def _canonical(value) -> bytes:
    # Each value with its kind and length, so that no two different rows can hash alike.
    if value is None:
        return b"N;"
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        text, kind = str(value).encode(), b"i"
    elif isinstance(value, (bytes, bytearray, memoryview)):
        text, kind = bytes(value), b"b"
    else:
        text, kind = str(value).encode("utf-8"), b"s"
    return kind + str(len(text)).encode() + b":" + text + b";"


def status(db: Database) -> Status:
    from .migrate import newest, version_of

    return Status(
        db.kind,
        db.location.shown,
        version_of(db),
        newest(),
        {name: count(db, name) for name in sorted(table.name for table in tables(db))},
    )


def id_counter(db: Database, table: str) -> int:
    """The highest id the table ever gave (SQLite remembers it past a deleted last row), 0 for none."""
    if db.kind == "sqlite":
        counter = db.value("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,), default=0)
        return max(counter, db.value(f"SELECT coalesce(max(id), 0) FROM {table}"))
    return db.value("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass), 0)", (table,))
