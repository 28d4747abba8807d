"""The complete RFC 5322 message of an edition: multipart/alternative, text first, then HTML.

Assembled directly (headers folded by email.header, bodies quoted-printable by binascii) rather
than through EmailMessage: the same bytes, parsed back by the email package in the tests. A
MessageTemplate encodes everything readers share once per edition; each reader's copy then only
fills in To, Date, Message-ID, the List-Unsubscribe header and the unsubscribe token.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

CRLF = b"\r\n"
_QP_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class MessageTemplate:
    """An edition's message with a placeholder `tag` where each reader's token goes."""

    head: bytes  # the shared headers, ending with Content-Type (and its CRLF)
    body: bytes  # the encoded parts, from the blank line after the headers to the closing boundary
    tag: str
    domain: str
    text: str  # the bodies before encoding, for readers whose token does not fit the fast path
    html: str
    boundary: str

    def fill(self, *, to: str, token: str, list_unsubscribe: str, now: dt.datetime | None = None) -> bytes:
        """One reader's message: their address, their token, their unsubscribe header."""
        head = b"".join((
            b"To: ", to.encode("utf-8"), CRLF,  # raw UTF-8 for an internationalized address (RFC 6532)
            b"Date: ", _date(now or dt.datetime.now(dt.timezone.utc)), CRLF,
            b"Message-ID: ", make_msgid(domain=self.domain).encode("ascii"), CRLF,
            # "<https…>, <mailto…>": one address per line, so no header line grows past the URL itself.
            b"List-Unsubscribe: ", list_unsubscribe.replace(", ", ",\r\n ").encode("ascii"), CRLF,
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        ))
        if not self.tag:
            return self.head + head + self.body
        # Same length, same safe characters: the token takes the tag's place in the encoded bytes
        # (quoted_printable() keeps the tag whole); anything else is encoded afresh.
        if len(token) == len(self.tag) and _QP_SAFE.fullmatch(token):
            return self.head + head + self.body.replace(self.tag.encode("ascii"), token.encode("ascii"))
        body = _bodies(self.text.replace(self.tag, token), self.html.replace(self.tag, token), self.boundary)
        return self.head + head + body


@lru_cache(maxsize=4)
def _date(moment: dt.datetime) -> bytes:
    # A batch shares one timestamp: format it once.
    return format_datetime(moment).encode("ascii")


def message_template(*, subject: str, text: str, html: str, language: str, sender_name: str, sender_address: str,
                     reply_to: str, list_id: str, tag: str) -> MessageTemplate:
    """Encode what every reader's copy of an edition shares."""
    # "=_" never occurs in quoted-printable output, so the boundary cannot collide with a body.
    boundary = "=_" + secrets.token_hex(16)
    head = b"".join(fold(name, value) for name, value in (
        ("Subject", subject),
        ("From", (sender_name, sender_address)),
        ("Reply-To", reply_to),
        ("Content-Language", language),
        ("List-Id", (sender_name, list_id)),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ))
    return MessageTemplate(head, _bodies(text, html, boundary, tag), tag, sender_address.rpartition("@")[2], text,
                           html, boundary)


def build_message(*, subject: str, text: str, html: str, language: str, sender_name: str,
                  sender_address: str, reply_to: str, to: str, unsubscribe_url: str,
                  unsubscribe_mailto: str, list_id: str, now: dt.datetime | None = None) -> bytes:
    """One complete message (no placeholder): the template filled in at once."""
    template = message_template(subject=subject, text=text, html=html, language=language, sender_name=sender_name,
                                sender_address=sender_address, reply_to=reply_to, list_id=list_id, tag="")
    return template.fill(to=to, token="", list_unsubscribe=f"<{unsubscribe_url}>, <{unsubscribe_mailto}>", now=now)


def _bodies(text: str, html: str, boundary: str, tag: str = "") -> bytes:
    parts = [CRLF]
    for subtype, body in (("plain", text), ("html", html)):
        parts += [b"--", boundary.encode(), CRLF,
                  f'Content-Type: text/{subtype}; charset="utf-8"'.encode(), CRLF,
                  b"Content-Transfer-Encoding: quoted-printable", CRLF, CRLF,
                  quoted_printable(body, keep_whole=tag), CRLF]
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
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}\r\n".encode("ascii")  # nothing to fold or encode
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
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def quoted_printable(body: str, keep_whole: str = "") -> bytes:
    """A text body as quoted-printable with CRLF line ends, every line within 76 characters.

    Each occurrence of `keep_whole` is put on an encoded line of its own between soft line breaks
    (which decode to nothing), so that it can later be replaced in the encoded bytes.
    """
    if keep_whole:
        separator = b"=\r\n" + keep_whole.encode("ascii") + b"=\r\n"
        return separator.join(quoted_printable(part) for part in body.split(keep_whole))
    lines = body.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(lines, quotetabs=False, istext=True, header=False).replace(b"\n", CRLF)
