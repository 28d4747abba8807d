"""Who may review in the browser: translators, each with a personal link bound to their name and languages.

A link is a capability: `<base_url>/review/<token>`, the token 256 random bits. The registry keeps only
the token's SHA-256, so a copy of it opens no page and a lost link cannot be shown again (a new one is
made by revoking and adding). Revoking takes effect at the next request: the server asks the registry
every time. The registry is the `translators` table of the subscriber store (storage/translator_rows.py),
read through a connection of its own: nothing of the review pages ever reads subscriber data. Ids are
never reused; revoked translators stay as history. The registry's old file of its own,
private/translators.sqlite3, is carried into the store at the first open and then removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass

from .config import Settings
from .errors import NewsletterError
from .storage.database import Database

FILE_NAME = "translators.sqlite3"  # the registry's old file, carried into the store once
TOKEN_BYTES = 32
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of 32 bytes, unpadded
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


def review_url(settings: Settings, token: str) -> str:
    """The translator's personal link."""
    return f"{settings.base_url}/review/{token}"


class Registry:
    """The translators' registry on a connection of its own to the store, safe to share between the server's threads."""

    def __init__(self, database: Database) -> None:
        from .storage.translator_rows import TranslatorRows

        self.database = database
        self.rows = TranslatorRows(database)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.database.close()

    def add(self, *, name: str, languages: tuple[str, ...], email: str | None = None) -> tuple[Translator, str]:
        """A new translator and their token (shown once: only its hash is kept)."""
        name = name.strip()
        if not NAME.match(name):
            raise NewsletterError(
                f"{name!r} cannot be a translator's name",
                hint='one line of at most 80 characters, without <, > or "',
                exit_code=2,
            )
        email = _checked_email(email) if email else None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.lock:
            translator_id = self.rows.add(
                name=name,
                email=email,
                languages=" ".join(languages),
                token_hash=token_hash(token),
                form_key=secrets.token_urlsafe(24),
                created_at=_now(),
            )
            if translator_id is None:
                raise NewsletterError(
                    f"{name} already has a review link",
                    hint=f'to give {name} a new one: `mco-newsletter translators revoke "{name}"`, then add again',
                )
            return _translator(self.rows.by_id(translator_id)), token

    def active(self) -> list[Translator]:
        """Everyone whose link works, by name."""
        with self.lock:
            return [_translator(row) for row in self.rows.active()]

    def revoke(self, name: str) -> Translator | None:
        """End a translator's link at once; None when nobody of that name has one."""
        with self.lock:
            row = self.rows.active_named(name.strip())
            if row is None:
                return None
            self.rows.revoke(row[0], _now())
        return _translator(row)

    def by_token(self, token: str) -> Translator | None:
        """The translator a genuine, unrevoked token names; None for anything else."""
        if not isinstance(token, str) or not TOKEN.match(token):
            return None
        with self.lock:
            row = self.rows.by_token_hash(token_hash(token))
        return _translator(row) if row else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _translator(row) -> Translator:
    return Translator(row[0], row[1], row[2], tuple(row[3].split()), row[4], row[5])


def _checked_email(address: str) -> str:
    from .email_addresses import InvalidAddress, checked_address

    try:
        return checked_address(address).normalized
    except InvalidAddress as exc:
        raise NewsletterError(f"{address!r} is not an e-mail address: {exc}", exit_code=2) from None


def open_registry(settings: Settings) -> Registry:
    """The workspace's registry: the store's `translators` table (its old file carried over at the first open)."""
    from .storage.database import open_database
    from .storage.translator_rows import carry_over

    database = open_database(settings.store)
    try:
        carry_over(database, settings.private_dir / FILE_NAME)
    except BaseException:
        database.close()
        raise
    return Registry(database)
