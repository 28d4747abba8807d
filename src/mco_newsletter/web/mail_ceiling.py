"""The site-wide ceiling on sign-up emails: at most `[signup] emails_per_hour` confirmations and notices in any
hour, however many clients and mailboxes ask. The per-client and per-mailbox limits stop one sender and one
inbox; this stops many of both together from making the organisation's server a source of unwanted mail.

The count is of the last hour's emails, read from the mail log as `serve` starts (so a restart does not reset
it) and kept in memory after. Reaching the ceiling is logged once, in one line naming no address; sign-ups
over it get the same answer as every other and no email (nothing is recorded: the person may ask again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

log = logging.getLogger("mco_newsletter.web")
WINDOW_S = 3600.0


class MailCeiling:
    """Counts the sign-up emails of the last hour; `take()` claims one more, or says the ceiling is reached."""

    def __init__(self, limit: int, *, sent: list[float] = (), clock=time.time, window: float = WINDOW_S):
        self.limit, self.clock, self.window = limit, clock, window
        self.times: deque[float] = deque(sorted(sent)[-limit:] if limit else ())
        self.reached = False
        self.lock = threading.Lock()

    def take(self) -> bool:
        """Count one more sign-up email; False when the last hour already had `limit` (0: no ceiling)."""
        if not self.limit:
            return True
        now = self.clock()
        with self.lock:
            while self.times and now - self.times[0] >= self.window:
                self.times.popleft()
            if len(self.times) >= self.limit:
                if not self.reached:
                    self.reached = True
                    log.warning("sign-up emails: the ceiling of %d an hour ([signup] emails_per_hour) is reached; "
                                "sign-ups get no email until the oldest of them is an hour old", self.limit)
                return False
            self.reached = False
            self.times.append(now)
            return True
