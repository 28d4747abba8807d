"""Reader tokens and erasure hashes: AES and HMAC-SHA256 under keys that never leave the private folder.

A token (v3) is base32(block + MAC) in lower case, 16 + 9 = 25 bytes, 40 characters. The block is the
purpose byte, the id (a subscriber's, a sign-up request's or a ledger row's) and seven zero bytes,
encrypted with AES under a key derived from the secret: whoever holds a link learns neither the id nor
how it compares with another's. The MAC (HMAC-SHA256, cut to 9 bytes) covers the block and a value the
link is bound to and that is never sent (the subscriber's random nonce; for a return path, the address
the message went to): a link opens only the page of its purpose, only for the reader it was made for,
and stops working when that reader is erased. A forger must hit both the block's zero bytes (2^-56)
and the MAC (2^-72). 25 bytes are a multiple of 5, so base32 has no padding and no spare bits: each
token has one spelling, in lower case, and anything else is refused (a mail address's local part is read
in lower case: mail systems may fold its case). Lower-case letters and digits only: a token fits a URL,
a mail address's local part and quoted-printable unchanged.

Links made before (v2: base64url of purpose, id and an 18-byte MAC, 36 characters, which showed the id;
v1: 35 characters, without purpose or nonce) stay valid as they were, in their one canonical spelling:
emails already sent carry them (see docs/web.md). Rotating the secret invalidates every link already
sent (see docs/subscribers.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from .keys import ERASURE_KEY, UNSUBSCRIBE_SECRET, KeyedStore, load_key

SECRET_ENV, SECRET_FILE = UNSUBSCRIBE_SECRET.env, UNSUBSCRIBE_SECRET.file
ERASURE_ENV, ERASURE_FILE = ERASURE_KEY.env, ERASURE_KEY.file
# The purpose byte. The unsubscribe and preferences pages share the reader's one link token: they sit
# side by side in every email, so whoever holds one holds the other (docs/web.md). A sign-up's
# confirmation link has its own purpose, bound to the request's nonce, not the subscriber's.
# A ledger row's return path (VERP, delivery/return_path.py) is a token of its own purpose, bound to the address.
UNSUBSCRIBE = 1
CONFIRM = 2
RETURN_PATH = 3
_SEALED_DOMAIN = b"mco-newsletter sealed token v3\x00"
_CIPHER_DOMAIN = b"mco-newsletter token cipher v3\x00"
_SEALED_MAC_BYTES = 9
TOKEN_LENGTH = 40  # base32 of 16 + 9 bytes
_SEALED = re.compile(r"[a-z2-7]{40}")
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_B32_PAIRS = tuple(first + second for first in _B32 for second in _B32)  # 10 bits → two characters
_B32_SHIFTS = tuple(range(190, -1, -10))
_DOMAIN = b"mco-newsletter reader token v2\x00"
_MAC_BYTES = 18
_V2_LENGTH = 36  # base64url of 1 + 8 + 18 bytes
_TOKEN = re.compile(r"[A-Za-z0-9_-]{36}")
_LEGACY_DOMAIN = b"mco-newsletter unsubscribe v1\x00"
_LEGACY_LENGTH = 35
_LEGACY = re.compile(r"[A-Za-z0-9_-]{35}")


def unsubscribe_secret(private_dir: Path, *, store: KeyedStore | None = None) -> bytes:
    """The key of reader tokens: $MCO_NEWSLETTER_SECRET, the credential or private/unsubscribe.key (subscribers/keys.py;
    on a shared `store`, never made here and checked against the store's)."""
    return load_key(UNSUBSCRIBE_SECRET, private_dir, store=store)


def erasure_key(private_dir: Path, *, store: KeyedStore | None = None) -> bytes:
    """The key of erasure hashes: $MCO_NEWSLETTER_ERASURE_KEY, the credential or private/erasure.key (never rotate
    it; on a shared `store`, never made here and checked against the store's)."""
    return load_key(ERASURE_KEY, private_dir, store=store)


def make_token(secret: bytes, subscriber_id: int, nonce: bytes, purpose: int = UNSUBSCRIBE) -> str:
    """The token of a subscriber's link of one purpose (or of a sign-up request's, for CONFIRM)."""
    return seal(secret, purpose, subscriber_id, nonce)


def seal(secret: bytes, purpose: int, number: int, bound: bytes) -> str:
    """A v3 token: `number` encrypted with its purpose, and a MAC over it and `bound` (never sent)."""
    block = _cipher(secret).encrypt(bytes((purpose,)) + number.to_bytes(8, "big") + bytes(7))
    mac = _keyed(secret, _SEALED_DOMAIN).copy()
    mac.update(block + bound)
    raw = int.from_bytes(block + mac.digest()[:_SEALED_MAC_BYTES], "big")
    # base64.b32encode is written in Python (12 µs); two characters per 10 bits from a table take 3 µs.
    pairs = _B32_PAIRS
    return "".join([pairs[(raw >> shift) & 1023] for shift in _B32_SHIFTS])


def unseal(secret: bytes, token: str, purpose: int) -> tuple[int, bytes, bytes] | None:
    """(number, block, MAC) of a v3 token of this purpose, or None for anything else; the MAC is not yet checked
    (sealed_genuine() does, once the value it is bound to is known)."""
    if not isinstance(token, str) or not _SEALED.fullmatch(token):
        return None
    raw = base64.b32decode(token.upper())
    block, mac = raw[:16], raw[16:]
    plain = _cipher(secret).decrypt(block)
    if plain[0] != purpose or plain[9:] != bytes(7):
        return None
    return int.from_bytes(plain[1:9], "big"), block, mac


def sealed_genuine(secret: bytes, block: bytes, mac: bytes, bound: bytes) -> bool:
    """True when the MAC of an unsealed token is the one made with `bound` (compared in constant time)."""
    expected = _keyed(secret, _SEALED_DOMAIN).copy()
    expected.update(block + bound)
    return hmac.compare_digest(mac, expected.digest()[:_SEALED_MAC_BYTES])


class _Cipher:
    """AES-256 on single blocks (ECB: each token is one block, never a longer message), one context per thread."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self.cipher = Cipher(algorithms.AES(key), modes.ECB())
        self.local = threading.local()

    def encrypt(self, block: bytes) -> bytes:
        # A context is made once per thread (6 µs); a block through it then costs half a microsecond.
        encryptor = getattr(self.local, "encryptor", None)
        if encryptor is None:
            encryptor = self.local.encryptor = self.cipher.encryptor()
        return encryptor.update(block)

    def decrypt(self, block: bytes) -> bytes:
        decryptor = getattr(self.local, "decryptor", None)
        if decryptor is None:
            decryptor = self.local.decryptor = self.cipher.decryptor()
        return decryptor.update(block)


@lru_cache(maxsize=8)
def _cipher(secret: bytes) -> _Cipher:
    return _Cipher(hmac.digest(secret, _CIPHER_DOMAIN, "sha256"))


@lru_cache(maxsize=8)
def _keyed(secret: bytes, domain: bytes):
    # The key schedule once per secret; each token then costs one copy and one update.
    return hmac.new(secret, domain, hashlib.sha256)


def _mac(secret: bytes, head: bytes, nonce: bytes) -> bytes:
    mac = _keyed(secret, _DOMAIN).copy()
    mac.update(head + nonce)
    return mac.digest()[:_MAC_BYTES]


def read_token(
    secret: bytes,
    token: str,
    *,
    nonce_of: Callable[[int], bytes | None],
    legacy_max_id: int = 0,
    purpose: int = UNSUBSCRIBE,
) -> int | None:
    """The subscriber id a genuine token of this purpose names, or None for anything else.

    `nonce_of(id)` gives the subscriber's nonce (None: no such subscriber). A v2 link (sent before ids were
    encrypted) is read as it was; a v1 link is accepted for ids up to `legacy_max_id` only, and only for the
    unsubscribe purpose.
    """
    if not isinstance(token, str):
        return None
    if len(token) == TOKEN_LENGTH:
        sealed = unseal(secret, token, purpose)
        # Checked even for a token that does not open (with a zero block and an empty nonce), so the time
        # taken says nothing about where it failed.
        number, block, mac = sealed if sealed is not None else (0, bytes(16), bytes(_SEALED_MAC_BYTES))
        nonce = nonce_of(number) if sealed is not None else None
        genuine = sealed_genuine(secret, block, mac, nonce or b"")
        return number if genuine and sealed is not None and nonce is not None else None
    if len(token) == _LEGACY_LENGTH and purpose == UNSUBSCRIBE:
        subscriber_id = _read_legacy(secret, token)
        return subscriber_id if subscriber_id is not None and subscriber_id <= legacy_max_id else None
    if not _TOKEN.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token)
    head, mac = raw[:9], raw[9:]
    if head[0] != purpose:
        return None
    subscriber_id = int.from_bytes(head[1:], "big")
    nonce = nonce_of(subscriber_id)
    # Compared even for an unknown id (with an empty nonce), so the time taken says nothing.
    genuine = hmac.compare_digest(mac, _mac(secret, head, nonce or b""))
    return subscriber_id if genuine and nonce is not None else None


def _read_legacy(secret: bytes, token: str) -> int | None:
    if not _LEGACY.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != token:
        return None  # the same bytes with other trailing bits: not the spelling that was sent
    payload, mac = raw[:8], raw[8:]
    expected = _keyed(secret, _LEGACY_DOMAIN).copy()
    expected.update(payload)
    if not hmac.compare_digest(mac, expected.digest()[:_MAC_BYTES]):
        return None
    return int.from_bytes(payload, "big")


def erasure_hash(key: bytes, email_key: str) -> str:
    """A keyed hash of an address: recognises an erased address without holding it."""
    return hmac.new(key, email_key.encode("utf-8"), hashlib.sha256).hexdigest()
