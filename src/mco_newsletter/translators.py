"""Who may review in the browser: translators, each with a personal link bound to their name and languages.

A link is a capability: `<base_url>/review/<token>`, the token 256 random bits. The registry keeps only
the token's SHA-256, so a copy of the file opens no page and a lost link cannot be shown again (a new
one is made by revoking and adding). Revoking takes effect at the next request: the server asks the
registry every time. The registry is its own small SQLite file, private/translators.sqlite3 (0600
in the private folder, beside the subscriber database but apart from it: nothing of the review pages
ever reads subscriber data). Ids are never reused; revoked translators stay as history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import NewsletterError

FILE_NAME = "translators.sqlite3"
TOKEN_BYTES = 32
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of 32 bytes, unpadded
SCHEMA = """
CREATE TABLE IF NOT EXISTS translators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT,
    languages TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    form_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS translators_active_name ON translators (lower(name)) WHERE revoked_at IS NULL;
"""
NAME = re.compile(r"^[^\x00-\x1f\x7f<>\"]{1,80}$")


@dataclass(frozen=True)
class Translator:
    """One translator with a link: who, in which languages; `form_key` is what their pages' forms carry (CSRF)."""

    id: int
    name: str
    email: str | None
    languages: tuple[str, ...]
    created_at: str
    form_key: str = ""

    @property
    def identity(self) -> str:
        """Who approved, as a catalog's Last-Translator says it: 'Name <address>', or the name alone."""
        return f"{self.name} <{self.email}>" if self.email else self.name


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def review_url(settings, token: str) -> str:
    """The translator's personal link."""
    return f"{settings.base_url}/review/{token}"


class Registry:
    """The translators' registry: one SQLite file, safe to share between the server's threads."""

    def __init__(self, path: Path):
        from .subscribers.store import prepare_private_file

        prepare_private_file(path)
        self.path = path
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, *, name: str, languages: tuple[str, ...], email: str | None = None) -> tuple[Translator, str]:
        """A new translator and their token (shown once: only its hash is kept)."""
        name = name.strip()
        if not NAME.match(name):
            raise NewsletterError(f"{name!r} cannot be a translator's name",
                                  hint="one line of at most 80 characters, without <, > or \"", exit_code=2)
        email = _checked_email(email) if email else None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        with self.lock:
            try:
                cursor = self.db.execute(
                    "INSERT INTO translators (name, email, languages, token_hash, form_key, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (name, email, " ".join(languages), token_hash(token), secrets.token_urlsafe(24), now))
            except sqlite3.IntegrityError:
                raise NewsletterError(f"{name} already has a review link",
                                      hint=f"to give {name} a new one: `mco-newsletter translators revoke \"{name}\"`, "
                                           "then add again") from None
            return self._by_id(cursor.lastrowid), token

    def active(self) -> list[Translator]:
        """Everyone whose link works, by name."""
        with self.lock:
            rows = self.db.execute(f"SELECT {COLUMNS} FROM translators WHERE revoked_at IS NULL "
                                   "ORDER BY lower(name)").fetchall()
        return [_translator(row) for row in rows]

    def revoke(self, name: str) -> Translator | None:
        """End a translator's link at once; None when nobody of that name has one."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        with self.lock:
            row = self.db.execute(f"SELECT {COLUMNS} FROM translators WHERE revoked_at IS NULL AND lower(name) = "
                                  "lower(?)", (name.strip(),)).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE translators SET revoked_at = ? WHERE id = ?", (now, row[0]))
        return _translator(row)

    def by_token(self, token: str) -> Translator | None:
        """The translator a genuine, unrevoked token names; None for anything else."""
        if not isinstance(token, str) or not TOKEN.match(token):
            return None
        with self.lock:
            row = self.db.execute(f"SELECT {COLUMNS} FROM translators WHERE token_hash = ? AND revoked_at IS NULL",
                                  (token_hash(token),)).fetchone()
        return _translator(row) if row else None

    def _by_id(self, translator_id: int) -> Translator:
        return _translator(self.db.execute(f"SELECT {COLUMNS} FROM translators WHERE id = ?",
                                           (translator_id,)).fetchone())


COLUMNS = "id, name, email, languages, created_at, form_key"


def _translator(row) -> Translator:
    return Translator(row[0], row[1], row[2], tuple(row[3].split()), row[4], row[5])


def _checked_email(address: str) -> str:
    from .email_addresses import InvalidAddress, checked_address

    try:
        return checked_address(address).normalized
    except InvalidAddress as exc:
        raise NewsletterError(f"{address!r} is not an e-mail address: {exc}", exit_code=2) from None


def open_registry(settings) -> Registry:
    """The workspace's registry (created on first use)."""
    return Registry(settings.private_dir / FILE_NAME)
