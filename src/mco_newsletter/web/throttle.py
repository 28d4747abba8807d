"""Slowing down a client that keeps presenting bad review links: guessing a link must cost time.

A link's token is 256 random bits, so guessing cannot succeed; the throttle makes trying expensive and
visible all the same. It counts failures per client (behind the reverse proxy, uvicorn's proxy headers give
the reader's address; an IPv6 client is its /64) within a window. On SQLite it lives in memory (a restart
forgets it), holds each client only as a keyed hash (client_limit.ClientKey), and holds at most `max_clients`
of them, forgetting the longest quiet first; on PostgreSQL the counts are shared by every replica
(web/shared_counts.py).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from .client_limit import ClientKey, SharedWindows


class Throttle:
    """How long to wait before answering a client's next bad link."""

    def __init__(
        self,
        *,
        free: int = 5,
        window_seconds: float = 600.0,
        first_delay: float = 0.5,
        max_delay: float = 8.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedWindows | None = None,
    ) -> None:
        self.free, self.window, self.first_delay, self.max_delay = free, window_seconds, first_delay, max_delay
        self.max_clients = max_clients
        self.clock = clock
        self.shared = shared
        self.key = ClientKey()
        self.failures: OrderedDict[bytes, deque] = OrderedDict()
        self.lock = threading.Lock()

    def failed(self, client: str) -> float:
        """Record a bad link from `client`; the seconds to wait before answering it (0 for the first few)."""
        if self.shared is not None:
            count = self.shared.add("review", client, window=self.window)
            assert count is not None, "without at_most, every failure is counted"
            return self._delay(count - self.free)
        now = self.clock()
        key = self.key(client)
        with self.lock:
            times = self.failures.pop(key, None) or deque()
            while times and now - times[0] > self.window:
                times.popleft()
            times.append(now)
            self.failures[key] = times  # most recent last
            while len(self.failures) > self.max_clients:
                self.failures.popitem(last=False)
            over = len(times) - self.free
        return self._delay(over)

    def _delay(self, over: float) -> float:
        if over <= 0:
            return 0.0
        return min(self.max_delay, self.first_delay * 2 ** (over - 1))
