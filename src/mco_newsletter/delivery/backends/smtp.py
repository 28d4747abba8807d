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
from ..retry import TransientError
from ..settings import SmtpSettings
from . import Accepted, Failed, Recipient

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
        # Rows accepted are recorded one by one, so a large batch does not widen the crash window: at most
        # one message per connection can be in flight when the process dies.
        self.batch_size = 1000
        self.user = os.environ.get(USER_ENV)
        self.password = os.environ.get(PASSWORD_ENV)
        if bool(self.user) != bool(self.password):
            raise NewsletterError(f"set both {USER_ENV} and {PASSWORD_ENV}, or neither")
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
            raise NewsletterError(f"the SMTP server {settings.host} refused the login",
                                  hint=f"check {USER_ENV} and {PASSWORD_ENV}") from None
        except (smtplib.SMTPException, *CONNECTION_ERRORS) as exc:
            raise TransientError(f"cannot connect to {settings.host}:{settings.port}: {exc}") from None
        return client

    def _login(self, client: smtplib.SMTP) -> None:
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
             accepted: Accepted, failed: Failed) -> None:
        at = dt.datetime.now(dt.timezone.utc)
        work: SimpleQueue[Recipient] = SimpleQueue()
        for recipient in recipients:
            work.put(recipient)
        workers = min(self.settings.connections, len(recipients))
        results = [self.pool.submit(self._drain, edition, work, at, accepted, failed) for _ in range(workers)]
        errors = [exc for exc in (future.exception() for future in results) if exc is not None]
        for error in errors:
            if not isinstance(error, TransientError):
                raise error
        if errors:
            raise errors[0]

    def _drain(self, edition, work, at, accepted: Accepted, failed: Failed) -> None:
        client = self._take()
        try:
            while True:
                try:
                    recipient = work.get_nowait()
                except Empty:
                    break
                message = personal_message(edition, recipient.email, recipient.token, at)
                self.rate.wait()
                try:
                    transmit(client, edition.sender_address, recipient.email, message)
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reason = next(iter(exc.recipients.values()))
                    if code >= 500:
                        failed(recipient.row_id, f"refused by the server: {code} {_text(reason)}")
                        continue
                    raise TransientError(f"{code} {_text(reason)}") from None
                except smtplib.SMTPNotSupportedError as exc:
                    failed(recipient.row_id, str(exc))
                    continue
                except smtplib.SMTPResponseException as exc:
                    if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPSenderRefused):
                        failed(recipient.row_id, f"refused by the server: {exc.smtp_code} {_text(exc.smtp_error)}")
                        continue
                    self._discard(client)
                    client = None
                    raise TransientError(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
                except CONNECTION_ERRORS as exc:
                    self._discard(client)
                    client = None
                    raise TransientError(f"connection to {self.settings.host} lost: {exc}") from None
                # One commit per message: a crash can repeat at most the messages in flight, one per connection.
                accepted([(recipient.row_id, None)])
        finally:
            if client is not None:
                self.idle.put(client)

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
