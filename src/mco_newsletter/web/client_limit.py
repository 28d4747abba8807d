"""How many sign-ups one client may post an hour, counted in memory only: never written, never logged.

A client is the IP address uvicorn reports (behind the organisation's proxy, the one it forwards in
X-Forwarded-For: uvicorn trusts that header from the addresses in --forwarded-allow-ips, 127.0.0.1 by
default). Even in memory it is held only as a keyed hash under a key made at start-up, and forgotten
when its hour is over, so the table stays as small as the last hour's clients.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

WINDOW_S = 3600.0
MAX_CLIENTS = 100_000  # beyond this many clients an hour, the oldest are forgotten first


class ClientLimit:
    """At most `limit` sign-ups per client per hour (0: no limit)."""

    def __init__(self, limit: int, *, window: float = WINDOW_S, max_clients: int = MAX_CLIENTS):
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self.key = secrets.token_bytes(16)
        # client hash → [start of its window, sign-ups in it]; in the order the windows started
        self.counts: dict[bytes, list] = {}
        self.lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        """Count one sign-up of the client; False when it is over the limit."""
        if not self.limit:
            return True
        now = time.monotonic() if now is None else now
        key = hashlib.blake2b(client.encode("utf-8", "replace"), key=self.key, digest_size=12).digest()
        with self.lock:
            self._forget(now)
            entry = self.counts.get(key)
            if entry is None:
                self.counts[key] = [now, 1]
                return True
            if entry[1] >= self.limit:
                return False
            entry[1] += 1
            return True

    def _forget(self, now: float) -> None:
        # The first entries started first: drop them while their hour is over (or the table is full).
        counts = self.counts
        while counts:
            key = next(iter(counts))
            if now - counts[key][0] < self.window and len(counts) < self.max_clients:
                return
            del counts[key]
