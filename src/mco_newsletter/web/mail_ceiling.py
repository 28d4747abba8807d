"""The site-wide ceiling on sign-up emails: at most `[signup] emails_per_hour` confirmations and notices in any
hour, however many clients ask. The per-client and per-mailbox limits stop one sender and one inbox; this stops
many of both together from making the organisation's server a source of unwanted mail.

The count is of the mail log's sign-up emails of the last hour (each noted as it is claimed, before it is sent:
subscribers/signups.py), read in the transaction that would claim one more, so a restart does not reset it and
every `serve` replica on one store counts the same emails. Reaching the ceiling is logged once, in one line naming
no address; sign-ups over it get the same answer as every other and no email (nothing is recorded: the person
may ask again).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from ..subscribers.store import Store

log = logging.getLogger("mco_newsletter.web")
WINDOW_S = 3600.0


class MailCeiling:
    """`allows(store)`, asked in the transaction that would claim one more sign-up email: whether the last hour had
    fewer than `limit` (0: no ceiling)."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.time, window: float = WINDOW_S) -> None:
        self.limit, self.clock, self.window = limit, clock, window
        self.reached = False

    def allows(self, store: Store) -> bool:
        from ..subscribers.signups import sign_up_mails_within

        if not self.limit:
            return True
        at = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        if sign_up_mails_within(store, at, self.window) < self.limit:
            self.reached = False
            return True
        if not self.reached:
            self.reached = True
            log.warning(
                "sign-up emails: the ceiling of %d an hour ([signup] emails_per_hour) is reached; "
                "sign-ups get no email until the oldest of them is an hour old",
                self.limit,
            )
        return False
