"""The statements of the translators' registry (translators.py), and the carrying over of the registry's old
file of its own (private/translators.sqlite3) into the store, once."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from .database import Database

COLUMNS = "id, name, email, languages, created_at, form_key"
OLD_COLUMNS = ("id", "name", "email", "languages", "token_hash", "form_key", "created_at", "revoked_at")
log = logging.getLogger("mco_newsletter")


class TranslatorRows:
    """translators: one row per translator with a review link (the token kept as its SHA-256 only)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, *, name: str, email: str | None, languages: str, token_hash: bytes, form_key: str, created_at: str
    ) -> int | None:
        """The new row's id, or None when the name has a live link already."""
        return self.db.value(
            "INSERT INTO translators (name, email, languages, token_hash, form_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (name, email, languages, token_hash, form_key, created_at),
        )

    def active(self) -> list[tuple]:
        return self.db.all(f"SELECT {COLUMNS} FROM translators WHERE revoked_at IS NULL ORDER BY lower(name), id")

    def active_named(self, name: str) -> tuple | None:
        return self.db.one(
            f"SELECT {COLUMNS} FROM translators WHERE revoked_at IS NULL AND lower(name) = lower(?)", (name,)
        )

    def revoke(self, translator_id: int, at: str) -> None:
        self.db.execute("UPDATE translators SET revoked_at = ? WHERE id = ?", (at, translator_id))

    def by_token_hash(self, token_hash: bytes) -> tuple | None:
        return self.db.one(
            f"SELECT {COLUMNS} FROM translators WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
        )

    def by_id(self, translator_id: int) -> tuple | None:
        return self.db.one(f"SELECT {COLUMNS} FROM translators WHERE id = ?", (translator_id,))


def carry_over(db: Database, old: Path) -> int:
    """Copy the rows of the registry's old file into the store's table, ids, token hashes and revocations as they
    were, then remove the file; how many rows were carried (0: no old file).

    The file is removed, not kept: it holds translators' names and addresses, and a copy nobody keeps up to date
    would outlive their revocation or erasure. A row already in the table (a carry-over cut short before the
    file was removed) is left as the table has it, so running this again changes nothing.
    """
    if not old.is_file():
        return 0
    rows, counter = _old_rows(old)
    with db.transaction():
        db.executemany(
            f"INSERT INTO translators ({', '.join(OLD_COLUMNS)}) VALUES ({', '.join('?' * len(OLD_COLUMNS))})"
            " ON CONFLICT DO NOTHING",
            rows,
        )
        if rows or counter:
            db.dialect.ids_past(db, "translators", max([counter, *(row[0] for row in rows)]))
        carried = {row[0] for row in db.all("SELECT id FROM translators")}
        if not {row[0] for row in rows} <= carried:
            raise RuntimeError("the translators' registry was not carried over whole")  # rolled back; file kept
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            old.with_name(old.name + suffix).unlink(missing_ok=True)
        except OSError as exc:  # carried over; removed at the next open
            log.warning("the translators' old registry %s could not be removed: %s", old, exc.strerror or exc)
    return len(rows)


def _old_rows(old: Path) -> tuple[list[tuple], int]:
    """The old file's rows in id order, and its AUTOINCREMENT counter (ids given before, never to be given again)."""
    from urllib.parse import quote

    connection = sqlite3.connect(f"file:{quote(str(old))}?mode=ro", uri=True)
    try:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "translators" not in tables:
            return [], 0
        rows = [
            tuple(row) for row in connection.execute(f"SELECT {', '.join(OLD_COLUMNS)} FROM translators ORDER BY id")
        ]
        counter = 0
        if "sqlite_sequence" in tables:
            counter = (
                connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'translators'").fetchone() or (0,)
            )[0]
        return rows, counter
    finally:
        connection.close()
