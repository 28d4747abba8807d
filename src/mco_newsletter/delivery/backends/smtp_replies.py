"""What an SMTP server's refusal means for a send: is it about the reader, the message, or the pace?

- about the reader's address, for good (an unknown or disabled mailbox): the reader is refused and marked bounced;
- about the reader, for now (a full mailbox, greylisting): they are tried again later, the others go on;
- about the pace (421, or an enhanced code 4.7.x such as "450 4.7.1 rate limited"): the send waits as a
  rate limit asks, then goes on;
- about the message or its sender (its size, its content, a policy: 552, 554 at the end of the data,
  5.2.x, 5.3.x, 5.6.x, 5.7.x): every reader would get the same answer, so the campaign stops and the
  readers stay pending. Marking them bounced would unsubscribe the whole list for the campaign's fault.

RFC 3463's enhanced status code decides when the server gives one (Postfix, Exim and the large relays
do); otherwise the basic code and the moment it came: at RCPT only 550, 551 and 553 name the address.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..retry import PermanentError

READER = "reader"
LATER = "later"
SLOW_DOWN = "slow down"
MESSAGE = "message"

# The moments a refusal can come: the reader's RCPT, the DATA command, the end of the message's data.
AT_RCPT, AT_DATA, AT_END = "rcpt", "data", "end"

SIZE_HINT = (
    "make the edition smaller (fewer or smaller pictures) or raise the server's limit (Postfix: "
    "message_size_limit), then run the same command again"
)
RATE_LIMIT_WAIT = 60.0  # a typical rate-limit window, when the server does not say how long
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
_WAIT = re.compile(r"(\d{1,5})\s*(s|sec|secs|seconds?|m|min|mins|minutes?)\b", re.IGNORECASE)


class Reply(NamedTuple):
    code: int
    text: str


class Throttled(Exception):
    """The server asks to slow down (421, 4.7.x): this connection stops; the send waits before going on."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"the server asks to slow down: {reply.code} {reply.text}")
        self.reply = reply


def enhanced(reply: Reply) -> tuple[int, int, int] | None:
    """The reply's enhanced status code (class, subject, detail), when it starts the text and agrees with the
    basic code's class."""
    found = _ENHANCED.match(reply.text)
    if not found or int(found.group(1)) != reply.code // 100:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def meaning(reply: Reply, stage: str) -> str:
    """READER, LATER, SLOW_DOWN or MESSAGE for a refusal (4xx or 5xx) at `stage` (AT_RCPT, AT_DATA, AT_END)."""
    code = enhanced(reply)
    if asks_to_slow_down(reply):
        return SLOW_DOWN
    if reply.code < 500:
        return LATER
    if code and code[1] == 1:  # addressing: the mailbox does not exist, the address is bad
        return READER
    if code and code[1] == 2:
        # 5.2.1 the mailbox is disabled (Gmail's closed accounts): about that reader alone, at any stage, since
        # each message has one recipient; stopping the campaign for it would stop every campaign of a large
        # list. 5.2.2 a full mailbox: it may empty. The rest (5.2.3 the message's size) is the message's.
        return READER if code[2] == 1 else LATER if code[2] == 2 else MESSAGE
    if code and code[1] in (3, 5, 6, 7):  # the system, the protocol, the content, a policy
        return MESSAGE
    # No enhanced code that decides (none, 5.0.x, or routing 5.4.x: a relay that cannot route would say it
    # for every reader): only RCPT's "no such mailbox" answers name the address.
    if stage == AT_RCPT:
        if reply.code in (550, 551, 553):
            return READER
        return LATER if reply.code == 552 else MESSAGE  # 552 at RCPT: storage, as a full mailbox
    return MESSAGE


def asks_to_slow_down(reply: Reply) -> bool:
    """421 (the server closes the connection: overloaded, too many connections) or 4.7.x (a rate limit)."""
    code = enhanced(reply)
    return reply.code == 421 or (code is not None and code[:2] == (4, 7))


def about_size(reply: Reply) -> bool:
    """True when the refusal says the message is too big."""
    code = enhanced(reply)
    return (reply.code == 552 and code is None) or code in ((5, 2, 3), (5, 3, 4))


def asked_wait(reply: Reply) -> float:
    """Seconds to wait before trying again after a SLOW_DOWN answer: the time the server states ("try again in
    5 minutes"), otherwise a typical rate-limit window."""
    found = _WAIT.search(reply.text)
    if not found:
        return RATE_LIMIT_WAIT
    return float(found.group(1)) * (60 if found.group(2).lower().startswith("m") else 1)


def message_refused(reply: Reply) -> PermanentError:
    """The campaign's problem, not the reader's: every reader would get the same answer."""
    if about_size(reply):
        hint = SIZE_HINT
    elif (enhanced(reply) or (0, 0))[1] == 7:
        hint = (
            "a policy of the server refused it (its log names the rule): check what the relay allows this "
            "sender and content, then run the same command again"
        )
    else:
        hint = "the server's log says why; fix that, then run the same command again"
    return PermanentError(
        f"the SMTP server refused the message itself, not a reader: {reply.code} {reply.text}; "
        "nobody was marked bounced, and the readers not sent stay pending",
        hint=hint,
    )
