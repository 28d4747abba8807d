"""The subscriber store: one SQLite file (WAL, owner-only), migrated as it opens (migrations.py), and the queries
on it."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from ..errors import NewsletterError
from . import STATUSES  # noqa: F401  (re-exported: the statuses a subscriber may have)
from .lock_wait import holders, waiting
from .migrations import MIGRATIONS, migrate  # noqa: F401  (MIGRATIONS re-exported for older imports)
from .segments import Segment

# Writers wait this long for one another (transactions are short; a large import takes seconds).
# After WAIT_NOTICE_S (lock_wait.py) the person is told who holds the database.
BUSY_TIMEOUT_S = 30


class Recipient(NamedTuple):
    """What sending needs of a subscriber: whom, in which language, and the id the token is made of."""

    id: int
    email: str
    language: str


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


def now() -> str:
    """The current time as stored: UTC, ISO 8601, whole seconds."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def email_key(email: str) -> str:
    """The address as compared for uniqueness: case-insensitive."""
    return email.casefold()


def prepare_private_file(path: Path) -> None:
    """Create the database's missing folders (0700) and the file (0600); make existing files owner-only.

    SQLite gives its -wal and -shm files the database's mode; ones left wider by someone are tightened too.
    """
    from ..files import make_private_file, tighten

    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise NewsletterError(f"{path} is {kind}, not a database file",
                              hint="set [database] path (or MCO_NEWSLETTER_DB) to a file, e.g. private/subscribers.sqlite3")
    make_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        sibling = path.with_name(path.name + suffix)
        if sibling.is_file():
            tighten(sibling)


class Store:
    """A connection to the subscriber database, with the queries the tool needs."""

    def __init__(self, connection: sqlite3.Connection, path: Path, on_wait: Callable[[list[str]], None] | None = None):
        self.db = connection
        self.path = path
        self.on_wait = on_wait

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (BEGIN IMMEDIATE) so it never fails half-way on a lock.

        A failing disk (full, read-only, damaged) rolls it back and becomes an error that says which.
        """
        try:
            with waiting(self.path, self.on_wait):
                self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _database_error(exc, self.path) from exc
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            # SQLite has rolled back by itself after some errors (a full disk): a second ROLLBACK would fail.
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise _database_error(exc, self.path) from exc
            raise

    def close(self) -> None:
        self.db.close()

    def wait_at_most(self, seconds: float) -> None:
        """From now on, wait at most `seconds` for another program's write (then the database is reported locked)."""
        self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None."""
        row = self.db.execute(f"{_SELECT} WHERE s.email_key = ?", (email_key(email),)).fetchone()
        return _subscriber(row) if row else None

    def by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id, or None."""
        row = self.db.execute(f"{_SELECT} WHERE s.id = ?", (subscriber_id,)).fetchone()
        return _subscriber(row) if row else None

    def subscribers(self, segment: Segment | None = None, status: str | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or the active ones of a segment, or those of one status), in id order, streamed."""
        where, params = segment.where() if segment else ("1", [])
        if status is not None:
            where, params = f"{where} AND s.status = ?", [*params, status]
        cursor = self.db.execute(f"{_SELECT} WHERE {where} ORDER BY s.id", params)
        for row in cursor:
            yield _subscriber(row)

    def recipients(self, segment: Segment) -> Iterator[Recipient]:
        """The active subscribers of a segment as (id, email, language), in id order, streamed."""
        where, params = segment.where()
        cursor = self.db.execute(f"SELECT s.id, s.email, s.language FROM subscribers s WHERE {where} ORDER BY s.id",
                                 params)
        cursor.arraysize = 1000
        while batch := cursor.fetchmany():
            yield from map(Recipient._make, batch)

    def count_by_language(self, segment: Segment) -> dict[str, int]:
        """How many active subscribers of the segment read each language."""
        where, params = segment.where()
        rows = self.db.execute(f"SELECT s.language, count(*) FROM subscribers s WHERE {where} GROUP BY s.language",
                               params)
        return dict(rows.fetchall())

    def add(self, *, email: str, name: str | None, language: str, tags: tuple[str, ...],
            consent_source: str, at: str | None = None, status: str = "active", consent_at: str | None = None) -> int:
        """Insert a new subscriber (active unless told otherwise; consent given `at` unless told when); its id."""
        at = at or now()
        cursor = self.db.execute(
            "INSERT INTO subscribers (email, email_key, name, language, status, consent_source, consent_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (email, email_key(email), name, language, status, consent_source, consent_at or at, at, at))
        subscriber_id = cursor.lastrowid
        if tags:
            self.db.executemany("INSERT OR IGNORE INTO subscriber_tags (subscriber_id, tag) VALUES (?, ?)",
                                [(subscriber_id, tag) for tag in tags])
        return subscriber_id

    def set_status(self, subscriber_id: int, status: str) -> bool:
        """Change a subscriber's status; True when it changed."""
        if status not in STATUSES:
            raise ValueError(status)
        cursor = self.db.execute("UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ? AND status != ?",
                                 (status, now(), subscriber_id, status))
        return cursor.rowcount > 0

    def is_erased(self, erasure_hash: str) -> bool:
        return self.db.execute("SELECT 1 FROM erased WHERE hash = ?", (erasure_hash,)).fetchone() is not None

    def erase(self, subscriber_id: int | None, erasure_hash: str, mailbox_hash: str | None = None) -> None:
        """Delete the subscriber and their tags, a sign-up of the address still queued and the mail log's notes
        of the address and its mailbox; keep only the keyed hash of the address (the ledger forgets its rows of
        them in the same transaction: Ledger.forget)."""
        if subscriber_id is not None:
            self.db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))  # its sign-up requests too
        self.db.execute("DELETE FROM signup_queue WHERE hash = ?", (erasure_hash,))
        self.db.execute("DELETE FROM mail_log WHERE hash IN (?, ?)", (erasure_hash, mailbox_hash or erasure_hash))
        self.db.execute("INSERT OR IGNORE INTO erased (hash, erased_at) VALUES (?, ?)", (erasure_hash, now()))

    def forget_erasure(self, erasure_hash: str) -> None:
        """The person subscribed again of their own accord: their address may be held again."""
        self.db.execute("DELETE FROM erased WHERE hash = ?", (erasure_hash,))

    def id_of(self, email: str) -> int | None:
        """The id of the subscriber with this address (any case), or None."""
        row = self.db.execute("SELECT id FROM subscribers WHERE email_key = ?", (email_key(email),)).fetchone()
        return row[0] if row else None

    def email_of(self, subscriber_id: int) -> str | None:
        """The address of the subscriber with this id, or None."""
        row = self.db.execute("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return row[0] if row else None

    def resubscribe(self, subscriber_id: int, consent_source: str) -> bool:
        """A reader who left asks to receive the digest again; True when the status changed."""
        at = now()
        cursor = self.db.execute("UPDATE subscribers SET status = 'active', consent_source = ?, consent_at = ?,"
                                 " consent_version = NULL, updated_at = ? WHERE id = ? AND status != 'active'",
                                 (consent_source, at, at, subscriber_id))
        return cursor.rowcount > 0

    def nonce(self, subscriber_id: int) -> bytes | None:
        """The random value a subscriber's links are bound to (None when there is no such subscriber)."""
        row = self.db.execute("SELECT nonce FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return row[0] if row else None

    def legacy_token_max_id(self) -> int:
        """The highest subscriber id of the schema before links carried a nonce (0: none)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'legacy_token_max_id'").fetchone()
        return int(row[0]) if row else 0

    def set_statuses(self, changes: list[tuple[int, str]], at: str | None = None) -> None:
        """Apply (subscriber id, status) changes from providers' reports; a complaint is never softened."""
        at = at or now()
        self.db.executemany("UPDATE subscribers SET status = :status, updated_at = :at"
                            " WHERE id = :id AND status NOT IN ('complained', :status)",
                            [{"id": sid, "status": status, "at": at} for sid, status in changes])

    def checkpoint(self) -> tuple[int, int, int]:
        """Fold the WAL into the database file (and empty it); SQLite's (busy, log pages, checkpointed pages)."""
        return tuple(self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())


_SELECT = ("SELECT s.id, s.email, s.name, s.language,"
           " (SELECT group_concat(t.tag, char(31)) FROM subscriber_tags t WHERE t.subscriber_id = s.id),"
           " s.status, s.consent_source, s.consent_at, s.created_at, s.updated_at, s.consent_version"
           " FROM subscribers s")


def _subscriber(row) -> Subscriber:
    tags = tuple(sorted(row[4].split("\x1f"))) if row[4] else ()
    return Subscriber(row[0], row[1], row[2], row[3], tags, *row[5:])


def open_store(path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S,
               on_wait: Callable[[list[str]], None] | None = None, durable_commits: bool = True) -> Store:
    """Open (creating and migrating as needed) the subscriber database at path.

    Another writer is waited for up to busy_timeout seconds; on_wait(holders) is called once when the
    wait passes WAIT_NOTICE_S, with the programs that have the database open.

    Every commit is synced to disk unless durable_commits is False: `send` records each accepted
    message with a commit of its own, and there a power cut may lose the last commits (their
    readers are sent again, never lost); a killed process loses nothing either way (WAL).
    """
    try:
        prepare_private_file(path)
    except OSError as exc:
        raise NewsletterError(f"{path}: cannot create the subscriber database: {exc.strerror or exc}",
                              hint="check that its folder exists, is writable and has free space") from None
    connection = None
    try:
        # Sending threads share one connection; the ledger serializes them with its own lock.
        connection = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        with waiting(path, on_wait):
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {'FULL' if durable_commits else 'NORMAL'}")
            # Deleted rows are overwritten, not left in free pages: erasure means erasure.
            connection.execute("PRAGMA secure_delete = ON")
            migrate(connection)
    except sqlite3.Error as exc:
        if connection is not None:
            connection.close()
        raise _database_error(exc, path) from None
    return Store(connection, path, on_wait)


def open_reader(path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> Store:
    """A second, read-only connection to a database open_store has prepared: in WAL mode it reads while a
    writer commits, so that a thread that only looks never waits for another's transaction."""
    from urllib.parse import quote

    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=busy_timeout,
                                     isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _database_error(exc, path) from None
    return Store(connection, path)


def _database_error(exc: sqlite3.Error, path: Path) -> NewsletterError:
    from ..errors import database_error

    name = getattr(exc, "sqlite_errorname", "")
    locked = name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)
    return database_error(exc, path, holders(path) if locked else None)
