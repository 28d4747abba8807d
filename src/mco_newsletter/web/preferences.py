"""/p/<token>: the reader's own page. Change the language (the next issue comes in it) and the public topics,
unsubscribe or come back, see what is held, and have the full record sent to the address itself.

The link is the reader's unsubscribe token (the two links sit side by side in every email, so whoever
holds one holds the other; docs/web.md). Emails are forwarded: whoever holds the link sees the address
and the name only masked, and what they can change anyway; the full record goes only to the address.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..reporting.attribution import PREFERENCES, UNSUBSCRIBE, count_action, issue_of
from ..subscribers.preferences import change
from ..subscribers.segments import Segment
from ..subscribers.signups import Keys, request_access
from ..subscribers.store import Subscriber
from ..subscribers.topics import chosen_topics
from .desk import Desk
from .http import first, form_fields, not_found
from .pages import mask_address
from .reader_context import mask_name
from .reader_mail import ReaderMail
from .site import Site

PREFERENCES_SOURCE = "asked again through their preferences page"


class Pages(Protocol):
    """What the preferences page shares with the other reader pages (web/signup.py's ReaderPages)."""

    site: Site
    topics: list[Segment]
    desk: Desk
    mail: ReaderMail
    keys: Keys

    def page(self, template: str, language: str, status: int = 200, **context: Any) -> HTMLResponse: ...


class Preferences:
    """The preferences page's GET and its four POST actions: save, unsubscribe, resubscribe, access."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.site = pages.site

    def reader(self, token: str) -> Subscriber | None:
        from ..subscribers.tokens import read_token

        with self.site.reading() as store:  # never waits for a write
            subscriber_id = read_token(self.site.secret, token, nonce_of=store.nonce)
            return None if subscriber_id is None else store.by_id(subscriber_id)

    async def handle(self, request: Request) -> Response:
        token = request.path_params["token"]
        reader = await run_in_threadpool(self.reader, token)
        if reader is None:
            return not_found(self.site, request)
        request.state.language = reader.language  # for the answer should a change not be recorded (web/app.py)
        notice = None
        if request.method == "POST":
            form = await form_fields(request)
            if isinstance(form, Response):
                return form
            notice = await self.act(reader, first(form, "action"), form, issue_of(request.query_params.get("issue")))
            reader = await run_in_threadpool(self.reader, token)
            if reader is None:  # erased in the meantime
                return not_found(self.site, request)
        chosen = chosen_topics(reader.tags, self.pages.topics)
        return self.pages.page(
            "preferences.html.j2",
            reader.language,
            reader=reader,
            notice=notice,
            email=mask_address(reader.email),
            name_shown=mask_name(reader.name),
            chosen=chosen,
            labels=[t.label_in(reader.language) for t in self.pages.topics if t.name in chosen],
        )

    async def act(self, reader: Subscriber, action: str, form: dict, issue: str | None = None) -> str | None:
        """Do what the button asked; the notice the page then shows (None: nothing was asked). `issue`: the issue
        the link came in, for the count of what readers did because of it (reporting/attribution.py)."""
        pages = self.pages
        if action == "save":
            language = first(form, "language")
            chosen = {topic.name for topic in pages.topics if topic.name in form.get("topics", [])}
            await pages.desk.do(
                partial(
                    _save,
                    subscriber_id=reader.id,
                    chosen=chosen,
                    topics=pages.topics,
                    language=language if language in self.site.settings.languages else reader.language,
                    issue=issue,
                )
            )
            return "saved"
        if action == "unsubscribe":
            await pages.desk.do(partial(_unsubscribe, subscriber_id=reader.id, issue=issue))
            return "unsubscribed"
        if action == "resubscribe":
            await pages.desk.do(lambda store: store.resubscribe(reader.id, PREFERENCES_SOURCE))
            return "resubscribed"
        if action == "access":
            await pages.mail.send_after(
                partial(request_access, subscriber_id=reader.id, keys=pages.keys, at=dt.datetime.now(dt.UTC))
            )
            return "access"
        return None


def _unsubscribe(store, *, subscriber_id: int, issue: str | None) -> None:
    if store.unsubscribe(subscriber_id):  # only an active reader: a bounce or complaint stays what it is
        count_action(store, subscriber_id=subscriber_id, issue=issue, kind=UNSUBSCRIBE)


def _save(store, *, subscriber_id: int, language: str, chosen: set[str], topics, issue: str | None) -> None:
    """The reader's choice saved; counted as a preference change only when it changed something."""
    before = store.by_id(subscriber_id)
    change(store, subscriber_id=subscriber_id, language=language, chosen=chosen, topics=topics)
    after = store.by_id(subscriber_id)
    if before is not None and after is not None and (before.language, before.tags) != (after.language, after.tags):
        count_action(store, subscriber_id=subscriber_id, issue=issue, kind=PREFERENCES)


def preference_routes(pages: Pages) -> list[Route]:
    """The preferences page's route."""
    return [Route("/p/{token}", Preferences(pages).handle, methods=["GET", "POST"])]
