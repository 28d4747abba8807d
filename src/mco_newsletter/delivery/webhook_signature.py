"""SendGrid's event webhook signature: ECDSA on P-256 with SHA-256 over the timestamp followed by the body.

The verification key is what SendGrid's Mail Settings → Event Webhook shows: base64 of the key's DER
SubjectPublicKeyInfo (a PEM block of the same is taken too); the signature header is base64 of a DER
ECDSA signature. The arithmetic is starkbank-ecdsa's, pure Python (the library SendGrid's own SDK used
for this until 6.11): 4–8 ms a check, one check per batch of up to thousands of events, and 0.1 MB
installed where cryptography takes 17. Whatever is malformed (key, signature, body) means "not signed
by SendGrid" and never an exception past verify().
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # starkbank-ecdsa is imported by what checks a signature
    from ellipticcurve.publicKey import PublicKey

EC_PUBLIC_KEY = (1, 2, 840, 10045, 2, 1)
P256 = (1, 2, 840, 10045, 3, 1, 7)  # also called prime256v1 and secp256r1
PEM_BEGIN, PEM_END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


class KeyProblem(ValueError):
    """A verification key that cannot be used; the message says why."""


def load_public_key(text: str) -> PublicKey:
    """SendGrid's verification key, ready for verify(); KeyProblem when it is not a P-256 public key."""
    from ellipticcurve.publicKey import PublicKey
    from ellipticcurve.utils.binary import hexFromByteString
    from ellipticcurve.utils.der import parse

    der = _der_of(text)
    try:  # a SubjectPublicKeyInfo is SEQUENCE { SEQUENCE { algorithm, parameters }, BIT STRING }
        algorithm = parse(hexFromByteString(der))[0][0]
    except Exception:  # noqa: BLE001 — the DER parser raises bare Exception, IndexError, ValueError …
        raise KeyProblem("not a public key (base64 of its DER form)") from None
    if not isinstance(algorithm, list) or not algorithm or not isinstance(algorithm[0], tuple):
        raise KeyProblem("not a public key (base64 of its DER form)")
    if algorithm != [EC_PUBLIC_KEY, P256]:
        raise KeyProblem("not an ECDSA P-256 key (SendGrid signs with P-256)")
    try:
        key = PublicKey.fromDer(der)  # checks that the point is on the curve and of the curve's order
        canonical = key.toDer() == der
    except Exception:  # noqa: BLE001 — as above
        canonical = False
    if not canonical:
        raise KeyProblem("not a P-256 public key: its point is not on the curve, or bytes are missing or left over")
    return key


def public_key_problem(text: str) -> str | None:
    """Why a webhook verification key cannot be used, or None."""
    try:
        load_public_key(text)
    except KeyProblem as exc:
        return str(exc)
    return None


def verify(key: PublicKey, body: bytes, signature: str, timestamp: str) -> bool:
    """True only when `signature` (base64 DER) is `key`'s signature of the timestamp followed by the body."""
    from ellipticcurve.ecdsa import Ecdsa
    from ellipticcurve.signature import Signature

    try:
        # SendGrid signs text: a body that is not UTF-8 was not signed by it (its SDK decodes it, too).
        message = timestamp + body.decode("utf-8")
        return Ecdsa.verify(message, Signature.fromBase64(signature), key) is True
    except Exception:  # noqa: BLE001 — malformed base64 or DER raise anything: all mean "not signed by SendGrid"
        return False


def _der_of(text: str) -> bytes:
    """The key's DER bytes from its base64 (one line, or the body of a PEM block)."""
    body = text.strip()
    if body.startswith(PEM_BEGIN):
        lines = body.splitlines()
        if lines[-1].strip() != PEM_END:
            raise KeyProblem(f"a PEM block without its {PEM_END} line")
        body = "".join(line.strip() for line in lines[1:-1])
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("not base64 text") from None
