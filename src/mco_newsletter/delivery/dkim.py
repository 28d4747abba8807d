"""DKIM signatures (RFC 6376, rsa-sha256, relaxed/relaxed) on every message the tool sends itself (smtp, and the
outbox, which holds what SMTP would carry), made with dkimpy and signed by OpenSSL (cryptography).

Each reader's copy differs from the edition only in its headers and the token in its links (the unsubscribe
and preferences links, in the text part near its start and in the HTML footer), so the body differs per
reader and is hashed per reader, but it is not canonicalized per reader: the shared pieces are canonicalized
once per edition (EditionSigner), and the SHA-256 state up to the first token is kept and copied. Relaxed
canonicalization of a whole 46 KB body costs more than hashing it a hundred times (bench/dkim_sign.py).
dkimpy's sign() takes a whole message and canonicalizes its body itself. Signer.header does what dkimpy's
gen_header() does with a body hash already made (dkimpy's own header selection, canonicalization and folding),
but for the RSA signature: dkimpy computes it in Python (8 ms), OpenSSL through cryptography in 0.4 ms
(bench/dkim_sign.py, bench/RESULTS.md).
"""

from __future__ import annotations

import base64
import hashlib
import time

from dkim.canonicalization import CanonicalizationPolicy

from ..render.mime import CRLF, MessageTemplate, Slot
from .dkim_keys import DkimSettings, load_key

RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")

# What a reader sees and acts on, and the MIME headers that say how to read the body.
SIGNED = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
    b"content-language",
    b"feedback-id",
)
# Signed once more than they occur: a second From, To, Subject or unsubscribe header added on the way
# breaks the signature instead of being shown in its place.
OVERSIGNED = (b"from", b"to", b"subject", b"reply-to", b"list-unsubscribe", b"list-unsubscribe-post")
NAME = b"DKIM-Signature"


class Signer:
    """The organisation's key, read and parsed once per send."""

    def __init__(self, dkim: DkimSettings) -> None:
        self.settings = dkim
        self.key = load_key(dkim)
        self.domain = dkim.domain.encode("ascii")
        self.selector = dkim.selector.encode("ascii")

    def for_edition(self, template: MessageTemplate) -> EditionSigner:
        return EditionSigner(self, template)

    def header(self, head: bytes, body_hash: bytes) -> bytes:
        """The DKIM-Signature header line (CRLF-terminated) for these headers and body hash.

        dkimpy reads, selects and canonicalizes the headers and folds the field (what DKIM.gen_header does); the
        RSA signature is OpenSSL's, through cryptography: a twentieth of the time of dkimpy's own, in Python.
        """
        import dkim
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
        from cryptography.hazmat.primitives.hashes import SHA256

        signer = dkim.DKIM(head + CRLF, linesep=CRLF)
        present = {name.lower() for name, _ in signer.headers}
        include = [name for name in SIGNED if name in present] + [name for name in OVERSIGNED if name in present]
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", b"relaxed/relaxed"),
            (b"d", self.domain),
            (b"q", b"dns/txt"),
            (b"s", self.selector),
            (b"t", str(int(time.time())).encode("ascii")),
            (b"h", b" : ".join(include)),
            (b"bh", body_hash),
            # b= folds onto a line of its own, so that the signature's own length changes nothing above it
            (b"b", b"0" * 60),
        ]
        value = dkim.RE_BTAG.sub(
            b"\\1", dkim.fold(b"; ".join(b"=".join(field) for field in fields), namelen=len(NAME), linesep=CRLF)
        )
        digest = hashlib.sha256()
        dkim.hash_headers(
            digest, RELAXED, RELAXED.canonicalize_headers(signer.headers), include, (NAME, b" " + value), dict(fields)
        )
        signature = self.key.sign(digest.digest(), PKCS1v15(), Prehashed(SHA256()))
        fields[-1] = (b"b", base64.b64encode(signature))
        return (
            NAME
            + b": "
            + dkim.fold(b"; ".join(b"=".join(field) for field in fields) + CRLF, namelen=len(NAME), linesep=CRLF)
        )


class EditionSigner:
    """Signs each reader's copy of one edition: the body's shared bytes canonicalized once, only hashed per reader.

    Relaxed canonicalization touches whitespace only, and a token's slot holds none: the token itself
    (quoted-printable) or a whole base64 line. So each shared piece canonicalizes the same on its own as
    inside the body, and a reader's canonical body is the shared pieces' canonical forms with their slots
    filled in, of which the part before the first slot is hashed once.
    """

    def __init__(self, signer: Signer, template: MessageTemplate) -> None:
        self.signer = signer
        self.template = template
        # The pieces start with the blank line that ends the headers; the body is what follows it.
        pieces = [template.pieces[0][len(CRLF) :], *template.pieces[1:]]
        last = pieces[-1]
        # The end of the body drops its empty lines; when the last piece is nothing but those, the rule would
        # reach into the pieces before it: such a body is hashed whole (no edition ends that way).
        self.whole = not isinstance(last, bytes) or not last.strip()
        canonical = [_relaxed_lines(piece) if isinstance(piece, bytes) else piece for piece in pieces]
        if not self.whole:
            canonical[-1] = _relaxed_body(last)
        first = next((i for i, piece in enumerate(canonical) if isinstance(piece, Slot)), len(canonical))
        self.state = hashlib.sha256(b"".join(canonical[:first]))
        self.rest = tuple(canonical[first:])

    def signed(self, message: bytes, token: str) -> bytes:
        """The message with its DKIM-Signature on top; `message` is template.fill()'s for this token."""
        head, _, body = message.partition(CRLF + CRLF)
        return self.signer.header(head + CRLF, self.body_hash(body, token)) + message

    def body_hash(self, body: bytes, token: str) -> bytes:
        """bh=: the SHA-256 of the canonical body, in base64."""
        if self.template.takes_in_place(token) and not self.whole:
            tag, new = self.template.tag.encode("ascii"), token.encode("ascii")
            digest = self.state.copy()
            for piece in self.rest:
                digest.update(piece.encode(tag, new) if isinstance(piece, Slot) else piece)
        else:  # the body was encoded afresh for this reader: canonicalize and hash all of it
            digest = hashlib.sha256(_relaxed_body(body))
        return base64.b64encode(digest.digest())


def _relaxed_lines(data: bytes) -> bytes:
    """Relaxed body canonicalization of whole lines that are not the body's end (RFC 6376 3.4.4 a and b)."""
    from dkim.canonicalization import compress_whitespace, strip_trailing_whitespace

    return compress_whitespace(strip_trailing_whitespace(data))


def _relaxed_body(data: bytes) -> bytes:
    """Relaxed canonicalization of the body's end, empty lines at the end dropped (3.4.4 c)."""
    from dkim.canonicalization import Relaxed

    return Relaxed.canonicalize_body(data)
