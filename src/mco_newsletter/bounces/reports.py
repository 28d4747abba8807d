"""One message of the bounce mailbox, read: what it reports (a bounce, a complaint, an unsubscribe request …) and
the tokens that may say whom it is about. Nothing here is trusted: processing.py checks each token.

- A bounce is recognised by flufl.bounce (RFC 3464 delivery status notifications and the formats older mail
  servers write), which also tells failed recipients from delayed ones. A DSN's own Status and Diagnostic-Code
  fields then tell a dead address (hard) from a full mailbox or a message that expired in the queue (soft) and
  from a refusal of the sender or the message (a block), with the same meaning smtp_replies.py gives a
  server's immediate answer at RCPT: a bounce that arrives later means what it would have meant at once.
- A feedback-loop complaint is an ARF report (RFC 5965): a message/feedback-report part with Feedback-Type
  abuse (read with the email package).
- Anything else sent to a reader's mailto unsubscribe address is their request to leave.

The tokens: the address the message was delivered to (Delivered-To, X-Original-To, To …) is the return path of
the message it reports on (VERP); an ARF report names it in Original-Mail-From; and the reader's link tokens
travel in the List-Unsubscribe header of the returned message, when one is enclosed.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from ..delivery.backends.smtp_replies import AT_RCPT, LATER, READER, Reply, meaning
from ..delivery.return_path import DELIVERY, ReturnPaths

HARD, SOFT, BLOCKED, DELAYED = "hard", "soft", "blocked", "delayed"
COMPLAINT, REQUEST, OTHER, UNREADABLE = "complaint", "unsubscribe", "other", "unreadable"
# Where a delivered message says which address it was delivered to (the first is the mail system's own).
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-delivered-to", "to", "cc")
COMPLAINT_TYPES = ("abuse", "fraud")  # RFC 5965: not-spam, virus, other and auth-failure are not complaints
_STATUS = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})")
_DIAGNOSTIC = re.compile(r"\s*smtp\s*;\s*([245]\d\d)[ -]?(.*)", re.IGNORECASE | re.DOTALL)
_READER_TOKENS = (
    re.compile(r"/u/([a-z2-7]{40}|[A-Za-z0-9_-]{35,36})>"),  # the one-click link
    re.compile(r"subject=unsubscribe%20([a-z2-7]{40}|[A-Za-z0-9_-]{35,36})\b"),
)  # mailto to reply_to
# flufl.bounce logs a detector's exception with its traceback; without a handler Python would print it.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())
_SUBJECT_TOKEN = re.compile(r"\s*unsubscribe\s+([a-z2-7]{40}|[A-Za-z0-9_-]{35,36})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """What one message reports (`kind`) and the tokens it carries: return paths (deliveries) and link tokens
    (readers), in the order they are to be believed."""

    kind: str
    deliveries: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()
    detail: str = ""  # the status or feedback type, for a person reading the counts


def read_message(raw: bytes, *, paths: ReturnPaths) -> Reading:
    """What the message reports; UNREADABLE when it is not a message at all (or a parser gives up on it)."""
    try:
        message = email.message_from_bytes(raw)
        if not raw.strip() or not message.keys():
            return Reading(UNREADABLE)
        return _read(message, paths)
    except Exception:  # noqa: BLE001 — a message no parser can read is kept and counted, whatever the reason
        return Reading(UNREADABLE)


def _read(message: Message, paths: ReturnPaths) -> Reading:
    delivered, requests = _addressed(_addresses(message, ENVELOPE_HEADERS), paths)
    feedback = _part(message, "message/feedback-report")
    if feedback is not None:
        fields = _fields(feedback)
        kind = COMPLAINT if fields.get("feedback-type", "").strip().lower() in COMPLAINT_TYPES else OTHER
        named, _ = _addressed(_addresses(fields, ("original-mail-from",)), paths)
        enclosed = _enclosed(message)
        returned, readers = _addressed(_addresses(enclosed, ("return-path",)), paths) if enclosed else ((), ())
        return Reading(
            kind,
            named + returned + delivered,
            readers + _link_tokens(enclosed, paths),
            fields.get("feedback-type", "").strip().lower(),
        )
    if requests and message.get_content_type() != "multipart/report":
        return Reading(REQUEST, (), requests)  # a mail client wrote to the reader's mailto unsubscribe address
    delayed, failed = _failures(message)
    enclosed = _enclosed(message)
    if failed or delayed:
        kind, detail = _bounce_kind(message, bool(failed))
        return Reading(kind, delivered, _link_tokens(enclosed, paths), detail)
    statuses = _status_blocks(message)
    if statuses:  # a DSN that reports a delivery, a relay or an expansion: nothing failed
        action = (statuses[0].get("action") or "").strip().lower()
        return Reading(OTHER, delivered, _link_tokens(enclosed, paths), action)
    subject = _SUBJECT_TOKEN.match(str(message.get("subject", "")))
    if subject:  # a request written to the reply-to address before [bounces], forwarded here
        return Reading(REQUEST, (), (subject.group(1),))
    return Reading(OTHER, delivered)  # an auto-reply to a return path, a person's message …


def _failures(message: Message) -> tuple[frozenset, frozenset]:
    """flufl.bounce's (delayed, failed) recipients; none when one of its detectors trips over the message (its
    heuristics index into bodies they expect: an empty one raises)."""
    from flufl.bounce import all_failures  # about 40 ms to import: only a run that reads mail pays for it

    try:
        return all_failures(message)
    except Exception:  # noqa: BLE001 — a detector's bug is not the message's: the email package still reads it
        return frozenset(), frozenset()


def _bounce_kind(message: Message, failed: bool) -> tuple[str, str]:
    """HARD, SOFT or BLOCKED for a failure (by the DSN's Status and Diagnostic-Code; HARD when the bounce is not a
    DSN), DELAYED for a delay; and the status it was read from."""
    if not failed:
        return DELAYED, ""
    blocks = [
        block
        for block in _status_blocks(message)
        if (block.get("action") or "").strip().lower().startswith(("fail", "error"))
    ]
    if not blocks:
        return HARD, ""  # flufl.bounce read a failure in a format that gives no status: an unknown address
    status = _STATUS.match(str(blocks[0].get("status", "")))
    diagnostic = _DIAGNOSTIC.match(" ".join(str(blocks[0].get("diagnostic-code", "")).split()))
    code = tuple(int(part) for part in status.groups()) if status else None
    shown = ".".join(map(str, code)) if code else ""
    if code and (code[0] == 4 or code[1] != 0):
        reply = Reply(code[0] * 100 + 50, shown)  # the status decides: as a server's answer carrying it would
    elif diagnostic:
        reply = Reply(int(diagnostic.group(1)), diagnostic.group(2))
    else:
        reply = Reply(550, shown)  # x.0.0 or none: an undefined permanent failure, as a bare 550
    verdict = meaning(reply, AT_RCPT)
    return (HARD if verdict == READER else SOFT if verdict == LATER else BLOCKED), shown or str(reply.code)


def _status_blocks(message: Message) -> list[Message]:
    """The per-recipient field blocks of every message/delivery-status part."""
    blocks = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status" and part.is_multipart():
            # The per-message fields come first; a block is a recipient's when it has an Action.
            blocks += [block for block in part.get_payload() if isinstance(block, Message) and block.get("action")]
    return blocks


def _part(message: Message, content_type: str) -> Message | None:
    return next((part for part in message.walk() if part.get_content_type() == content_type), None)


def _fields(part: Message) -> Message:
    """The header fields a message/* part holds (parsed as a message by the email package, or still text)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return HeaderParser().parsestr(payload if isinstance(payload, str) else "")


def _enclosed(message: Message) -> Message | None:
    """The headers of the returned or reported message (message/rfc822 or text/rfc822-headers), if enclosed."""
    for part in message.walk():
        if part is message:
            continue
        if part.get_content_type() == "message/rfc822":
            return _fields(part)
        if part.get_content_type() == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            return HeaderParser().parsestr(text.decode("utf-8", "replace") if isinstance(text, bytes) else "")
    return None


def _addresses(message: Message | None, names) -> list[str]:
    if message is None:
        return []
    values = [str(value) for name in names for value in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _addressed(addresses: list[str], paths: ReturnPaths) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The delivery tokens and the reader tokens of those addresses that are the bounce mailbox's, in order."""
    deliveries: list[str] = []
    readers: list[str] = []
    for address in addresses:
        found = paths.read(address)
        if found is not None:
            (deliveries if found.kind == DELIVERY else readers).append(found.token)
    return tuple(dict.fromkeys(deliveries)), tuple(dict.fromkeys(readers))


def _link_tokens(enclosed: Message | None, paths: ReturnPaths) -> tuple[str, ...]:
    """The reader's link tokens in an enclosed message's List-Unsubscribe header (the https and mailto forms)."""
    if enclosed is None:
        return ()
    value = " ".join(str(value) for value in enclosed.get_all("list-unsubscribe", []))
    tokens = [token for pattern in _READER_TOKENS for token in pattern.findall(value)]
    _, mailto = _addressed(re.findall(r"<mailto:([^?>\s]+)", value), paths)
    return tuple(dict.fromkeys([*mailto, *tokens]))
