"""How many sign-ups one client may post an hour: never logged; on SQLite (one host) counted in memory only, on
PostgreSQL shared by every replica through the store's tables of the hour (web/shared_counts.py).

A client is the IP address uvicorn reports (behind the organisation's proxy, the one it forwards in
X-Forwarded-For: uvicorn believes that header only from `[web] trusted_proxies`, the loopback addresses by
default), and an IPv6 client is its whole /64: one household or server is given a /64, and every address
in it is theirs to use. Even in memory a client is held only as a keyed hash under a key made at start-up
(ClientKey), and forgotten when its hour is over, so the table stays as small as the last hour's clients.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
import time
from typing import Protocol

WINDOW_S = 3600.0
MAX_CLIENTS = 100_000  # beyond this many clients an hour, the oldest are forgotten first
IPV6_CLIENT_PREFIX = 64


class SharedWindows(Protocol):
    """The per-client counts every replica on PostgreSQL shares (web/shared_counts.py's SharedCounts)."""

    def add(self, name: str, client: str, *, window: float, at_most: int | None = None) -> float | None: ...


def client_group(host: str) -> str:
    """What counts as one client: an IPv4 address (also written as IPv4-mapped IPv6), an IPv6 /64, or the text
    as given when it is not an IP address."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # a zone index (fe80::1%eth0) names no other client
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


class ClientKey:
    """A client's name as the limits hold it: a keyed hash of its group under a key that lives in memory only."""

    def __init__(self) -> None:
        self.key = secrets.token_bytes(16)

    def __call__(self, host: str) -> bytes:
        return hashlib.blake2b(client_group(host).encode("utf-8", "replace"), key=self.key, digest_size=12).digest()


class ClientLimit:
    """At most `limit` sign-ups per client per hour (0: no limit); `shared` (a SharedCounts): counted with every
    other replica's."""

    def __init__(
        self,
        limit: int,
        *,
        window: float = WINDOW_S,
        max_clients: int = MAX_CLIENTS,
        shared: SharedWindows | None = None,
    ) -> None:
        self.limit = limit
        self.shared = shared
        self.window = window
        self.max_clients = max_clients
        self.key = ClientKey()
        # client hash → [start of its window, sign-ups in it]; in the order the windows started
        self.counts: dict[bytes, list] = {}
        self.lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        """Count one sign-up of the client; False when it is over the limit."""
        if not self.limit:
            return True
        if self.shared is not None:
            return self.shared.add("signup", client, window=self.window, at_most=self.limit) is not None
        now = time.monotonic() if now is None else now
        key = self.key(client)
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
