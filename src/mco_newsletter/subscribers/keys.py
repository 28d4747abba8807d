"""Secret keys: from the environment, a systemd credential, or an owner-only file in the private folder.

With the store in an SQLite file (one host), a missing key file is generated on first use. With a shared store
(PostgreSQL), a key is never made silently: a host without it would make links no other host opens, and an erasure
key of its own would let erased people back in through an import. There a missing key is an error saying where
keys come from (copied from the first host, or given in the environment or as a credential; `keys init` makes them
on the first host), and each key's fingerprint (an HMAC of a constant under the key) is recorded in the store when
first used: a host whose key differs is refused, naming both fingerprints. No key is ever shown.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeGuard

from ..errors import NewsletterError
from ..files import create_private_file
from ..storage.location import StoreLocation

MIN_LENGTH = 32
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # where systemd puts a service's credentials (LoadCredential=)
_FINGERPRINT_DOMAIN = b"mco-newsletter key fingerprint v1"


@dataclass(frozen=True)
class Key:
    """One of the tool's keys: what it is called, its environment variable, and its file (and credential) name."""

    label: str
    env: str
    file: str


UNSUBSCRIBE_SECRET = Key("unsubscribe secret", "MCO_NEWSLETTER_SECRET", "unsubscribe.key")
ERASURE_KEY = Key("erasure key", "MCO_NEWSLETTER_ERASURE_KEY", "erasure.key")
KEYS = (UNSUBSCRIBE_SECRET, ERASURE_KEY)


@dataclass(frozen=True)
class Found:
    """A key as this host has it: its fingerprint and where it came from (never the key)."""

    key: Key
    source: str | None  # "$MCO_NEWSLETTER_SECRET", "systemd credential unsubscribe.key", a path; None: missing
    fingerprint: str | None


class Recorded(Protocol):
    """A key's fingerprint as the store holds it (storage/key_rows.py's Recorded)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def at(self) -> str: ...


class Fingerprints(Protocol):
    """The store's record of its keys' fingerprints (storage/key_rows.py's KeyFingerprints)."""

    def get(self, name: str) -> Recorded | None: ...
    def record(self, name: str, fingerprint: str, host: str) -> Recorded: ...


class KeyedStore(Protocol):
    """What the keys need of the store: subscribers/store.py's Store, which sits above this module in the layers."""

    @property
    def location(self) -> StoreLocation: ...
    @property
    def key_fingerprints(self) -> Fingerprints: ...


def fingerprint(value: bytes) -> str:
    """What tells two keys apart, without giving either away: 16 bytes of an HMAC of a constant under the key."""
    digest = hmac.new(value, _FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()[:32]
    return " ".join(digest[at : at + 4] for at in range(0, 32, 4))


def shared(store: KeyedStore | None) -> TypeGuard[KeyedStore]:
    """Whether the store is shared by several hosts (PostgreSQL)."""
    return store is not None and bool(store.location.url)


def load_key(key: Key, private_dir: Path, *, store: KeyedStore | None = None) -> bytes:
    """The key from $ENV, else the systemd credential, else private/FILE (made 0600 with 256 random bits if missing,
    unless the store is shared). On a shared `store` the key must be the one its fingerprint was recorded for."""
    value, source = _read(key, private_dir)
    if value is None:
        if shared(store):
            raise _missing(key, store)
        path = private_dir / key.file
        create_private_file(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))  # the first writer's wins
        value, source = _read(key, private_dir)
        assert value is not None  # just made (or made by another process a moment before)
    if shared(store):
        _compare(key, value, source, store)
        for other in KEYS:  # the first host to use the store records every key it has, not only this one
            if other != key:
                other_value, other_source = _read(other, private_dir)
                if other_value is not None:
                    _compare(other, other_value, other_source, store)
    return value


def find_key(key: Key, private_dir: Path) -> Found:
    """Where this host has the key from, and its fingerprint (nothing made, nothing compared)."""
    value, source = _read(key, private_dir)
    return Found(key, source, fingerprint(value) if value is not None else None)


def make_keys(private_dir: Path, *, store: KeyedStore | None = None) -> list[tuple[Found, bool]]:
    """`keys init`: each key this host lacks is made as an owner-only file, and on a shared store every key's
    fingerprint recorded; (the key as found, whether it was made now). On a shared store whose key was made
    elsewhere already, nothing is made: that key is to be copied."""
    done = []
    for key in KEYS:
        value, _ = _read(key, private_dir)
        made = False
        if value is None:
            if shared(store) and store.key_fingerprints.get(key.file) is not None:
                raise _missing(key, store)
            made = create_private_file(private_dir / key.file, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
        try:
            load_key(key, private_dir, store=store)  # compares, and records on a shared store
        except NewsletterError:
            if made:  # another host's init recorded its key a moment before: ours was never used
                (private_dir / key.file).unlink(missing_ok=True)
            raise
        done.append((find_key(key, private_dir), made))
    return done


def _read(key: Key, private_dir: Path) -> tuple[bytes | None, str | None]:
    given = os.environ.get(key.env)
    if given is not None:
        if len(given) < MIN_LENGTH:
            raise NewsletterError(
                f"{key.env} is too short (at least {MIN_LENGTH} characters)",
                hint="generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            )
        return given.encode("utf-8"), f"${key.env}"
    credentials = os.environ.get(CREDENTIALS_ENV)
    if credentials and (Path(credentials) / key.file).is_file():
        # systemd made it readable by the service alone; its mode is systemd's, not ours to check.
        return _text(Path(credentials) / key.file), f"systemd credential {key.file}"
    path = private_dir / key.file
    if not path.exists():
        return None, None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise NewsletterError(f"{path}: the key file is readable by others (mode {mode:o})", hint=f"chmod 600 {path}")
    if not path.is_file():
        raise NewsletterError(f"{path} is not a file", hint="move it away so that a new key file can be generated")
    return _text(path), str(path)


def _text(path: Path) -> bytes:
    try:
        key = path.read_bytes().decode("ascii").strip()
    except UnicodeDecodeError:
        raise NewsletterError(
            f"{path}: the key file is not a key (not ASCII text)",
            hint="restore it from a backup, or delete it to generate a new key",
        ) from None
    if len(key) < MIN_LENGTH:
        raise NewsletterError(f"{path}: the key file is empty or too short", hint="delete it to generate a new key")
    return key.encode("ascii")


def _missing(key: Key, store: KeyedStore) -> NewsletterError:
    recorded = store.key_fingerprints.get(key.file)
    made = (
        f"; the store's was first used on {recorded.host} ({recorded.at[:10]}), fingerprint {recorded.fingerprint}"
        if recorded
        else ""
    )
    return NewsletterError(
        f"this host has no {key.label}, and the subscriber database is shared (PostgreSQL): a key made here would "
        f"not match the other hosts'{made}",
        hint=f"copy private/{key.file} from the host that has it (owner-only: chmod 600), or give it in {key.env} or "
        f"as the systemd credential {key.file} (see docs/subscribers.md); on the first host of a new store, "
        "run `mco-newsletter keys init`",
    )


def _compare(key: Key, value: bytes, source: str | None, store: KeyedStore) -> None:
    mine = fingerprint(value)
    recorded = store.key_fingerprints.record(key.file, mine, socket.gethostname())
    if recorded.fingerprint == mine:
        return
    raise NewsletterError(
        f"the {key.label} on this host ({source}) is not the one the shared subscriber database was set up with: "
        f"fingerprint {mine} here, {recorded.fingerprint} first used on {recorded.host} ({recorded.at[:10]})",
        hint=f"use that host's key: copy its private/{key.file} here, or give it in {key.env} (links made with "
        "another key open on no other host; `mco-newsletter keys fingerprints` compares them)",
    )
