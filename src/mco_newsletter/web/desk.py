"""One writer for the reader pages: their short transactions, committed together.

Every commit is synced to disk (the subscriber store's promise), and a sync costs milliseconds: one
transaction per sign-up would cap the server at a few hundred a second. The desk runs whatever
requests are waiting in one transaction, each inside a savepoint of its own (one that fails is rolled
back alone), commits once, and only then answers each of them: nothing is answered before it is on disk.
A batch that cannot be committed (the database locked for longer than the site waits, a full disk) hands the
error to every request in it; each request's answer (web/app.py) says what happened.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from queue import Empty, SimpleQueue
from typing import TypeVar

from ..subscribers.store import Store
from .site import Site

T = TypeVar("T")
MAX_BATCH = 256


class Desk:
    """Runs work(store) calls in the site's store, a batch at a time, in a thread of its own."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.queue: SimpleQueue = SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="desk", daemon=True)
        self.thread.start()

    def submit(self, work: Callable[[Store], T]) -> Future:
        """Queue work; its Future holds the result once the transaction that ran it is committed."""
        future: Future = Future()
        self.queue.put((work, future))
        return future

    async def do(self, work: Callable[[Store], T]) -> T:
        """Run work and wait (without blocking the event loop) until it is committed."""
        return await asyncio.wrap_future(self.submit(work))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    item = self.queue.get_nowait()
                except Empty:
                    break
                if item is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        store = self.site.store
        outcomes: list[tuple[Future, object, Exception | None]] = []
        try:
            with self.site.locked(), store.transaction():
                for work, future in batch:
                    try:
                        with store.db.savepoint():
                            outcomes.append((future, work(store), None))
                    except Exception as exc:  # noqa: BLE001 — handed to the request that asked
                        if not store.db.in_transaction:
                            raise  # SQLite rolled the whole transaction back itself (a full disk)
                        outcomes.append((future, None, exc))
        except BaseException as exc:  # noqa: BLE001 — the commit failed: none of the batch holds
            for _, future in batch:
                future.set_exception(exc)
            return
        for future, value, failure in outcomes:
            if failure is None:
                future.set_result(value)
            else:
                future.set_exception(failure)
