"""`serve`'s periodic chores, each run once per period however many replicas share the store.

Every replica looks once a minute; what it finds due it runs, and only one replica runs each round of a purge
(storage/chores.py notes each run in the store, in the transaction that does the work):
- hourly, the sign-ups that expired unconfirmed, their requests, and the mail log past its hour;
- hourly, the applied webhook event ids (and bounce mail digests) older than [webhook] retention_days;
- each minute, on PostgreSQL, the tables of the hour of the per-client counts once the hour after theirs is over
  (web/shared_counts.py: their keys go with them; dropping a table that is gone already does nothing).
Each replica also works through, hourly, any sign-up left queued by a replica that stopped before it could.
A chore that fails is logged in one line (its name and the error's kind) and tried again at the next look.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from ..subscribers.store import Store
from .site import Site

log = logging.getLogger("mco_newsletter.web")
LOOK_EVERY_S = 60.0
HOURLY_S = 3600.0
DAY_S = 86_400


def purge_sign_ups(store: Store, at: float) -> None:
    from ..subscribers.signups import purge_expired

    purge_expired(store, dt.datetime.fromtimestamp(at, dt.UTC))


def purge_events(store: Store, at: float, *, retention_days: int) -> None:
    from ..delivery.ledger import Ledger
    from ..subscribers.signups import stamp

    Ledger(store).purge_events(before=stamp(dt.datetime.fromtimestamp(at - retention_days * DAY_S, dt.UTC)))


class Chores:
    """The chores of one replica: `look()` runs whatever is due; `start()` looks once a minute in a thread."""

    def __init__(self, site: Site, *, clock: Callable[[], float] = time.time, every: float = LOOK_EVERY_S) -> None:
        self.site = site
        self.clock = clock
        self.every = every
        retention = site.settings.webhook_retention_days
        self.purges = (
            ("sign-ups", HOURLY_S, purge_sign_ups),
            ("webhook-events", HOURLY_S, partial(purge_events, retention_days=retention)),
        )
        self.resumed = time.monotonic()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="chores", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def look(self) -> list[str]:
        """Run the chores that are due and this replica's to run; the names of the purges it ran."""
        ran = []
        shared = self.site.shared_counts
        if shared is not None:
            self._guarded("client windows", shared.forget_old)
        desk = self.site.reader_pages.desk
        for name, every, work in self.purges:

            def chore(store, name=name, every=every, work=work) -> bool:
                at = self.clock()
                if not store.chores.claim(name, every=every, at=at):
                    return False
                work(store, at)
                return True

            if self._guarded(name, lambda chore=chore: desk.submit(chore).result(timeout=600)):
                ran.append(name)
        if time.monotonic() - self.resumed >= HOURLY_S:
            self.resumed = time.monotonic()
            self._guarded("queued sign-ups", self.site.reader_pages.resume_queued)
        return ran

    def _guarded(self, name: str, work):
        try:
            return work()
        except Exception as exc:  # noqa: BLE001 — a chore that fails is tried again at the next look
            log.warning("chore %s failed, tried again in a minute: %s", name, type(exc).__name__)
            return None

    def _run(self) -> None:
        # The first look a minute after start: the start itself purged the sign-ups (web/signup.py).
        while not self.stopping.wait(self.every):
            self.look()
