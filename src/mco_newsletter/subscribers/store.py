"""The subscriber store: one SQLite file (WAL, owner-only), schema migrations, and the queries on it."""

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
from .segments import Segment
from .signup_schema import SIGNUP_MIGRATION
# Writers wait this long for one another (transactions are short; a large import takes seconds).
# After WAIT_NOTICE_S (lock_wait.py) the person is told who holds the database.
BUSY_TIMEOUT_S = 30

MIGRATIONS = [
    # 1: subscribers, their tags, and the keyed hashes of erased addresses.
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        consent_source TEXT NOT NULL,
        consent_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX subscribers_status_language ON subscribers (status, language);
    CREATE TABLE subscriber_tags (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX subscriber_tags_tag ON subscriber_tags (tag, subscriber_id);
    CREATE TABLE erased (
        hash TEXT PRIMARY KEY,
        erased_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: the delivery ledger. A campaign sends one issue to one segment; a delivery is one reader's
    # row in it. Rows name the subscriber by id only: the ledger holds no address.
    """
    CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        issue_id TEXT NOT NULL,
        segment TEXT NOT NULL,
        settings_snapshot TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (issue_id, segment)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL,
        language TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        provider_id TEXT,
        updated_at TEXT,
        UNIQUE (campaign_id, subscriber_id)
    );
    CREATE INDEX deliveries_work ON deliveries (campaign_id, language, id);
    """,
    # 3: what SendGrid's event webhook reported: each event once, and the last word per ledger row.
    """
    CREATE TABLE webhook_events (
        sg_event_id TEXT PRIMARY KEY,
        received_at TEXT NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE deliveries ADD COLUMN provider_event TEXT;
    ALTER TABLE deliveries ADD COLUMN provider_event_at TEXT;
    """,
    # 4: ids are never reused (AUTOINCREMENT): an erased reader's old link or a late event for their
    # ledger row can never reach whoever comes next. Each subscriber gets a random nonce that their
    # links' MAC covers. Deliveries gain the terminal state `refused` (the server refused the address
    # for good). The tables are rebuilt keeping every row; `meta` remembers the highest subscriber id
    # of the old schema, whose links (made without nonce) stay valid for those readers only.
    """
    CREATE TABLE subscribers_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        consent_source TEXT NOT NULL,
        consent_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        nonce BLOB NOT NULL DEFAULT (randomblob(16))
    );
    INSERT INTO subscribers_v4 (id, email, email_key, name, language, status, consent_source, consent_at,
                                created_at, updated_at)
        SELECT id, email, email_key, name, language, status, consent_source, consent_at, created_at, updated_at
        FROM subscribers ORDER BY id;
    DELETE FROM subscriber_tags WHERE subscriber_id NOT IN (SELECT id FROM subscribers);
    DROP TABLE subscribers;
    ALTER TABLE subscribers_v4 RENAME TO subscribers;
    CREATE INDEX subscribers_status_language ON subscribers (status, language);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) SELECT 'legacy_token_max_id', coalesce(max(id), 0) FROM subscribers;
    CREATE TABLE campaigns_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id TEXT NOT NULL,
        segment TEXT NOT NULL,
        settings_snapshot TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (issue_id, segment)
    );
    INSERT INTO campaigns_v4 SELECT id, issue_id, segment, settings_snapshot, started_at, finished_at FROM campaigns;
    CREATE TABLE deliveries_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL,
        language TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'refused')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        provider_id TEXT,
        updated_at TEXT,
        provider_event TEXT,
        provider_event_at TEXT,
        UNIQUE (campaign_id, subscriber_id)
    );
    INSERT INTO deliveries_v4 SELECT id, campaign_id, subscriber_id, language, fallback, state, attempts,
        last_error, provider_id, updated_at, provider_event, provider_event_at FROM deliveries ORDER BY id;
    DROP TABLE deliveries;
    DROP TABLE campaigns;
    ALTER TABLE campaigns_v4 RENAME TO campaigns;
    ALTER TABLE deliveries_v4 RENAME TO deliveries;
    CREATE INDEX deliveries_work ON deliveries (campaign_id, language, id);
    """,
    # 5: sign-up with double opt-in (subscribers/signup_schema.py).
    SIGNUP_MIGRATION,
]


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
            consent_source: str, at: str | None = None, status: str = "active") -> int:
        """Insert a new subscriber (active unless told otherwise); return its id."""
        at = at or now()
        cursor = self.db.execute(
            "INSERT INTO subscribers (email, email_key, name, language, status, consent_source, consent_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (email, email_key(email), name, language, status, consent_source, at, at, at))
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

    def erase(self, subscriber_id: int | None, erasure_hash: str) -> None:
        """Delete the subscriber and their tags; keep only the keyed hash of the address (the ledger
        forgets its rows of them in the same transaction: Ledger.forget)."""
        if subscriber_id is not None:
            self.db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))  # its sign-up request too
        self.db.execute("DELETE FROM mail_log WHERE hash = ?", (erasure_hash,))
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
            _migrate(connection)
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


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise NewsletterError(f"the subscriber database has schema version {version}, newer than this tool knows",
                              hint="upgrade mco-newsletter")
    if version == len(MIGRATIONS):
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
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        broken = connection.execute("PRAGMA foreign_key_check").fetchone()
        if broken:
            raise NewsletterError(f"migrating the subscriber database broke a reference in {broken[0]}",
                                  hint="nothing was changed; please report this")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    connection.execute("PRAGMA foreign_keys = ON")
