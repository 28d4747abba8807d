"""The SMTP backend: connections opened by smtplib (STARTTLS or TLS, login), kept open across batches,
one sending thread each; the messages themselves go through smtp_wire (pipelined when offered).

What the server's refusals mean is smtp_replies' to say: a reader's address refused for good is that
reader's (refused, bounced), a refused message stops the campaign with every reader left pending, and a
rate limit is waited out. A certificate the system (or [smtp] ca_file) does not trust stops the send at
once: trying again cannot make it trustworthy."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, SimpleQueue
from typing import NamedTuple

from ...errors import NewsletterError
from ..message import PreparedEdition
from ..retry import PermanentError, TransientError
from ..settings import SmtpSettings, is_loopback
from .protocol import Recipient, Report
from .smtp_replies import (
    LATER,
    READER,
    SIZE_HINT,
    SLOW_DOWN,
    Reply,
    Throttled,
    asked_wait,
    asks_to_slow_down,
    meaning,
    message_refused,
)
from .smtp_wire import ConnectionLost, Outgoing, SenderRefused, Session, reason, wire_edition, wire_message

USER_ENV = "MCO_NEWSLETTER_SMTP_USER"
PASSWORD_ENV = "MCO_NEWSLETTER_SMTP_PASSWORD"
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, ConnectionError, OSError)


SAMPLE = Recipient(0, "a.reader.with.a.long.address@example.org", "")  # an edition's size: one reader's copy


def _text(error: bytes | str) -> str:
    return error.decode("utf-8", "replace") if isinstance(error, bytes) else error


class Connection(NamedTuple):
    """An open SMTP connection: smtplib's client (to close it) and the session that carries the messages."""

    client: smtplib.SMTP
    session: Session


class RateLimit:
    """At most `per_second` messages per second over all connections (0: no limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            at = max(self.next_at, time.monotonic())
            self.next_at = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class SmtpBackend:
    """Sends each reader's message over one of `connections` SMTP sessions, reused across batches."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        # Each batch is one transmission window (an erasure waits for it to end), so a batch lasts
        # about two seconds at most when a rate is set; without one, 1,000 messages take a fraction of that.
        rate = settings.messages_per_second
        self.batch_size = max(settings.connections, min(1000, int(rate * 2))) if rate > 0 else 1000
        self.user = os.environ.get(USER_ENV)
        self.password = os.environ.get(PASSWORD_ENV)
        if bool(self.user) != bool(self.password):
            raise NewsletterError(f"set both {USER_ENV} and {PASSWORD_ENV}, or neither")
        if self.user and settings.security == "none" and not is_loopback(settings.host):
            raise NewsletterError(
                f"refusing to send the SMTP password to {settings.host} over a connection without TLS",
                hint='set [smtp] security = "starttls" or "tls" (cleartext login is allowed to this machine only)',
            )
        self.idle: SimpleQueue[Connection] = SimpleQueue()
        self.expected: dict[str, int] = {}  # each edition's size on the wire, by language
        self.wired: dict[int, tuple[PreparedEdition, PreparedEdition]] = {}
        self.lock = threading.Lock()
        self.rate = RateLimit(settings.messages_per_second)
        self.pool = ThreadPoolExecutor(max_workers=settings.connections, thread_name_prefix="smtp")

    def expect(self, editions: Iterable[PreparedEdition]) -> None:
        """The editions this run may send: each connection checks them against the server's SIZE first."""
        at = dt.datetime.now(dt.UTC)
        self.expected = {
            edition.language: len(
                wire_message(self._wire(edition), edition, SAMPLE._replace(token="x" * len(edition.tag)), at)
            )
            for edition in editions
        }

    def connect(self, sender: str) -> Connection:
        """A new connection, greeted and logged in, ready to send as `sender`."""
        settings = self.settings
        client: smtplib.SMTP | None = None
        try:
            context = ssl.create_default_context(cafile=settings.ca_file)
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            assert client.sock is not None, "connected"
            # Without it, the end of each message waits for the server's delayed acknowledgement (Nagle's
            # algorithm): about 50 ms a message on one connection.
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if settings.security == "starttls":
                client.starttls(context=context)
            client.ehlo_or_helo_if_needed()
            if self.user:
                self._login(client)
        except ssl.SSLCertVerificationError as exc:
            self._discard(client)
            raise PermanentError(
                f"the SMTP server's certificate is not valid ({exc.verify_message or reason(exc)}): nothing was sent",
                hint="check [smtp] host; if the relay's certificate comes from your own authority, name its "
                "certificate in [smtp] ca_file (docs/sending.md); run send again once it verifies",
            ) from None
        except smtplib.SMTPAuthenticationError:
            self._discard(client)
            raise PermanentError(
                f"the SMTP server {settings.host} refused the login",
                hint=f"check {USER_ENV} and {PASSWORD_ENV}; nothing was sent",
            ) from None
        except (smtplib.SMTPException, *CONNECTION_ERRORS) as exc:
            self._discard(client)
            refusal = (
                Reply(exc.smtp_code, _text(exc.smtp_error)) if isinstance(exc, smtplib.SMTPResponseException) else None
            )
            wait = asked_wait(refusal) if refusal and asks_to_slow_down(refusal) else None
            raise TransientError(f"cannot connect to {settings.host}:{settings.port}: {reason(exc)}", wait) from None
        except BaseException:
            self._discard(client)
            raise
        assert client.sock is not None, "connected"
        size = client.esmtp_features.get("size", "")
        session = Session(
            client.sock,
            sender=sender,
            pipelining=client.has_extn("pipelining"),
            smtputf8=client.has_extn("smtputf8"),
            size_limit=int(size) if size.isdigit() else 0,
        )
        try:
            self._check_size(session.size_limit)
        except BaseException:
            self._discard(client)
            raise
        return Connection(client, session)

    def _check_size(self, limit: int) -> None:
        """Refuse before anything is sent when an edition is larger than the server takes."""
        for language, size in self.expected.items():
            if limit and size > limit:
                raise PermanentError(
                    f"the [{language}] edition is {size:,} bytes and the SMTP server takes at most "
                    f"{limit:,} (its SIZE): nothing was sent",
                    hint=SIZE_HINT,
                )

    def _login(self, client: smtplib.SMTP) -> None:
        if self.settings.security == "none" and not is_loopback(self.settings.host):
            raise NewsletterError(f"refusing to log in to {self.settings.host} without TLS")
        # PLAIN (inside TLS) when offered, and only PLAIN: smtplib.login() would go on to try the other
        # mechanisms after a refusal, and some servers answer a second attempt by going silent.
        if "plain" in client.esmtp_features.get("auth", "").lower().split():
            client.user, client.password = self.user or "", self.password or ""
            code, reply = client.auth("PLAIN", client.auth_plain)
            if code not in (235, 503):
                raise smtplib.SMTPAuthenticationError(code, reply)
        else:
            client.login(self.user or "", self.password or "")

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int, report: Report) -> None:
        at = dt.datetime.now(dt.UTC)
        work: SimpleQueue[Recipient] = SimpleQueue()
        for recipient in recipients:
            work.put(recipient)
        wire = self._wire(edition)
        halt = threading.Event()  # a refused message: the other connections start nothing new
        workers = min(self.settings.connections, len(recipients))
        results = [self.pool.submit(self._drain, edition, wire, work, at, report, halt) for _ in range(workers)]
        failures = [exc for exc in (future.exception() for future in results) if exc is not None]
        for failure in failures:
            if not isinstance(failure, TransientError):
                raise failure
        errors = [failure for failure in failures if isinstance(failure, TransientError)]
        if errors:
            waits = [error.retry_after for error in errors if error.retry_after is not None]
            raise TransientError(
                str(errors[0]),
                max(waits) if waits else None,
                unanswered=frozenset().union(*(error.unanswered for error in errors)),
            )

    def _wire(self, edition: PreparedEdition) -> PreparedEdition:
        """The edition dot-stuffed for the wire, made once per edition."""
        with self.lock:
            kept = self.wired.get(id(edition))
            if kept is None or kept[0] is not edition:
                kept = self.wired[id(edition)] = (edition, wire_edition(edition))
            return kept[1]

    def _drain(
        self,
        edition: PreparedEdition,
        wire: PreparedEdition,
        work: SimpleQueue,
        at,
        report: Report,
        halt: threading.Event,
    ) -> None:
        """Send from the shared queue over one connection until it is empty (or `stop`, or `halt`)."""
        connection = self._take(edition.envelope_sender)
        session = connection.session

        def next_message() -> Outgoing | None:
            while not (report.stop.is_set() or halt.is_set()):
                try:
                    recipient = work.get_nowait()
                except Empty:
                    return None
                problem = session.cannot_carry(recipient.email)
                if problem:  # the address is fine; this server cannot carry it: final for this campaign, not a bounce
                    report.refused(recipient.row_id, problem, bounce=False)
                    continue
                message = wire_message(wire, edition, recipient, at)
                if session.size_limit and len(message) > session.size_limit:
                    halt.set()
                    raise PermanentError(
                        f"the [{edition.language}] message to a reader is {len(message):,} bytes "
                        f"and the SMTP server takes at most {session.size_limit:,} (its SIZE): it "
                        "was not sent; the readers not sent stay pending",
                        hint=SIZE_HINT,
                    )
                return Outgoing(recipient, message)
            return None

        try:
            session.send(
                next_message, _Answers(report, self.rate, halt), stopped=lambda: report.stop.is_set() or halt.is_set()
            )
        except SenderRefused as exc:
            self._discard(connection.client)
            text = f"{exc.reply.code} {exc.reply.text}"
            if asks_to_slow_down(exc.reply):
                raise TransientError(f"the server asks to slow down: {text}", asked_wait(exc.reply)) from None
            if exc.reply.code >= 500:
                raise PermanentError(
                    f"the server refused the sender address: {text}",
                    hint="check [sender] address and what the relay allows",
                ) from None
            raise TransientError(f"the server refused the sender address for now: {text}") from None
        except Throttled as exc:
            self._discard(connection.client)
            raise TransientError(str(exc), asked_wait(exc.reply)) from None
        except ConnectionLost as exc:
            self._discard(connection.client)
            # A message whose answer never came may have been taken just before the connection broke.
            raise TransientError(
                f"connection to {self.settings.host} lost: {exc}",
                asked_wait(exc.reply) if exc.reply else None,
                unanswered=(exc.unanswered.row_id,) if exc.unanswered else (),
            ) from None
        except BaseException:
            self._discard(connection.client)
            raise
        self.idle.put(connection)

    def _take(self, sender: str) -> Connection:
        while True:
            try:
                connection = self.idle.get_nowait()
            except Empty:
                return self.connect(sender)
            if connection.session.sender == sender:
                return connection
            self._quit(connection)

    @staticmethod
    def _discard(client) -> None:
        if client is None:
            return
        try:
            client.close()
        except Exception:  # noqa: BLE001 — closing a broken connection may fail in many ways
            pass

    def _quit(self, connection: Connection) -> None:
        try:
            connection.session.quit()
        except (OSError, ValueError, ConnectionLost):
            pass
        self._discard(connection.client)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        while True:
            try:
                connection = self.idle.get_nowait()
            except Empty:
                break
            self._quit(connection)


class _Answers:
    """The session's word on each reader, passed on to the ledger's report; a refusal that is not about the
    reader ends the session (smtp_replies)."""

    def __init__(self, report: Report, rate: RateLimit, halt: threading.Event) -> None:
        self.report = report
        self.rate = rate
        self.halt = halt

    def transmitting(self, recipient: Recipient) -> None:
        # The rate counts messages as their bodies go out (the server has said 354 to this one).
        self.rate.wait()
        # A crash can repeat at most the messages in flight, one per connection: each is noted before
        # its body goes and committed as sent as soon as the server took it.
        self.report.transmitting(recipient)

    def accepted(self, recipient: Recipient) -> None:
        self.report.taken(recipient)

    def answered(self, recipient: Recipient, reply: Reply, stage: str) -> None:
        text = f"{reply.code} {reply.text}"
        verdict = meaning(reply, stage)
        if verdict == READER:
            self.report.refused(recipient.row_id, f"refused by the server: {text}")
        elif verdict == LATER:
            self.report.deferred(recipient.row_id, f"deferred by the server: {text}")
        elif verdict == SLOW_DOWN:
            raise Throttled(reply)
        else:
            self.halt.set()
            raise message_refused(reply)
