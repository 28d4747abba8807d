"""What the routes of `serve` share: the settings, the subscriber store (one connection that writes, one or a few
that only read), the keys, and on PostgreSQL the per-client counts every replica shares.

A change waits at most WRITE_WAIT_S for another write (an import, a send's commit, the lock of another program)
before the page says "try again later": a reader is never kept waiting for half a minute.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from queue import Queue
from typing import Any

from ..config import Settings
from ..errors import DatabaseError, NewsletterError
from ..subscribers.store import Store, Subscriber

log = logging.getLogger("mco_newsletter.web")
WRITE_WAIT_S = 2
READERS_POSTGRESQL = 4  # read-only connections of a replica on PostgreSQL


class Site:
    """The settings, the subscriber store and the keys the routes share: one connection that writes (`store`,
    under `lock`) and one or a few that only read (`reading()`); on PostgreSQL, the per-client counts every replica
    shares (`shared_counts`)."""

    def __init__(self, settings: Settings) -> None:
        from ..subscribers.store import open_reader, open_store
        from ..subscribers.tokens import unsubscribe_secret

        self.settings = settings
        self.verifier = None
        if settings.webhook_public_key:
            self.verifier = _verifier(settings.webhook_public_key)
        self.store = open_store(settings.store)
        # SQLite reads a local file in microseconds: one connection. PostgreSQL's are round trips over the network,
        # and one connection would make every page wait for every other page's reads: a few, taken as free.
        self.readers: Queue = Queue()
        for _ in range(READERS_POSTGRESQL if settings.store.url else 1):
            self.readers.put(open_reader(settings.store, busy_timeout=WRITE_WAIT_S))
        self.secret = unsubscribe_secret(settings.private_dir, store=self.store)
        self.legacy_max_id = self.store.legacy_token_max_id()
        self.lock = threading.Lock()
        self.shared_counts = None
        if settings.store.url:
            from .shared_counts import SharedCounts

            self.shared_counts = SharedCounts(settings.store)
        # Set by the rooms above (typed Any: they import the site): web/signup.py's ReaderPages once its routes are
        # made, web/chores.py's Chores when this replica runs them.
        self.reader_pages: Any = None
        self.chores: Any = None
        self.checking = threading.Lock()

    def serving(self) -> None:
        """Start-up (which waits for the database as a command does) is over: a change now waits WRITE_WAIT_S.
        Under the writer's lock: the desk's thread may already be writing on that connection (a sign-up a stopped
        server left queued), and a setting made within its transaction would end with it."""
        with self.locked() as store:
            store.wait_at_most(WRITE_WAIT_S)

    @contextmanager
    def reading(self) -> Iterator:
        """A read-only connection, this thread's alone while it reads (on SQLite, in WAL mode, it reads while
        anything else writes)."""
        store = self.readers.get()
        try:
            yield store
        finally:
            self.readers.put(store)

    @contextmanager
    def locked(self) -> Iterator:
        """The connection that writes, for this thread alone; DatabaseError when another change holds it for
        longer than WRITE_WAIT_S."""
        if not self.lock.acquire(timeout=WRITE_WAIT_S):
            raise DatabaseError(
                "the subscriber database is busy",
                cause=f"the subscriber database is busy: a change waited {WRITE_WAIT_S} s for another",
            )
        try:
            yield self.store
        finally:
            self.lock.release()

    def reader(self, token: str) -> Subscriber | None:
        from ..subscribers.tokens import read_token

        with self.reading() as store:
            subscriber_id = read_token(self.secret, token, nonce_of=store.nonce, legacy_max_id=self.legacy_max_id)
            return None if subscriber_id is None else store.by_id(subscriber_id)

    async def unsubscribe(self, subscriber: Subscriber, issue: str | None = None) -> None:
        """At the desk (web/desk.py): many unsubscribes share one commit, and one sync of the disk; the issue its link
        came in gets one more unsubscribe in its count (reporting/attribution.py)."""
        from ..reporting.attribution import UNSUBSCRIBE, count_action

        def leave(store: Store) -> None:
            # Only an active reader leaves: a bounce or complaint stays what it is.
            if store.unsubscribe(subscriber.id):
                count_action(store, subscriber_id=subscriber.id, issue=issue, kind=UNSUBSCRIBE)

        await self.reader_pages.desk.do(leave)

    async def resubscribe(self, subscriber: Subscriber) -> None:
        await self.reader_pages.desk.do(
            lambda store: store.resubscribe(subscriber.id, "asked again through their unsubscribe link")
        )

    def healthy(self) -> bool:
        """Whether the store answers a read of one of its tables on the connection the pages read with, and the
        connection that writes is alive (one the server ended is opened again here). One check at a time: a check
        still waiting makes the next one fail."""
        if not self.checking.acquire(blocking=False):
            return False
        try:
            with self.reading() as store:
                store.ping()
            if not self.store.alive():
                with self.locked() as store:
                    store.ping()
            return True
        except Exception as exc:  # noqa: BLE001 — whatever the cause, the answer is 503; the log names its kind
            log.warning("GET /healthz: the store cannot be read: %s", type(exc).__name__)
            return False
        finally:
            self.checking.release()


def _verifier(key: str):
    from ..delivery.webhook_signature import KeyProblem, load_public_key

    try:
        return load_public_key(key)
    except KeyProblem as exc:
        raise NewsletterError(
            f"the webhook public key cannot be loaded: {exc}",
            hint="set [webhook] public_key (or SENDGRID_WEBHOOK_PUBLIC_KEY) to the verification "
            "key from SendGrid's Mail Settings → Event Webhook",
        ) from None
