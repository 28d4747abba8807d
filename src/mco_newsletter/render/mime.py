"""The complete RFC 5322 message of an edition: multipart/alternative, text first, then HTML.

Assembled directly (headers folded by email.header, bodies quoted-printable by binascii) rather
than through EmailMessage: the same bytes, parsed back by the email package in the tests, at a
fraction of the cost, so that per-reader copies stay cheap when thousands are sent.
"""

from __future__ import annotations

import binascii
import datetime as dt
import secrets
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

CRLF = b"\r\n"


def build_message(*, subject: str, text: str, html: str, language: str, sender_name: str,
                  sender_address: str, reply_to: str, to: str, unsubscribe_url: str,
                  unsubscribe_mailto: str, list_id: str, now: dt.datetime | None = None) -> bytes:
    """The message as bytes ready to send; only To and the unsubscribe headers change per reader."""
    # "=_" never occurs in quoted-printable output, so the boundary cannot collide with a body.
    boundary = "=_" + secrets.token_hex(16)
    headers = [
        ("Subject", subject),
        ("From", (sender_name, sender_address)),
        ("Reply-To", reply_to),
        ("To", to),
        ("Date", format_datetime(now or dt.datetime.now(dt.timezone.utc))),
        ("Message-ID", make_msgid(domain=sender_address.rpartition("@")[2])),
        ("Content-Language", language),
        ("List-Id", (sender_name, list_id)),
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that works with one click.
        ("List-Unsubscribe", f"<{unsubscribe_url}>, <{unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    parts = [b"".join(fold(name, value) for name, value in headers), CRLF]
    for subtype, body in (("plain", text), ("html", html)):
        parts += [b"--", boundary.encode(), CRLF,
                  f'Content-Type: text/{subtype}; charset="utf-8"'.encode(), CRLF,
                  b"Content-Transfer-Encoding: quoted-printable", CRLF, CRLF,
                  quoted_printable(body), CRLF]
    parts += [b"--", boundary.encode(), b"--", CRLF]
    return b"".join(parts)


def fold(name: str, value: str | tuple[str, str]) -> bytes:
    """One header line, RFC 2047-encoded when not ASCII and folded to 78 columns.

    A (display name, address) pair becomes an address header whose name alone is encoded.
    """
    if isinstance(value, tuple):
        display, address = value
        if display.isascii():
            value = formataddr((display, address))
        else:
            words = "\r\n ".join(encoded_words(display))
            return f"{name}: {words}\r\n <{address}>\r\n".encode("ascii")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} must be one line")
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def encoded_words(text: str, limit: int = 75) -> list[str]:
    """RFC 2047 encoded-words that split only between words (some readers insert a space at a split)."""
    chunks: list[str] = []
    for word in text.split(" "):
        candidate = f"{chunks[-1]} {word}" if chunks else word
        if chunks and len(_b_word(candidate)) <= limit:
            chunks[-1] = candidate
        else:
            chunks.append(word)
    # A space at the end of every chunk but the last keeps the spaces, which decoders drop between words.
    return [_b_word(chunk + (" " if number < len(chunks) - 1 else "")) for number, chunk in enumerate(chunks)]


def _b_word(text: str) -> str:
    import base64

    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def quoted_printable(body: str) -> bytes:
    """A text body as quoted-printable with CRLF line ends, every line within 76 characters."""
    lines = body.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(lines, quotetabs=False, istext=True, header=False).replace(b"\n", CRLF)
