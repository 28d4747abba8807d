"""The webhook's signature check against an independent implementation: keys and signatures made by `cryptography`."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from mco_newsletter.delivery.webhook_signature import KeyProblem, load_public_key, public_key_problem, verify

BODY = b'[{"sg_event_id": "e1", "event": "bounce", "email": "anna@example.org", "note": "\xc3\xa9t\xc3\xa9"}]'
STAMP = "1700000000"


def der_of(private) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


def signed(private, timestamp: str, body: bytes) -> str:
    return base64.b64encode(private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


@pytest.fixture(scope="module")
def private():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def key(private):
    return load_public_key(base64.b64encode(der_of(private)).decode())


def test_a_signature_made_by_cryptography_verifies(private, key):
    """A P-256/SHA-256 signature of timestamp + body verifies; any other body, timestamp or key does not."""
    signature = signed(private, STAMP, BODY)
    assert verify(key, BODY, signature, STAMP) is True
    assert verify(key, BODY.replace(b"anna", b"anne"), signature, STAMP) is False
    assert verify(key, BODY, signature, "1700000001") is False
    assert verify(key, BODY, signed(ec.generate_private_key(ec.SECP256R1()), STAMP, BODY), STAMP) is False


def test_the_key_may_come_as_a_pem_block(private):
    """The same key pasted as a PEM block (with its line breaks) loads and verifies."""
    pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert verify(load_public_key(f"\n{pem}\n"), BODY, signed(private, STAMP, BODY), STAMP) is True


P256_DER = der_of(ec.generate_private_key(ec.SECP256R1()))


@pytest.mark.parametrize("der,problem", [
    (der_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "not an ECDSA P-256 key"),
    (der_of(ec.generate_private_key(ec.SECP256K1())), "not an ECDSA P-256 key"),
    (der_of(ec.generate_private_key(ec.SECP384R1())), "not an ECDSA P-256 key"),
    (der_of(ed25519.Ed25519PrivateKey.generate()), "not an ECDSA P-256 key"),
    (P256_DER[:27], "not a public key (base64 of its DER form)"),
    (P256_DER[:-1] + bytes([P256_DER[-1] ^ 1]), "not a P-256 public key: its point is not on the curve"),
    (P256_DER + b"\x00", "not a public key (base64 of its DER form)"),
    (b"not a key", "not a public key (base64 of its DER form)"),
], ids=["rsa", "secp256k1", "p384", "ed25519", "truncated", "off_the_curve", "bytes_left_over", "text"])
def test_a_key_that_is_not_sendgrids_kind_is_named(der, problem):
    """RSA, other curves, cut or altered keys: each is refused with a reason, never an exception."""
    text = base64.b64encode(der).decode()
    assert public_key_problem(text).startswith(problem)
    with pytest.raises(KeyProblem):
        load_public_key(text)


@pytest.mark.parametrize("text,problem", [
    ("MFkw EwYH\x00", "not base64 text"),
    ("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n", "a PEM block without its"),
])
def test_key_text_that_is_not_base64(text, problem):
    """Text that is not base64, or a PEM block cut before its END line, is named as such."""
    assert public_key_problem(text).startswith(problem)


@pytest.mark.parametrize("signature", [
    "MAYCAQACAQA=",  # r = s = 0: the "psychic signature" that Java once accepted for any message
    "MAYCAQECAQE=",  # r = s = 1
    "", "====", "bm90IGEgc2lnbmF0dXJl", "MEUCIQ" + "A" * 90,
])
def test_degenerate_signatures_verify_nothing(key, signature):
    """Zero, tiny, empty, padding-only, non-DER and truncated signatures are simply not valid."""
    assert verify(key, BODY, signature, STAMP) is False


def test_non_canonical_der_is_refused(private, key):
    """The same r and s in a longer DER form (a padded length) are refused: one signature, one spelling."""
    der = base64.b64decode(signed(private, STAMP, BODY))
    padded = bytes([0x30, 0x81, der[1]]) + der[2:]
    assert verify(key, BODY, base64.b64encode(padded).decode(), STAMP) is False


@settings(max_examples=150, deadline=None)
@given(signature=st.one_of(st.text(max_size=120), st.binary(max_size=90).map(lambda b: base64.b64encode(b).decode()),
                           st.binary(min_size=8, max_size=72).map(lambda b: base64.b64encode(b"\x30" + bytes([len(b)])
                                                                                             + b).decode())),
       body=st.binary(max_size=200), timestamp=st.text(max_size=14))
def test_whatever_arrives_never_raises(key, signature, body, timestamp):
    """Any signature text, body bytes (UTF-8 or not) and timestamp give False, never an exception."""
    assert verify(key, body, signature, timestamp) is False
