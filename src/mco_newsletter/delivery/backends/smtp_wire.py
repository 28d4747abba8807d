"""SMTP transactions on an open connection: MAIL, RCPT and DATA pipelined (RFC 2920) when the server
offers PIPELINING, each message's body sent together with the next message's commands, replies read
through one buffer.

smtplib opens the connection (TLS, EHLO, login); messages then go through a Session on its socket:
smtplib makes a round trip per command, reads replies line by line through a file object and checks
every address with the email parser, which together cost more than the 40 KB message itself.
Messages come dot-stuffed once per edition (`wire_edition`), so a reader's copy is sent as filled.

Exactly once: a message's body goes out only after the server said 354 to its DATA, and after the
previous message on the connection was answered (`Listener.transmitting` is told just before): at any
moment, at most one message per connection may have been taken without its answer having arrived.

A refused transaction is reset (RSET) before the next one. Pipelined, a message's answer comes after the
next message's commands went out, so an RSET goes between every body and the next MAIL: Postfix keeps a
transaction open after its end-of-data restrictions refuse a message, and would answer the next MAIL
"503 nested MAIL" (and the next DATA 354, into the refused transaction).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import socket
from collections.abc import Callable
from typing import NamedTuple, Protocol

from ..message import PreparedEdition, personal_message
from .protocol import Recipient
from .smtp_replies import AT_DATA, AT_END, AT_RCPT, Reply

CRLF = b"\r\n"
END = b".\r\n"
MAX_REPLY = 65536  # a reply longer than this is not SMTP
# What a path may hold between < and > (RFC 5321's Mailbox, and UTF-8 with SMTPUTF8): no spaces, no
# control characters, no brackets that would end it early.
_PATH = re.compile(r"[^\s<>\x00-\x1f\x7f]+@[^\s<>@\x00-\x1f\x7f]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class Outgoing(NamedTuple):
    """One reader's message, ready for the wire (dot-stuffed, CRLF line ends)."""

    recipient: Recipient
    message: bytes


class SenderRefused(Exception):
    """The server refused MAIL FROM: nothing can be sent on this connection."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.code} {reply.text}")
        self.reply = reply


class ConnectionLost(Exception):
    """The connection broke, or the server closed it (`reply`: its 421); `unanswered` is the reader whose
    message went out without its answer arriving (it may have been taken), if any."""

    def __init__(self, reason: str, unanswered: Recipient | None = None, reply: Reply | None = None) -> None:
        super().__init__(reason)
        self.unanswered = unanswered
        self.reply = reply


class Listener(Protocol):
    """What the session tells about each reader, in the order it learns it."""

    def transmitting(self, recipient: Recipient) -> None: ...

    def accepted(self, recipient: Recipient) -> None: ...

    def answered(self, recipient: Recipient, reply: Reply, stage: str) -> None:
        """A refusal of the reader's RCPT, of their DATA command or of their message (`stage`: AT_RCPT, AT_DATA
        or AT_END). May raise to end the session (the connection is then closed, not reused)."""


def dot_stuffed(data: bytes) -> bytes:
    """A line that starts with a dot gets a second one (RFC 5321 4.5.2)."""
    data = data.replace(b"\r\n.", b"\r\n..")
    return b"." + data if data.startswith(b".") else data


def wire_edition(edition: PreparedEdition) -> PreparedEdition:
    """The edition with its shared bytes dot-stuffed once. What fill() adds per reader never starts a line
    with a dot: header lines start with their name or a space, and a token that takes the tag's place is
    letters, digits, - and _ (base64 slots stand on lines of their own, in the base64 alphabet)."""
    template = edition.template
    pieces, line_start = [], True  # the per-reader headers before the pieces end with CRLF
    for piece in template.pieces:
        if isinstance(piece, bytes):
            piece = dot_stuffed(piece) if line_start else piece.replace(b"\r\n.", b"\r\n..")
            line_start = piece.endswith(CRLF)
        else:
            line_start = piece.base64  # a base64 slot is whole lines
        pieces.append(piece)
    return dataclasses.replace(
        edition, template=dataclasses.replace(template, head=dot_stuffed(template.head), pieces=tuple(pieces))
    )


def wire_message(
    wire: PreparedEdition, edition: PreparedEdition, recipient: Recipient, at: dt.datetime | None
) -> bytes:
    """One reader's message as it goes on the wire; `wire` is wire_edition(edition)."""
    token = recipient.token
    if len(token) == len(edition.tag) and _TOKEN.fullmatch(token):  # the token takes the tag's place
        message = personal_message(wire, recipient.email, token, at)
    else:  # the body is encoded afresh for this reader: stuff all of it
        message = dot_stuffed(personal_message(edition, recipient.email, token, at))
    return message if message.endswith(CRLF) else message + CRLF


def path(address: str) -> bytes:
    """An address as a MAIL or RCPT path; ValueError for one that cannot be written there."""
    if not _PATH.fullmatch(address):
        raise ValueError(f"{address!r} cannot be written as an SMTP path")
    return f"<{address}>".encode()


class Session:
    """Messages over one open connection; `sock` is the connection's socket after EHLO (and login)."""

    def __init__(
        self, sock: socket.socket, *, sender: str, pipelining: bool, smtputf8: bool, size_limit: int = 0
    ) -> None:
        self.sock = sock
        self.sender = sender
        self.pipelining = pipelining
        self.smtputf8 = smtputf8
        self.size_limit = size_limit  # the largest message the server takes (its EHLO's SIZE), 0: not said
        self.mail = b"MAIL FROM:" + path(sender)
        self.mail_utf8 = self.mail + b" SMTPUTF8"
        self.ascii_sender = sender.isascii()
        self.buffer = bytearray()
        self.reset = False  # a refusal left a transaction open: the next one starts with RSET

    def cannot_carry(self, address: str) -> str | None:
        """Why this server cannot take the address, or None when it can."""
        if not (self.smtputf8 or (address.isascii() and self.ascii_sender)):
            return "the server cannot take a non-ASCII address (no SMTPUTF8)"
        if not _PATH.fullmatch(address):
            return f"{address!r} cannot be written as an SMTP path"
        return None

    def send(
        self,
        next_message: Callable[[], Outgoing | None],
        listener: Listener,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        """Send messages until next_message() returns None, telling the listener about each reader.

        Every address comes checked with cannot_carry(). Raises SenderRefused or ConnectionLost when the
        connection cannot go on. Without pipelining, a message taken from next_message() waits for the answer
        to the one before it: when stopped() says so by then, it is not sent (nothing is reported of its reader).
        """
        item = next_message()
        carried: list[bytes] = []  # the previous message's body, to go with the next commands
        previous: Recipient | None = None
        while item is not None:
            if previous is not None and not self.pipelining:
                self._round(carried, previous, [], listener)
                carried, previous = [], None
                if stopped():
                    return
            utf8 = not (item.recipient.email.isascii() and self.ascii_sender)
            mail_from = self.mail_utf8 if utf8 else self.mail
            if item.recipient.return_path:  # VERP: the tool made it of the bounce address and a token (ASCII)
                mail_from = (
                    b"MAIL FROM:<" + item.recipient.return_path.encode("ascii") + (b"> SMTPUTF8" if utf8 else b">")
                )
            commands = [mail_from, b"RCPT TO:" + path(item.recipient.email), b"DATA"]
            replies: list[Reply | None] = [*self._round(carried, previous, commands, listener)]
            mail, rcpt, data = replies + [None] * (3 - len(replies))  # one by one, they stop at a refusal
            carried, previous = [], None
            assert mail is not None, "MAIL is always answered"
            self._closing(mail)
            if mail.code != 250:
                raise SenderRefused(mail)
            assert rcpt is not None, "RCPT is answered once MAIL is taken"
            refused = rcpt if rcpt.code not in (250, 251) else data if data is not None and data.code != 354 else None
            if refused is not None:
                self._closing(refused)
                if data is not None and data.code == 354:  # a server that takes DATA without a recipient
                    self._round([], None, [b"."], listener)  # ends that empty message; its answer is moot
                self.reset = True
                listener.answered(item.recipient, refused, AT_RCPT if refused is rcpt else AT_DATA)
                item = next_message()
                continue
            # 354: from here on the server may take this message: it is noted before its body goes.
            listener.transmitting(item.recipient)
            carried, previous = [item.message, END], item.recipient
            item = next_message()
        if previous is not None:
            self._round(carried, previous, [], listener)

    def _round(
        self, carried: list[bytes], previous: Recipient | None, commands: list[bytes], listener: Listener
    ) -> list[Reply]:
        """Write the carried body and the commands (in one write when pipelining, with an RSET between them),
        settle the previous message with its answer, and return the commands' replies. Without pipelining,
        commands go one at a time (after an RSET when the transaction before was refused) and stop at the
        first refusal."""
        pipelined = self.pipelining or not commands
        reset = pipelined and bool(commands) and (self.reset or previous is not None)
        try:
            if pipelined:
                self.sock.sendall(
                    b"".join([*carried, *(command + CRLF for command in ([b"RSET"] if reset else []) + commands)])
                )
            elif carried:
                self.sock.sendall(b"".join(carried))
            if previous is not None:
                answer = self._reply()
                settled, previous = previous, None  # answered, whatever comes next
                if answer.code == 250:
                    listener.accepted(settled)
                else:
                    self._closing(answer)
                    self.reset = True
                    listener.answered(settled, answer, AT_END)
            if not pipelined and self.reset:
                self.sock.sendall(b"RSET" + CRLF)
                reset = True
            if reset:
                answer = self._reply()
                if answer.code != 250:
                    self._closing(answer)
                    raise ConnectionLost(f"the server refused RSET: {answer.code} {answer.text}")
                self.reset = False
            if pipelined:
                return [self._reply() for _ in commands]
            replies = []
            for command in commands:
                self.sock.sendall(command + CRLF)
                replies.append(self._reply())
                if replies[-1].code >= 400:
                    break
            return replies
        except (OSError, ValueError) as exc:
            raise ConnectionLost(reason(exc), unanswered=previous) from None

    def _reply(self) -> Reply:
        """The next reply, all its lines read."""
        buffer = self.buffer
        lines = []
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > MAX_REPLY:
                    raise ValueError("the server's reply is too long")
                chunk = self.sock.recv(MAX_REPLY)
                if not chunk:
                    raise ConnectionResetError("the server closed the connection")
                buffer += chunk
                continue
            line = bytes(buffer[:end]).rstrip(b"\r")
            del buffer[: end + 1]
            lines.append(line)
            if line[3:4] != b"-":
                break
        code = line[:3]
        if not code.isdigit() or len(code) != 3:
            raise ValueError(f"the server's reply is not SMTP: {line[:40]!r}")
        return Reply(int(code), b" ".join(part[4:] for part in lines).decode("utf-8", "replace").strip())

    @staticmethod
    def _closing(reply: Reply) -> None:
        if reply.code == 421:  # the server is closing the connection: nothing more is answered
            raise ConnectionLost(f"the server closed the connection: {reply.code} {reply.text}", reply=reply)

    def quit(self) -> None:
        self.sock.sendall(b"QUIT\r\n")
        self._reply()


def reason(exc: BaseException) -> str:
    """What went wrong, in words (an OSError's own text rather than its number)."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
