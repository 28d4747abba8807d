"""The fingerprints of the keys a shared store was set up with, kept in its `meta` table: the first host to use a
key records its fingerprint, and every host after compares its own with it (subscribers/keys.py). A fingerprint
tells keys apart; it does not give the key away."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .database import Database
from .dialect import now

_PREFIX = "key fingerprint "


@dataclass(frozen=True)
class Recorded:
    """A key's fingerprint as the store holds it: the value, and which host recorded it when."""

    fingerprint: str
    host: str
    at: str


class KeyFingerprints:
    """The store's record of its keys' fingerprints, by the key's file name (`unsubscribe.key`)."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, name: str) -> Recorded | None:
        value = self.db.value("SELECT value FROM meta WHERE key = ?", (_PREFIX + name,))
        if value is None:
            return None
        fields = json.loads(value)
        return Recorded(fields["fingerprint"], fields["host"], fields["at"])

    def record(self, name: str, fingerprint: str, host: str) -> Recorded:
        """Record the fingerprint unless one is recorded already (another host's, maybe this very moment); the one
        the store holds now."""
        value = json.dumps({"fingerprint": fingerprint, "host": host, "at": now()}, sort_keys=True)
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (_PREFIX + name, value)
        )
        return self.get(name) or Recorded(fingerprint, host, "")
