"""The SMTP backend: smtplib over STARTTLS or TLS, connections kept open and shared out over threads."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from queue import Empty, SimpleQueue

from ...errors import NewsletterError
from ..message import PreparedEdition, personal_message
from ..retry import PermanentError, TransientError
from ..settings import SmtpSettings, is_loopback
from . import Recipient, Report

USER_ENV = "MCO_NEWSLETTER_SMTP_USER"
PASSWORD_ENV = "MCO_NEWSLETTER_SMTP_PASSWORD"
CONNECTION_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, ConnectionError,
                     OSError)


def transmit(client: smtplib.SMTP, sender: str, recipient: str, message: bytes) -> None:
    """MAIL, RCPT, DATA for one message that already has CRLF line ends (smtplib.sendmail would run two
    regular expressions over every 45 KB message to make sure; dot-stuffing is all that is left to do)."""
    options = []
    if not (sender.isascii() and recipient.isascii()):
        if not client.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the server cannot take a non-ASCII address (no SMTPUTF8)")
        options = ["SMTPUTF8"]
    code, reply = client.mail(sender, options)
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = client.rcpt(recipient)
    if code not in (250, 251):
        client.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = client.docmd("DATA")
    if code != 354:
        client.rset()
        raise smtplib.SMTPDataError(code, reply)
    client.send(message.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    code, reply = client.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class RateLimit:
    """At most `per_second` messages per second over all connections (0: no limit)."""

    def __init__(self, per_second: float):
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

    def __init__(self, settings: SmtpSettings):
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
                hint='set [smtp] security = "starttls" or "tls" (cleartext login is allowed to this machine only)')
        self.idle: SimpleQueue[smtplib.SMTP] = SimpleQueue()
        self.rate = RateLimit(settings.messages_per_second)
        self.pool = ThreadPoolExecutor(max_workers=settings.connections, thread_name_prefix="smtp")

    def connect(self) -> smtplib.SMTP:
        settings = self.settings
        try:
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
                if settings.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
            client.ehlo_or_helo_if_needed()
            if self.user:
                self._login(client)
        except smtplib.SMTPAuthenticationError:
            raise PermanentError(f"the SMTP server {settings.host} refused the login",
                                 hint=f"check {USER_ENV} and {PASSWORD_ENV}; nothing was sent") from None
        except (smtplib.SMTPException, *CONNECTION_ERRORS) as exc:
            raise TransientError(f"cannot connect to {settings.host}:{settings.port}: {_reason(exc)}") from None
        return client

    def _login(self, client: smtplib.SMTP) -> None:
        if self.settings.security == "none" and not is_loopback(self.settings.host):
            raise NewsletterError(f"refusing to log in to {self.settings.host} without TLS")
        # PLAIN (inside TLS) when offered, and only PLAIN: smtplib.login() would go on to try the other
        # mechanisms after a refusal, and some servers answer a second attempt by going silent.
        if "plain" in client.esmtp_features.get("auth", "").lower().split():
            client.user, client.password = self.user, self.password
            code, reply = client.auth("PLAIN", client.auth_plain)
            if code not in (235, 503):
                raise smtplib.SMTPAuthenticationError(code, reply)
        else:
            client.login(self.user, self.password)

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int,
             report: Report) -> None:
        at = dt.datetime.now(dt.timezone.utc)
        work: SimpleQueue[Recipient] = SimpleQueue()
        for recipient in recipients:
            work.put(recipient)
        workers = min(self.settings.connections, len(recipients))
        results = [self.pool.submit(self._drain, edition, work, at, report) for _ in range(workers)]
        errors = [exc for exc in (future.exception() for future in results) if exc is not None]
        for error in errors:
            if not isinstance(error, TransientError):
                raise error
        if errors:
            raise TransientError(str(errors[0]), errors[0].retry_after,
                                 unanswered=frozenset().union(*(error.unanswered for error in errors)))

    def _drain(self, edition, work, at, report: Report) -> None:
        client = None
        try:
            client = self._take()
            while not report.stop.is_set():
                try:
                    recipient = work.get_nowait()
                except Empty:
                    break
                message = personal_message(edition, recipient.email, recipient.token, at)
                self.rate.wait()
                if report.stop.is_set():
                    break
                # A crash can repeat at most the messages in flight, one per connection: each is
                # noted before it goes and committed as sent as soon as the server took it.
                report.transmitting(recipient)
                try:
                    transmit(client, edition.sender_address, recipient.email, message)
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reason = next(iter(exc.recipients.values()))
                    self._answer(report, recipient, code, reason)
                    continue
                except smtplib.SMTPNotSupportedError as exc:
                    # The address is fine; this server cannot carry it. Final for this campaign, not a bounce.
                    report.refused(recipient.row_id, str(exc), bounce=False)
                    continue
                except smtplib.SMTPSenderRefused as exc:
                    self._discard(client)
                    client = None
                    text = f"the server refused the sender address: {exc.smtp_code} {_text(exc.smtp_error)}"
                    if exc.smtp_code >= 500:
                        raise PermanentError(text, hint="check [sender] address and what the relay allows") from None
                    raise TransientError(text) from None
                except smtplib.SMTPDataError as exc:
                    self._answer(report, recipient, exc.smtp_code, exc.smtp_error)
                    continue
                except (smtplib.SMTPResponseException, *CONNECTION_ERRORS) as exc:
                    self._discard(client)
                    client = None
                    # The message may have been taken just before the connection broke.
                    raise TransientError(f"connection to {self.settings.host} lost: {_reason(exc)}",
                                         unanswered=(recipient.row_id,)) from None
                report.accepted([(recipient.row_id, None)])
        finally:
            if client is not None:
                self.idle.put(client)

    @staticmethod
    def _answer(report: Report, recipient: Recipient, code: int, reason) -> None:
        """The server's word on one reader: 5xx refuses the address for good, 4xx for now."""
        text = f"{code} {_text(reason)}"
        if code >= 500:
            report.refused(recipient.row_id, f"refused by the server: {text}")
        else:
            report.deferred(recipient.row_id, f"deferred by the server: {text}")

    def _take(self) -> smtplib.SMTP:
        try:
            return self.idle.get_nowait()
        except Empty:
            return self.connect()

    @staticmethod
    def _discard(client) -> None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 — closing a broken connection may fail in many ways
            pass

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        while True:
            try:
                client = self.idle.get_nowait()
            except Empty:
                break
            try:
                client.quit()
            except (smtplib.SMTPException, *CONNECTION_ERRORS):
                client.close()


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
