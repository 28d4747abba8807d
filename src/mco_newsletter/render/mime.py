"""The complete RFC 5322 message of an edition: multipart/alternative, text first, then HTML (with its pictures).

Assembled directly (headers folded by email.header, bodies encoded by binascii) rather than through
EmailMessage: the same bytes, parsed back by the email package in the tests. A MessageTemplate
encodes everything readers share once per edition; each reader's copy then only fills in To, Date,
Message-ID, the List-Unsubscribe header and the unsubscribe token.

Each text part takes the shorter of quoted-printable and base64 (a Russian body is a sixth smaller in
base64). The token goes into the encoded bytes either way: in quoted-printable the placeholder tag
stands on an encoded line of its own; in base64 the few bytes that share its 3-byte groups are kept
raw and only they are encoded for each reader.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache

from ..errors import NewsletterError

CRLF = b"\r\n"
_QP_SAFE = re.compile(r"[A-Za-z0-9_-]+")
# Unicode's control characters (category Cc): C0, DEL and C1.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,80}")
# Bulk mail says so: auto-responders (out-of-office replies) stay silent instead of writing to reply_to.
BULK_HEADERS = (("Precedence", "bulk"), ("X-Auto-Response-Suppress", "OOF, AutoReply"))


@dataclass(frozen=True)
class Slot:
    """Where a reader's token goes in an encoded part: the raw bytes encoded per reader (base64),
    or the tag itself (quoted-printable, where the token replaces it as is)."""

    raw: bytes
    base64: bool

    def encode(self, tag: bytes, token: bytes) -> bytes:
        if not self.base64:
            return token
        return binascii.b2a_base64(self.raw.replace(tag, token), newline=False) + CRLF


@dataclass(frozen=True)
class MessageTemplate:
    """An edition's message with a placeholder `tag` where each reader's token goes."""

    head: bytes  # the shared headers, ending with Content-Type (and its CRLF)
    pieces: tuple  # the encoded body: shared bytes, and a Slot wherever the tag stands
    tag: str
    domain: str
    text: str  # the bodies before encoding, for readers whose token does not fit the fast path
    html: str
    boundary: str
    pictures: tuple = ()
    feedback_id: str = ""  # also for backends that build the message themselves (SendGrid's headers)

    @property
    def body(self) -> bytes:
        """The encoded body with the placeholder tag in it."""
        tag = self.tag.encode("ascii")
        return b"".join(p.encode(tag, tag) if isinstance(p, Slot) else p for p in self.pieces)

    def takes_in_place(self, token: str) -> bool:
        """True when the token takes the tag's place in the encoded bytes (same length, same safe characters);
        any other token has the bodies encoded afresh."""
        return bool(self.tag) and len(token) == len(self.tag) and _QP_SAFE.fullmatch(token) is not None

    def fill(self, *, to: str, token: str, list_unsubscribe: str | None, now: dt.datetime | None = None) -> bytes:
        """One reader's message: their address, their token, their unsubscribe header (None: a message
        to one person that is not the newsletter, such as a sign-up's confirmation, has none)."""
        for name, value in (("To", to), ("List-Unsubscribe", list_unsubscribe or "")):
            check_header_value(name, value)
        parts = [
            # In angle brackets: a bare address beside HTML and a picture is a spam sign (SpamAssassin's
            # TO_NO_BRKTS_HTML_IMG). Raw UTF-8 for an internationalized address (RFC 6532).
            b"To: <",
            to.encode("utf-8"),
            b">",
            CRLF,
            b"Date: ",
            _date(now or dt.datetime.now(dt.UTC)),
            CRLF,
            b"Message-ID: ",
            make_msgid(domain=self.domain).encode("ascii"),
            CRLF,
        ]
        if list_unsubscribe is not None:
            # "<https…>, <mailto…>": one address per line, so no header line grows past the URL itself.
            parts += [
                b"List-Unsubscribe: ",
                list_unsubscribe.replace(", ", ",\r\n ").encode("ascii"),
                CRLF,
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            ]
        head = b"".join(parts)
        if not self.tag:
            return self.head + head + b"".join(self.pieces)
        if self.takes_in_place(token):
            tag, new = self.tag.encode("ascii"), token.encode("ascii")
            return self.head + head + b"".join(p.encode(tag, new) if isinstance(p, Slot) else p for p in self.pieces)
        pieces = _bodies(
            self.text.replace(self.tag, token), self.html.replace(self.tag, token), self.boundary, self.pictures
        )
        return self.head + head + b"".join(pieces)


@lru_cache(maxsize=4)
def _date(moment: dt.datetime) -> bytes:
    # A batch shares one timestamp: format it once.
    return format_datetime(moment).encode("ascii")


def message_template(
    *,
    subject: str,
    text: str,
    html: str,
    language: str,
    sender_name: str,
    sender_address: str,
    reply_to: str,
    list_id: str,
    tag: str,
    pictures: tuple = (),
    feedback_id: str = "",
    bulk: bool = True,
) -> MessageTemplate:
    """Encode what every reader's copy of an edition shares; `pictures` (ShownPicture) travel inside it.
    bulk=False: a message to one person (a sign-up's confirmation), without the list's headers."""
    # "=_" never occurs in quoted-printable or base64 output, so the boundary cannot collide with a body.
    boundary = "=_" + secrets.token_hex(16)
    headers: list[tuple[str, str | tuple[str, str]]] = [
        ("Subject", subject),
        ("From", (sender_name, sender_address)),
        ("Reply-To", reply_to),
        ("Content-Language", language),
    ]
    if bulk:
        headers += [("List-Id", (sender_name, list_id)), *BULK_HEADERS]
    if feedback_id:
        headers.append(("Feedback-ID", feedback_id))
    headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    head = b"".join(fold(name, value) for name, value in headers)
    return MessageTemplate(
        head,
        tuple(_bodies(text, html, boundary, tuple(pictures), tag)),
        tag,
        sender_address.rpartition("@")[2],
        text,
        html,
        boundary,
        tuple(pictures),
        feedback_id,
    )


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    language: str,
    sender_name: str,
    sender_address: str,
    reply_to: str,
    to: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    list_id: str,
    now: dt.datetime | None = None,
    pictures: tuple = (),
    feedback_id: str = "",
) -> bytes:
    """One complete message (no placeholder): the template filled in at once."""
    template = message_template(
        subject=subject,
        text=text,
        html=html,
        language=language,
        sender_name=sender_name,
        sender_address=sender_address,
        reply_to=reply_to,
        list_id=list_id,
        tag="",
        pictures=pictures,
        feedback_id=feedback_id,
    )
    return template.fill(to=to, token="", list_unsubscribe=f"<{unsubscribe_url}>, <{unsubscribe_mailto}>", now=now)


def _bodies(text: str, html: str, boundary: str, pictures: tuple = (), tag: str = "") -> list:
    """The encoded parts after the headers: text, then HTML (inside multipart/related with its pictures)."""
    pieces: list = [CRLF]
    mark = b"--" + boundary.encode()
    pieces += [mark, CRLF, *_text_part("plain", text, tag)]
    if pictures:
        related = "=_r" + secrets.token_hex(15)
        inner = b"--" + related.encode()
        pieces += [
            mark,
            CRLF,
            f'Content-Type: multipart/related; type="text/html";\r\n boundary="{related}"'.encode(),
            CRLF,
            CRLF,
            inner,
            CRLF,
            *_text_part("html", html, tag),
        ]
        for number, picture in enumerate(pictures, 1):
            pieces += [inner, CRLF, *_picture_part(picture, number)]
        pieces += [inner, b"--", CRLF]
    else:
        pieces += [mark, CRLF, *_text_part("html", html, tag)]
    pieces += [mark, b"--", CRLF]
    return _merged(pieces)


_ASCII = bytes(range(128))


def _text_part(subtype: str, body: str, tag: str) -> list:
    raw = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    # base64: 4 characters per 3 bytes, and CRLF after every 76 characters and at the end.
    base64_characters = (len(raw) + 2) // 3 * 4
    base64_length = base64_characters + 2 * -(-base64_characters // 76)
    # Quoted-printable writes every byte past ASCII as three: when that alone is longer than base64 (Cyrillic
    # text), base64 it is, without encoding the body twice.
    longer = len(raw) + 2 * len(raw.translate(None, _ASCII)) > base64_length
    qp = None if longer else quoted_printable(body, keep_whole=tag)
    use_base64 = qp is None or base64_length < len(qp)
    encoding = "base64" if use_base64 else "quoted-printable"
    pieces: list = [
        f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
        CRLF,
        f"Content-Transfer-Encoding: {encoding}".encode(),
        CRLF,
        CRLF,
    ]
    if qp is None or use_base64:
        pieces += _base64_pieces(raw, tag.encode("ascii"))
    elif tag:
        encoded_tag = tag.encode("ascii")
        for number, chunk in enumerate(qp.split(encoded_tag)):
            if number:
                pieces.append(Slot(encoded_tag, False))
            pieces.append(chunk)
        pieces.append(CRLF)
    else:
        pieces += [qp, CRLF]
    return pieces


def _base64_pieces(raw: bytes, tag: bytes) -> list:
    """raw as base64 lines, every tag in a Slot that starts and ends on a 3-byte group of its own."""
    pieces: list = []
    start = 0
    at = raw.find(tag) if tag else -1
    while at >= 0:
        window_start = at - at % 3
        window_end = min(len(raw), -(-(at + len(tag)) // 3) * 3)
        following = raw.find(tag, at + 1)
        while 0 <= following < window_end:  # tags that share a group share a slot
            window_end = min(len(raw), -(-(following + len(tag)) // 3) * 3)
            following = raw.find(tag, following + 1)
        if window_start > start:
            pieces.append(base64.encodebytes(raw[start:window_start]).replace(b"\n", CRLF))
        pieces.append(Slot(raw[window_start:window_end], True))
        start, at = window_end, following
    if start < len(raw):
        pieces.append(base64.encodebytes(raw[start:]).replace(b"\n", CRLF))
    return pieces


def _picture_part(picture, number: int) -> list:
    suffix = "." + picture.mime_type.rpartition("/")[2].replace("jpeg", "jpg")
    name = picture.name if _SAFE_FILENAME.fullmatch(picture.name) else f"picture-{number}{suffix}"
    return [
        f'Content-Type: {picture.mime_type}; name="{name}"'.encode("ascii"),
        CRLF,
        b"Content-Transfer-Encoding: base64",
        CRLF,
        f"Content-ID: <{picture.cid}>".encode("ascii"),
        CRLF,
        f'Content-Disposition: inline; filename="{name}"'.encode("ascii"),
        CRLF,
        CRLF,
        base64.encodebytes(picture.data).replace(b"\n", CRLF),
    ]


def _merged(pieces: list) -> list:
    """Neighbouring bytes joined, so that filling a reader's copy joins a handful of pieces."""
    merged: list = []
    for piece in pieces:
        if isinstance(piece, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def check_header_value(name: str, value: str) -> None:
    """Refuse a header value with a line break or another control character: it would forge headers."""
    bad = _CONTROL.search(value)
    if bad is not None:
        raise NewsletterError(
            f"the {name} header cannot hold the control character {bad.group()!r}: {value!r}",
            hint="remove line breaks and control characters from the setting or title it "
            "comes from (`mco-newsletter check` names them)",
        )


def fold(name: str, value: str | tuple[str, str]) -> bytes:
    """One header line, RFC 2047-encoded when not ASCII and folded to 78 columns.

    A (display name, address) pair becomes an address header whose name alone is encoded. Text that
    looks like an encoded-word ("=?utf-8?q?…?=") is encoded too, so mail clients show it as written.
    """
    for part in value if isinstance(value, tuple) else (value,):
        check_header_value(name, part)
    if isinstance(value, tuple):
        display, address = value
        if display.isascii() and "=?" not in display:
            value = formataddr((display, address))
        else:
            words = "\r\n ".join(encoded_words(display))
            return f"{name}: {words}\r\n <{address}>\r\n".encode("ascii")
    literal = value.isascii() and "=?" not in value
    if literal and len(name) + len(value) < 76:
        return f"{name}: {value}\r\n".encode("ascii")  # nothing to fold or encode
    encoded = Header(value, "us-ascii" if literal else "utf-8", header_name=name).encode(linesep="\r\n")
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
