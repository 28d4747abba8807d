"""Counts of what one client did, shared by every `serve` replica on a PostgreSQL store: the sign-up limit per
client and the review pages' throttle of bad links hold across replicas behind one proxy.

A client (client_limit.client_group: an IPv4 address or an IPv6 /64) is counted under HMAC-SHA256 of its group
with the key of the hour, in the hour's table (storage/client_windows.py). Counts are kept per window (an hour
for sign-ups, ten minutes for the throttle) and read as a sliding window: this window's count plus the last
one's, weighted by how much of it still lies within the last `window` seconds. The hour's table, key and hashes
are dropped once the hour after it is over (`forget_old`, run each minute by web/chores.py), so no client address
can be recovered from the database after that, not even by whoever holds the key.

On SQLite (one host) the counts stay in memory (client_limit.ClientLimit, throttle.Throttle).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable

from ..storage.location import StoreLocation
from .client_limit import client_group

HOUR_S = 3600
HASH_BYTES = 16


class SharedCounts:
    """Per-client counts in the store's tables of the hour, through a connection of their own."""

    def __init__(self, location: StoreLocation, *, clock: Callable[[], float] = time.time) -> None:
        from ..storage.client_windows import ClientWindows
        from ..storage.database import open_database

        self.db = open_database(location, migrate=False, busy_timeout=2)
        self.windows = ClientWindows(self.db)
        self.clock = clock
        self.keys: dict[int, bytes] = {}  # hour → key, this hour's and the last one's only
        self.lock = threading.Lock()

    def add(self, name: str, client: str, *, window: float, at_most: int | None = None) -> float | None:
        """Count one more `name` (signup, review) for the client; how many it did within the last `window` seconds.
        With `at_most`, count only while that is below it: None (nothing counted) once the client reached it."""
        now = self.clock()
        bucket = int(now // window)
        spent = (now - bucket * window) / window
        group = client_group(client).encode("utf-8", "replace")
        with self.lock:
            last = self._where(name, bucket - 1, window, group, make=False)
            earlier = (self.windows.count(*last) if last is not None else 0) * (1.0 - spent)
            if at_most is None:
                count = self.windows.add(*self._where(name, bucket, window, group))
                assert count is not None, "without `below`, one more is always counted"
                return count + earlier
            # One more must keep the weighted count within at_most: this window's count below at_most - earlier.
            counted = self.windows.add(*self._where(name, bucket, window, group), below=math.floor(at_most - earlier))
            return None if counted is None else counted + earlier

    def _where(self, name: str, bucket: int, window: float, group: bytes, *, make: bool = True):
        """(hour, name of the count, client hash) of a client's count in one window; with make=False, None when no
        replica made that hour's table (nothing was counted in it)."""
        hour = int(bucket * window // HOUR_S)
        key = self.keys.get(hour)
        if key is None:
            key = self.windows.key(hour, make=make)
            if key is None:
                return None
            self.keys[hour] = key
            for old in [known for known in self.keys if known < hour - 1]:
                del self.keys[old]  # the key of an hour over: held nowhere once its table is dropped
        return hour, f"{name}:{bucket}", hmac.new(key, group, hashlib.sha256).digest()[:HASH_BYTES]

    def forget_old(self) -> int:
        """Drop the tables (and keys) of the hours before the last one; how many."""
        hour = int(self.clock() // HOUR_S)
        with self.lock:
            for old in [known for known in self.keys if known < hour - 1]:
                del self.keys[old]
            return self.windows.drop_before(hour - 1)

    def close(self) -> None:
        self.db.close()
