"""Sign-up with double opt-in: /subscribe (the browser's language) and /subscribe/<lang>, the form's POST (also
from a plain HTML form embedded elsewhere, docs/web.md), and /confirm/<token> with its one Confirm button.

Every sign-up that passes the form's checks gets the same "check your inbox" page, whatever the
address's state, rendered once per language: the form never tells whether someone is on the list. Nor does
the time it takes: the answer waits for one write that is the same for every address (the sign-up queued,
subscribers/signup_queue.py), and everything that depends on the address is done after it is sent.
A GET never changes anything; only the Confirm button's POST confirms, so that link scanners that
follow every link in an email confirm nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from functools import partial
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..control_characters import CONTROL_RE
from ..render.theme import words_version
from ..subscribers.segments import public_topics
from ..subscribers.signup_queue import queue_signup, queued, work_through
from ..subscribers.signups import Keys, SignupForm, confirm, purge_expired, request_by_id, request_nonce
from .http import first, form_fields, not_found, page
from .pages import browser_language, mask_address, security_headers
from .reader_context import consent_version, reader_context
from .site import Site

log = logging.getLogger("mco_newsletter.web")
MAX_EMAIL = 254
MAX_NAME = 200


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def clean_name(value: str) -> str | None:
    """A name as given, on one line, without control characters, at most MAX_NAME characters."""
    return " ".join(CONTROL_RE.sub(" ", value).split())[:MAX_NAME] or None


class ReaderPages:
    """What the reader pages share: the site, one writer (desk), the mail worker, the per-client limit (shared by
    every replica on PostgreSQL), the site-wide ceiling on sign-up emails, and the sign-ups queued but not yet
    worked through."""

    def __init__(self, site: Site) -> None:
        from ..subscribers.tokens import erasure_key
        from .client_limit import ClientLimit
        from .desk import Desk
        from .mail_ceiling import MailCeiling
        from .reader_mail import ReaderMail

        self.site = site
        self.settings = site.settings
        self.keys = Keys(site.secret, erasure_key(self.settings.private_dir, store=site.store))
        self.topics = public_topics(self.settings.segments)
        self.desk = Desk(site)
        self.mail = ReaderMail(site, self.desk)
        self.clients = ClientLimit(self.settings.signup.client_limit, shared=site.shared_counts)
        self.answers: dict = {}
        self.waiting: set[int] = set()  # ids of queued sign-ups not yet worked through
        self.waiting_lock = threading.Lock()
        self.desk.submit(lambda store: purge_expired(store, utc_now())).result()  # every start purges
        self.ceiling = MailCeiling(self.settings.signup.emails_per_hour)
        self.resume_queued()  # sign-ups a stopped server left queued (web/chores.py looks again each hour)

    def resume_queued(self) -> None:
        """Work through every sign-up still queued (left by a server that stopped, or whose turn was missed)."""
        for queue_id in self.desk.submit(queued).result():
            self.work_through(queue_id)

    def work_through(self, queue_id: int) -> None:
        """Record a queued sign-up (whatever its address's state calls for) and queue its email, at the desk."""
        with self.waiting_lock:
            self.waiting.add(queue_id)
        future = self.mail.submit(
            partial(
                work_through,
                queue_id=queue_id,
                keys=self.keys,
                confirm_days=self.settings.signup.confirm_days,
                may_mail=self.ceiling.allows,
            )
        )
        future.add_done_callback(partial(self._worked_through, queue_id))

    def _worked_through(self, queue_id: int, future) -> None:
        if future.exception() is not None:  # the row stays queued: the next hour, or the next start, tries again
            log.error("a queued sign-up could not be recorded: %s", type(future.exception()).__name__)
        with self.waiting_lock:
            self.waiting.discard(queue_id)

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued sign-up is worked through and its email sent (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.waiting:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return self.mail.idle(max(0.0, deadline - time.monotonic()))

    def page(self, template: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
        return page(self.site, template, language, status, **reader_context(self.settings), **context)

    def check_inbox(self, language: str, after: BackgroundTask | None = None) -> HTMLResponse:
        """The one answer to every sign-up, rendered once per language (and again, within a second, when its
        words change); `after` runs once it is sent."""
        cached = self.answers.get(language)
        if cached is None or time.monotonic() - cached[0] > 1.0:
            version = words_version(self.settings.locales_dir, language)
            if cached is None or cached[1] != version:
                html = bytes(self.page("check_inbox.html.j2", language).body)
                cached = (0.0, version, html, security_headers(html.decode("utf-8")))
            cached = self.answers[language] = (time.monotonic(), *cached[1:])
        return HTMLResponse(cached[2], headers=cached[3], background=after)

    async def form(self, request: Request) -> Response:
        """GET /subscribe: the form in the browser's language; POST: a sign-up."""
        language = browser_language(
            request.headers.get("accept-language", ""), self.settings.languages, self.settings.source_language
        )
        if request.method == "POST":
            return await self.sign_up(request, language, switch="subscribe/")
        return self.page("subscribe.html.j2", language, switch="subscribe/", values={}, error=None)

    async def form_in(self, request: Request) -> Response:
        """GET /subscribe/<lang>: the form in that language; POST: a sign-up."""
        language = request.path_params["language"]
        if language not in self.settings.languages:
            return not_found(self.site, request)
        if request.method == "POST":
            return await self.sign_up(request, language, switch="")
        return self.page("subscribe.html.j2", language, switch="", values={}, error=None)

    async def sign_up(self, request: Request, language: str, *, switch: str) -> Response:
        """A sign-up: `switch` is how the form page's language links start from the path it was posted to."""
        from ..subscribers.csv_import import subscriber_address

        form = await form_fields(request)
        if isinstance(form, Response):
            return form
        if first(form, "language") in self.settings.languages:
            language = first(form, "language")
        request.state.language = language  # for the answer should the sign-up not be recorded (web/app.py)
        client = request.client.host if request.client else ""
        allowed = (
            await run_in_threadpool(self.clients.allow, client)
            if self.clients.shared is not None
            else self.clients.allow(client)
        )
        if not allowed:
            return self.page("too_many.html.j2", language, status=429)
        if first(form, "website"):
            return self.check_inbox(language)  # the honeypot: only bots fill a field nobody sees
        given = first(form, "email").strip()
        email, problem = subscriber_address(given) if given and len(given) <= MAX_EMAIL else (given, "invalid")
        if problem:
            values = {
                "email": given[:MAX_EMAIL],
                "name": first(form, "name")[:MAX_NAME],
                "topics": form.get("topics", []),
            }
            return self.page(
                "subscribe.html.j2",
                language,
                status=400,
                switch=switch,
                values=values,
                error="missing" if not given else "invalid",
            )
        chosen = tuple(topic.name for topic in self.topics if topic.name in form.get("topics", []))
        signup = SignupForm(email, language, clean_name(first(form, "name")), chosen)
        # The one write the answer waits for, the same whatever the address's state: nothing about the address
        # is looked up before the answer is sent; work_through does that after it (subscribers/signup_queue.py).
        queue_id = await self.desk.do(
            partial(queue_signup, form=signup, address_hash=self.keys.address_hash(email), at=utc_now())
        )
        with self.waiting_lock:
            self.waiting.add(queue_id)
        return self.check_inbox(language, after=BackgroundTask(self._after_answer, queue_id))

    async def _after_answer(self, queue_id: int) -> None:
        self.work_through(queue_id)

    def _find_request(self, token: str):
        from ..subscribers.tokens import CONFIRM, read_token

        with self.site.reading() as store:  # never waits for a write
            request_id = read_token(self.site.secret, token, nonce_of=partial(request_nonce, store), purpose=CONFIRM)
            request = None if request_id is None else request_by_id(store, request_id)
            subscriber = None if request is None else store.by_id(request.subscriber_id)
        return None if subscriber is None or request is None else (subscriber, request)

    async def confirmation(self, request: Request) -> Response:
        """GET /confirm/<token>: what will happen, and one Confirm button; its POST confirms."""
        found = await run_in_threadpool(self._find_request, request.path_params["token"])
        if found is None:
            return not_found(self.site, request)
        subscriber, signup = found
        language = request.state.language = signup.language
        shown = mask_address(subscriber.email)
        outcome = "already" if signup.confirmed_at else "expired" if signup.expired(utc_now()) else "open"
        if request.method == "POST" and outcome == "open":
            form = await form_fields(request)
            if isinstance(form, Response):
                return form
            if form.get("confirm") == ["yes"]:
                outcome = await self.desk.do(
                    partial(
                        confirm,
                        request_id=signup.id,
                        topics=self.topics,
                        keys=self.keys,
                        at=utc_now(),
                        consent_version=consent_version(self.settings),
                    )
                )
        if outcome in ("confirmed", "already"):
            return self.page("confirmed.html.j2", language, email=shown)
        if outcome == "expired":
            return self.page("expired.html.j2", language, status=410)
        if outcome == "missing":
            return not_found(self.site, request)
        return self.page(
            "confirm.html.j2",
            language,
            email=shown,
            request=signup,
            labels=[t.label_in(language) for t in self.topics if t.name in signup.topics],
        )


def reader_routes(site: Site) -> list[Route]:
    """The routes of the reader pages, sharing one ReaderPages (which purges expired sign-ups as it starts; the site
    keeps it as `reader_pages` for its chores)."""
    from .preferences import preference_routes

    pages = site.reader_pages = ReaderPages(site)
    return [
        Route("/subscribe", pages.form, methods=["GET", "POST"]),
        Route("/subscribe/{language}", pages.form_in, methods=["GET", "POST"]),
        Route("/confirm/{token}", pages.confirmation, methods=["GET", "POST"]),
        *preference_routes(pages),
    ]
