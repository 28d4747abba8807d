"""The subscriber store: the subscribers, their tags, erased hashes and meta, on SQLite or PostgreSQL (opened and
migrated by storage/database.py), and the queries on them. Sign-up requests and the mail log are in
storage/signup_rows.py, reached through `store.requests` and `store.mail_log`."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..storage.chores import Chores
from ..storage.database import BUSY_TIMEOUT_S, Database, open_database
from ..storage.dialect import now
from ..storage.location import StoreLocation
from ..storage.signup_rows import MailLog, SignupQueue, SignupRequests
from ..storage.sqlite import prepare_private_file  # noqa: F401  (re-exported for older imports)
from . import STATUSES
from .segments import Segment

if TYPE_CHECKING:
    from ..storage.key_rows import KeyFingerprints

NONCE_BYTES = 16


class Recipient(NamedTuple):
    """What sending needs of a subscriber: whom, in which language, and the id the token is made of."""

    id: int
    email: str
    language: str


class Contact(NamedTuple):
    """What a reader's own pages need to write to them: who, in which language, their status and link nonce."""

    id: int
    email: str
    language: str
    status: str
    nonce: bytes


@dataclass(frozen=True)
class Subscriber:
    """Everything held about one reader, and nothing more."""

    id: int
    email: str
    name: str | None
    language: str
    tags: tuple[str, ...]
    status: str
    consent_source: str
    consent_at: str
    created_at: str
    updated_at: str
    consent_version: str | None = None  # the version of the consent text a reader confirmed (web sign-up)


def email_key(email: str) -> str:
    """The address as compared for uniqueness: case-insensitive."""
    return email.casefold()


def new_nonce() -> bytes:
    """The random value a new subscriber's links are bound to."""
    return secrets.token_bytes(NONCE_BYTES)


def segment_where(segment: Segment | None) -> tuple[str, list[object]]:
    """An SQL condition on subscribers `s` for the segment's readers (every subscriber for None), and its parameters."""
    if segment is None:
        return "1 = 1", []
    clauses: list[str] = ["s.status = 'active'"]
    params: list[object] = []
    if segment.languages:
        clauses.append(f"s.language IN ({_marks(segment.languages)})")
        params += segment.languages
    if segment.tags_any:
        clauses.append(
            "EXISTS (SELECT 1 FROM subscriber_tags t WHERE t.subscriber_id = s.id "
            f"AND t.tag IN ({_marks(segment.tags_any)}))"
        )
        params += segment.tags_any
    if segment.tags_all:
        clauses.append(
            "(SELECT count(*) FROM subscriber_tags t WHERE t.subscriber_id = s.id "
            f"AND t.tag IN ({_marks(segment.tags_all)})) = ?"
        )
        params += [*segment.tags_all, len(set(segment.tags_all))]
    if segment.exclude_tags:
        clauses.append(
            "NOT EXISTS (SELECT 1 FROM subscriber_tags t WHERE t.subscriber_id = s.id "
            f"AND t.tag IN ({_marks(segment.exclude_tags)}))"
        )
        params += segment.exclude_tags
    return " AND ".join(clauses), params


def _marks(values) -> str:
    return ", ".join("?" * len(values))


class Store:
    """The subscriber store, with the queries the tool needs."""

    def __init__(self, database: Database) -> None:
        self.db = database
        self._select = (
            "SELECT s.id, s.email, s.name, s.language,"
            f" (SELECT {database.dialect.joined('t.tag', chr(31))} FROM subscriber_tags t"
            " WHERE t.subscriber_id = s.id),"
            " s.status, s.consent_source, s.consent_at, s.created_at, s.updated_at, s.consent_version"
            " FROM subscribers s"
        )

    @property
    def location(self) -> StoreLocation:
        return self.db.location

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for a PostgreSQL store)."""
        return self.db.location.path

    @contextmanager
    def transaction(self, *, store_wide: bool = True) -> Iterator[Database]:
        """A write transaction, holding the store's write lock from its start (Database.transaction; `store_wide`
        False for one that writes only rows no one else writes meanwhile)."""
        with self.db.transaction(store_wide=store_wide) as db:
            yield db

    @cached_property
    def requests(self) -> SignupRequests:
        """The sign-up requests (storage/signup_rows.py)."""
        return SignupRequests(self.db)

    @cached_property
    def queue(self) -> SignupQueue:
        """Sign-ups as they arrived, before they are worked through (storage/signup_rows.py)."""
        return SignupQueue(self.db)

    @cached_property
    def mail_log(self) -> MailLog:
        """When sign-up and subject-access emails went to an address (storage/signup_rows.py)."""
        return MailLog(self.db)

    @cached_property
    def chores(self) -> Chores:
        """When `serve`'s periodic purges last ran, for replicas to run each once (storage/chores.py)."""
        return Chores(self.db)

    @cached_property
    def key_fingerprints(self) -> KeyFingerprints:
        """The fingerprints of the keys a shared store was set up with (storage/key_rows.py)."""
        from ..storage.key_rows import KeyFingerprints

        return KeyFingerprints(self.db)

    def close(self) -> None:
        self.db.close()

    def wait_at_most(self, seconds: float) -> None:
        """From now on, wait at most `seconds` for another program's write (then the database is reported locked)."""
        self.db.wait_at_most(seconds)

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None."""
        row = self.db.one(f"{self._select} WHERE s.email_key = ?", (email_key(email),))
        return _subscriber(row) if row else None

    def by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id, or None."""
        row = self.db.one(f"{self._select} WHERE s.id = ?", (subscriber_id,))
        return _subscriber(row) if row else None

    def contact(self, *, email: str | None = None, subscriber_id: int | None = None) -> Contact | None:
        """Id, address, language, status and nonce of the subscriber with this address (any case) or id."""
        column, value = ("email_key", email_key(email)) if email is not None else ("id", subscriber_id)
        row = self.db.one(f"SELECT id, email, language, status, nonce FROM subscribers WHERE {column} = ?", (value,))
        return Contact(row[0], row[1], row[2], row[3], bytes(row[4])) if row else None

    def subscribers(self, segment: Segment | None = None, status: str | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or the active ones of a segment, or those of one status), in id order, streamed."""
        where, params = segment_where(segment)
        if status is not None:
            where, params = f"{where} AND s.status = ?", [*params, status]
        for row in self.db.stream(f"{self._select} WHERE {where} ORDER BY s.id", params):
            yield _subscriber(row)

    def recipients(self, segment: Segment) -> Iterator[Recipient]:
        """The active subscribers of a segment as (id, email, language), in id order, streamed."""
        where, params = segment_where(segment)
        rows = self.db.stream(
            f"SELECT s.id, s.email, s.language FROM subscribers s WHERE {where} ORDER BY s.id", params
        )
        return map(Recipient._make, rows)

    def count_by_language(self, segment: Segment) -> dict[str, int]:
        """How many active subscribers of the segment read each language."""
        where, params = segment_where(segment)
        return dict(
            self.db.all(f"SELECT s.language, count(*) FROM subscribers s WHERE {where} GROUP BY s.language", params)
        )

    def add(
        self,
        *,
        email: str,
        name: str | None,
        language: str,
        tags: tuple[str, ...],
        consent_source: str,
        at: str | None = None,
        status: str = "active",
        consent_at: str | None = None,
    ) -> int:
        """Insert a new subscriber (active unless told otherwise; consent given `at` unless told when); its id."""
        at = at or now()
        subscriber_id = self.db.value(
            "INSERT INTO subscribers (email, email_key, name, language, status, consent_source, consent_at,"
            " created_at, updated_at, nonce) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (email, email_key(email), name, language, status, consent_source, consent_at or at, at, at, new_nonce()),
        )
        self.add_tags([(subscriber_id, tag) for tag in tags])
        return subscriber_id

    def delete(self, subscriber_id: int) -> None:
        """Delete a subscriber, their tags and sign-up request (not an erasure: no hash is kept)."""
        self.db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))

    def add_tags(self, pairs: list[tuple[int, str]]) -> None:
        """Give subscribers tags: (subscriber id, tag) pairs; a tag held already stays as it is."""
        self.db.executemany(
            "INSERT INTO subscriber_tags (subscriber_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", pairs
        )

    def remove_tags(self, pairs: list[tuple[int, str]]) -> None:
        """Take tags away: (subscriber id, tag) pairs."""
        self.db.executemany("DELETE FROM subscriber_tags WHERE subscriber_id = ? AND tag = ?", pairs)

    def set_language(self, subscriber_id: int, language: str, at: str | None = None) -> None:
        self.db.execute(
            "UPDATE subscribers SET language = ?, updated_at = ? WHERE id = ?", (language, at or now(), subscriber_id)
        )

    def set_status(self, subscriber_id: int, status: str) -> bool:
        """Change a subscriber's status; True when it changed."""
        if status not in STATUSES:
            raise ValueError(status)
        cursor = self.db.execute(
            "UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ? AND status != ?",
            (status, now(), subscriber_id, status),
        )
        return cursor.rowcount > 0

    def unsubscribe(self, subscriber_id: int) -> bool:
        """An active reader leaves (a bounce or complaint stays what it is); True when the status changed."""
        cursor = self.db.execute(
            "UPDATE subscribers SET status = 'unsubscribed', updated_at = ? WHERE id = ? AND status = 'active'",
            (now(), subscriber_id),
        )
        return cursor.rowcount > 0

    def activate(
        self, subscriber_id: int, *, language: str, name: str | None, consent_source: str, consent_version: str, at: str
    ) -> None:
        """A reader confirmed their sign-up: active, in the language they asked for, with the consent record."""
        self.db.execute(
            "UPDATE subscribers SET status = 'active', language = ?, name = coalesce(?, name),"
            " consent_source = ?, consent_version = ?, consent_at = ?, updated_at = ? WHERE id = ?",
            (language, name, consent_source, consent_version, at, at, subscriber_id),
        )

    def purge_pending(self, at: str) -> int:
        """Delete pending subscribers whose sign-up request expired (or who have none); how many."""
        return self.db.execute(
            "DELETE FROM subscribers WHERE status = 'pending' AND id NOT IN"
            " (SELECT subscriber_id FROM signup_requests WHERE expires_at > ?)",
            (at,),
        ).rowcount

    def is_erased(self, erasure_hash: str) -> bool:
        return self.db.one("SELECT 1 FROM erased WHERE hash = ?", (erasure_hash,)) is not None

    def erase(self, subscriber_id: int | None, erasure_hash: str, mailbox_hash: str | None = None) -> None:
        """Delete the subscriber and their tags, a sign-up of the address still queued and the mail log's notes
        of the address and its mailbox; keep only the keyed hash of the address (the ledger forgets its rows of
        them in the same transaction: Ledger.forget)."""
        if subscriber_id is not None:
            self.delete(subscriber_id)  # its sign-up requests too
        self.queue.forget(erasure_hash)
        self.mail_log.forget(erasure_hash, mailbox_hash or erasure_hash)
        self.db.execute(
            "INSERT INTO erased (hash, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (erasure_hash, now())
        )

    def forget_erasure(self, erasure_hash: str) -> None:
        """The person subscribed again of their own accord: their address may be held again."""
        self.db.execute("DELETE FROM erased WHERE hash = ?", (erasure_hash,))

    def id_of(self, email: str) -> int | None:
        """The id of the subscriber with this address (any case), or None."""
        return self.db.value("SELECT id FROM subscribers WHERE email_key = ?", (email_key(email),))

    def email_of(self, subscriber_id: int) -> str | None:
        """The address of the subscriber with this id, or None."""
        return self.db.value("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,))

    def emails_of(self, subscriber_ids: list[int]) -> dict[int, str]:
        """The addresses of those of these subscribers who are held, by id."""
        return dict(
            self.db.all(
                f"SELECT id, email FROM subscribers WHERE id {self.db.dialect.in_ids}",
                (self.db.dialect.ids(subscriber_ids),),
            )
        )

    def resubscribe(self, subscriber_id: int, consent_source: str) -> bool:
        """A reader who left asks to receive the digest again; True when the status changed."""
        at = now()
        cursor = self.db.execute(
            "UPDATE subscribers SET status = 'active', consent_source = ?, consent_at = ?,"
            " consent_version = NULL, updated_at = ? WHERE id = ? AND status != 'active'",
            (consent_source, at, at, subscriber_id),
        )
        return cursor.rowcount > 0

    def nonce(self, subscriber_id: int) -> bytes | None:
        """The random value a subscriber's links are bound to (None when there is no such subscriber)."""
        value = self.db.value("SELECT nonce FROM subscribers WHERE id = ?", (subscriber_id,))
        return None if value is None else bytes(value)

    def ping(self) -> None:
        """Read one of the store's own tables (what the health route asks): a driver error when it cannot."""
        self.db.value("SELECT 1 FROM meta LIMIT 1")

    def alive(self) -> bool:
        """Whether the store's connection is usable as it is."""
        return self.db.alive()

    def legacy_token_max_id(self) -> int:
        """The highest subscriber id of the schema before links carried a nonce (0: none)."""
        return int(self.db.value("SELECT value FROM meta WHERE key = 'legacy_token_max_id'", default=0))

    def set_statuses(self, changes: list[tuple[int, str]], at: str | None = None) -> None:
        """Apply (subscriber id, status) changes from providers' reports; a complaint is never softened."""
        at = at or now()
        self.db.executemany(
            "UPDATE subscribers SET status = :status, updated_at = :at"
            " WHERE id = :id AND status NOT IN ('complained', :status)",
            [{"id": sid, "status": status, "at": at} for sid, status in changes],
        )

    def checkpoint(self, *, wait_ms: int | None = None) -> tuple[int, int, int]:
        """Fold SQLite's WAL into the database file (and empty it), waiting at most wait_ms for each lock:
        SQLite's (busy, log pages, checkpointed pages). A PostgreSQL store has no such log here: (0, 0, 0)."""
        if self.db.kind != "sqlite":
            return 0, 0, 0
        connection = self.db.connection
        timeout = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        if wait_ms is not None:
            connection.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            return tuple(connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(timeout)}")


def _subscriber(row) -> Subscriber:
    tags = tuple(sorted(row[4].split("\x1f"))) if row[4] else ()
    return Subscriber(row[0], row[1], row[2], row[3], tags, *row[5:])


class Located(Protocol):
    """Settings (config.Settings): they say where the store is."""

    @property
    def store(self) -> StoreLocation: ...


Where = StoreLocation | Located | str | os.PathLike[str]


def location_of(where: Where) -> StoreLocation:
    """A store's location from a StoreLocation, settings (their `store`), or an SQLite file's path."""
    if isinstance(where, StoreLocation):
        return where
    if isinstance(where, (str, os.PathLike)):
        return StoreLocation(path=Path(where))
    return where.store


def open_store(
    where: Where,
    *,
    busy_timeout: float = BUSY_TIMEOUT_S,
    on_wait: Callable[[list[str]], None] | None = None,
    durable_commits: bool = True,
) -> Store:
    """Open (creating and migrating as needed) the subscriber store: a StoreLocation, settings, or an SQLite path.

    Another writer is waited for up to busy_timeout seconds; on_wait(holders) is called once when the
    wait passes WAIT_NOTICE_S, with the programs that have the database open.

    Every commit is durable unless durable_commits is False: `send` records each accepted message with a
    commit of its own, and there a power cut (or a crash of the database server) may lose the last commits
    (their readers are sent again, never lost); a killed process loses nothing either way.
    """
    return Store(
        open_database(location_of(where), busy_timeout=busy_timeout, on_wait=on_wait, durable_commits=durable_commits)
    )


def open_reader(where: Where, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Store:
    """A second, read-only connection to a store open_store has prepared: it reads while a writer commits
    (SQLite's WAL; PostgreSQL's snapshots), so that a thread that only looks never waits for another's transaction."""
    return Store(open_database(location_of(where), busy_timeout=busy_timeout, read_only=True))
