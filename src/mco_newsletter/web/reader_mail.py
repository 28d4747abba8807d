"""Emails to one reader at a time: a sign-up's confirmation, the notice to a reader already on the list, and
the subject-access record. A worker thread sends them through the configured backend (the outbox by default).

The page a sign-up answers never waits for a mail, nor takes longer because one is sent: whatever the
address's state, it answers at once. Each kind is rendered once per language from templates/mail/ with
a placeholder where the reader's token goes (the subject-access record, which is the person's own, is
rendered for them). A mailbox (the address without a +tag) gets at most one sign-up email and one record
an hour: the mail log notes each one as it is claimed, in the transaction that decides it (signups.claim_mail),
so replicas on one store never send one twice. A mail that could not be sent has its note taken back
(signups.unclaim_mail), so the person can simply ask again; the log names kinds and counts, never an address.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from itertools import pairwise
from queue import Empty, Full, Queue
from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape

from ..config import Settings
from ..delivery.backends.protocol import Recipient
from ..delivery.message import PreparedEdition, placeholder_tag
from ..subscribers.signups import ACCESS_MAIL, CONFIRM_MAIL, Mail, unclaim_mail
from ..subscribers.store import Store
from .desk import Desk
from .site import Site

log = logging.getLogger("mco_newsletter.web")
QUEUE_SIZE = 10_000
BATCH = 200
ATTEMPTS = 3
WRAP = 72  # the width the text templates' `wrap` filter wraps at
_URL = re.compile(r"(https?://\S+)")


def prepare_mail(settings: Settings, kind: str, language: str, **context: Any) -> PreparedEdition:
    """templates/mail/<kind>.txt.j2 in a language, as a message with a placeholder for the reader's token."""
    from ..render.locale import text_direction
    from ..render.mime import message_template
    from ..render.templates import environment_for

    tag = placeholder_tag()
    page = "confirm" if kind == CONFIRM_MAIL else "p"
    env = environment_for(settings.templates_dir, settings.locales_dir, language)
    module = env.get_template(f"mail/{kind}.txt.j2").make_module(
        dict(
            context,
            lang=language,
            name=settings.name_for(language),
            identity=settings.identity.of(language),
            link=f"{settings.base_url}/{page}/{tag}",
            reply_to=settings.sender.reply_to,
        )
    )
    subject = str(getattr(module, "subject"))  # noqa: B009 — the template's own {% set subject %}
    text = re.sub(r"\n{3,}", "\n\n", str(module).strip() + "\n")
    html = text_as_html(text, subject, language, text_direction(language))
    sender_name = settings.sender.name.of(language)
    list_id = urlsplit(settings.base_url).hostname or "newsletter"
    template = message_template(
        subject=subject,
        text=text,
        html=html,
        language=language,
        sender_name=sender_name,
        sender_address=settings.sender.address,
        reply_to=settings.sender.reply_to,
        list_id=list_id,
        tag=tag,
        bulk=False,
    )
    return PreparedEdition(
        issue_id=kind,
        language=language,
        subject=subject,
        html=html,
        text=text,
        tag=tag,
        sender_name=sender_name,
        sender_address=settings.sender.address,
        reply_to=settings.sender.reply_to,
        list_id=list_id,
        base_url=settings.base_url,
        template=template,
        bulk=False,
        bounce_address=settings.bounces.address if settings.bounces is not None else "",
    )


def text_as_html(text: str, title: str, language: str, direction: str) -> str:
    """The plain text as a plain HTML part: its paragraphs and line breaks, addresses as links. A line that
    ends only because the next word did not fit (the text's wrapping at WRAP columns) flows on."""

    def linked(line: str) -> str:
        return "".join(
            f'<a href="{escape(part)}">{escape(part)}</a>' if number % 2 else str(escape(part))
            for number, part in enumerate(_URL.split(line))
        )

    def flowed(paragraph: str) -> str:
        lines = paragraph.split("\n")
        out = linked(lines[0])
        for before, line in pairwise(lines):
            wrapped = line.strip() and len(before) + 1 + len(line.split()[0]) > WRAP
            out += (" " if wrapped else "<br>\n") + linked(line)
        return out

    paragraphs = "\n".join(f"<p>{flowed(p)}</p>" for p in re.split(r"\n\s*\n", text.strip()) if p.strip())
    return (
        f'<!doctype html>\n<html lang="{language}" dir="{direction}">\n<head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        '</head>\n<body style="margin:0 auto;padding:16px;max-width:560px;font:16px/1.5 sans-serif;'
        f'overflow-wrap:anywhere">\n{paragraphs}\n</body>\n</html>\n'
    )


class _Report:
    """What the backend tells about one group of mails (the Report protocol of delivery/backends)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.accepted_rows: set[int] = set()
        self.refused_rows = 0

    def starting(self, recipients: list[Recipient]) -> None:
        pass

    def transmitting(self, recipient: Recipient) -> None:
        pass

    def accepted(self, pairs: Sequence[tuple[int, str | None]]) -> None:
        self.accepted_rows.update(row for row, _ in pairs)

    def taken(self, recipient: Recipient) -> None:
        self.accepted_rows.add(recipient.row_id)  # the SMTP server took it

    def refused(self, row_id: int, error: str, *, bounce: bool = True) -> None:
        self.refused_rows += 1

    def deferred(self, row_id: int, error: str) -> None:
        pass


class ReaderMail:
    """The queue of emails to single readers and the thread that sends them."""

    def __init__(self, site: Site, desk: Desk) -> None:
        from ..delivery.backends import make_backend
        from ..delivery.campaign import signer_for
        from ..subscribers.store import open_reader

        self.site = site
        self.settings: Settings = site.settings
        self.desk = desk
        self.reading = open_reader(self.settings.store)  # this thread's own: it never waits for the desk
        self.backend = make_backend(self.settings.sending.backend, self.settings)  # a bad setting stops start-up
        # Mail from the organisation's domain is DKIM-signed as the digest is (a missing key stops start-up too).
        self.signer = signer_for(self.settings, self.settings.sending.backend)
        self.queue: Queue = Queue(maxsize=QUEUE_SIZE)
        self.editions: dict = {}
        self.thread = threading.Thread(target=self._run, name="reader-mail", daemon=True)
        self.thread.start()

    def submit(self, work: Callable[[Store], Mail | None]) -> Future:
        """Run work(store) at the desk (it claims the mail it returns in the mail log); once that is committed,
        queue the mail (the Future holds that Mail, or None). A commit that fails recorded and claimed nothing."""

        def committed(future: Future) -> None:
            if future.exception() is None and future.result() is not None:
                self._post(future.result())

        future = self.desk.submit(work)
        future.add_done_callback(committed)
        return future

    async def send_after(self, work: Callable[[Store], Mail | None]) -> Mail | None:
        """submit(work), waiting (without blocking the event loop) until the mail it returns is queued."""
        return await asyncio.wrap_future(self.submit(work))

    def _post(self, mail: Mail) -> None:
        try:
            self.queue.put_nowait(mail)
        except Full:  # dropped, its note taken back: the person may ask again
            log.warning("reader mail queue full: one %s email dropped", mail.kind)
            self.desk.submit(lambda store: unclaim_mail(store, [mail]))

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued mail is sent (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except Empty:
                    break
            try:
                sent = self._send(batch)
            except Exception as exc:  # noqa: BLE001 — the worker must outlive any one batch
                log.error("reader mail: %d emails not sent: %s", len(batch), type(exc).__name__)
                sent = []
            went = {id(mail) for mail in sent}
            unsent = [mail for mail in batch if id(mail) not in went]

            def done(store, unsent=unsent) -> None:
                unclaim_mail(store, unsent)

            self.desk.submit(done).add_done_callback(partial(self._done, len(batch)))

    def _done(self, count: int, _future: Future) -> None:
        for _ in range(count):
            self.queue.task_done()

    def _send(self, batch: list[Mail]) -> list[Mail]:
        ids = sorted({mail.subscriber_id for mail in batch})
        held = self.reading.emails_of(ids)  # an erasure since the request: that reader gets nothing
        batch = [mail for mail in batch if held.get(mail.subscriber_id) == mail.email]
        groups: dict = {}
        for mail in batch:
            key = (mail.kind, mail.language) if mail.kind != ACCESS_MAIL else (mail.kind, mail.subscriber_id)
            groups.setdefault(key, []).append(mail)
        sent = []
        for (kind, _), mails in groups.items():
            edition = self._access_edition(mails[0]) if kind == ACCESS_MAIL else self._edition(kind, mails[0].language)
            if edition is not None:
                sent += self._deliver(edition, mails)
        return sent

    def _edition(self, kind: str, language: str) -> PreparedEdition:
        """The kind's message in a language, made again when its words change, and each day for the date
        until which a confirmation link is valid."""
        from ..render.locale import format_date
        from ..render.theme import words_version

        cached = self.editions.get((kind, language))
        if cached is not None and time.monotonic() - cached[0] < 1.0:
            return cached[2]
        until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=self.settings.signup.confirm_days)).date()
        version = (words_version(self.settings.locales_dir, language), until)
        edition = (
            cached[2]
            if cached is not None and cached[1] == version
            else prepare_mail(self.settings, kind, language, valid_until=format_date(until, language))
        )
        self.editions[(kind, language)] = (time.monotonic(), version, edition)
        return edition

    def _access_edition(self, mail: Mail) -> PreparedEdition | None:
        from .reader_context import held_record, record_context

        record = held_record(self.reading, mail.subscriber_id)
        if record is None:
            return None
        return prepare_mail(
            self.settings, ACCESS_MAIL, mail.language, **record_context(self.settings, record, mail.language)
        )

    def _deliver(self, edition: PreparedEdition, mails: list[Mail]) -> list[Mail]:
        from ..delivery.retry import TransientError
        from ..email_addresses import ascii_address
        from ..errors import NewsletterError

        if self.signer is not None:
            edition = dataclasses.replace(edition, signer=self.signer.for_edition(edition.template))
        waiting = {number: mail for number, mail in enumerate(mails, 1)}
        sent: list[Mail] = []

        for attempt in range(ATTEMPTS):
            report = _Report()
            recipients = [Recipient(number, ascii_address(mail.email), mail.token) for number, mail in waiting.items()]
            try:
                self.backend.send(edition, recipients, campaign_id=0, report=report)
                error = None
            except TransientError as exc:
                error = exc
            except NewsletterError as exc:  # PermanentError among them: trying again will not help
                log.error(
                    "reader mail: %d %s emails not sent via %s: %s",
                    len(waiting),
                    edition.issue_id,
                    self.backend.name,
                    exc.message,
                )
                return sent
            sent += [waiting.pop(number) for number in report.accepted_rows if number in waiting]
            if report.refused_rows:
                log.warning("reader mail: the server refused %d %s emails", report.refused_rows, edition.issue_id)
            if error is None or not waiting:
                return sent
            log.warning(
                "reader mail: %d %s emails not sent yet via %s: %s",
                len(waiting),
                edition.issue_id,
                self.backend.name,
                error,
            )
            time.sleep(0.5 * 2**attempt)
        return sent
