"""The web's pages and the reader's emails rendered with sample values, for `check` (template_check.py): a
template edited into an error is found there, not by a reader. The archive index, an archived edition and its feed
entry, the unsubscribe, error, sign-up, confirmation and preferences pages, and the sign-up and subject-access
emails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from functools import partial

from ..config import Settings
from ..edition import Edition

Render = Callable[[], object]


def sample_renders(settings: Settings, language: str, edition: Edition) -> Iterator[Render]:
    """Each page and email of the web in a language, ready to render; `edition` is the sample edition archived."""
    yield from _archive_renders(settings, language, edition)
    yield from _reader_renders(settings, language)


def _archive_renders(settings: Settings, language: str, edition: Edition) -> Iterator[Render]:
    from ..render.edition_email import archive_url, render
    from .archive import Entry
    from .feed import edition_content
    from .pages import render_page

    alternates = [(code, code, archive_url(settings, "sample", code)) for code in settings.languages]
    url = archive_url(settings, "sample", language)
    entry = Entry(
        "sample",
        language,
        "A sample title",
        "31 January 2024",
        dt.date(2024, 1, 31),
        "A sample preheader.",
        url,
        "<p>A sample edition.</p>",
    )
    links = {"index": f"{settings.base_url}/{language}/", "feed": f"{settings.base_url}/{language}/feed.atom"}
    pages: dict[str, dict] = {
        "archive_index.html.j2": {
            "entries": [(url, entry)],
            "languages": alternates,
            "feed_url": f"{settings.base_url}/{language}/feed.atom",
        },
        "unsubscribe.html.j2": {"email": "reader@example.org"},
        "unsubscribed.html.j2": {"email": "reader@example.org"},
        "not_found.html.j2": {},
        "unavailable.html.j2": {},
    }
    yield lambda: render(edition, settings, archive=True, alternates=alternates, links=links)
    yield lambda: edition_content(settings, edition)
    for name, context in pages.items():
        yield partial(render_page, settings, name, language, **context)


def _reader_renders(settings: Settings, language: str) -> Iterator[Render]:
    """The sign-up, confirmation and preferences pages and the reader's emails."""
    from ..subscribers.preferences import HeldRecord
    from ..subscribers.signups import ACCESS_MAIL, CONFIRM_MAIL, NOTICE_MAIL, Request
    from ..subscribers.store import Subscriber
    from .pages import render_page
    from .reader_context import reader_context, record_context
    from .reader_mail import prepare_mail

    at = "2024-01-31T12:00:00+00:00"
    reader = Subscriber(
        1, "reader@example.org", "A name", language, ("courts",), "active", "web sign-up", at, at, at, "0123abcd"
    )
    request = Request(1, 1, language, None, ("courts",), b"", at, at, None)
    masked = {"email": "r\u2022\u2022\u2022@example.org"}
    pages: dict[str, dict] = {
        "subscribe.html.j2": {"switch": "", "values": {"email": "reader@"}, "error": "invalid"},
        "check_inbox.html.j2": {},
        "too_many.html.j2": {},
        "expired.html.j2": {},
        "confirm.html.j2": {**masked, "request": request, "labels": ["A topic"]},
        "confirmed.html.j2": masked,
        "preferences.html.j2": {
            **masked,
            "reader": reader,
            "notice": "saved",
            "name_shown": "A\u2022\u2022\u2022",
            "chosen": ["courts"],
            "labels": ["A topic"],
        },
    }

    def page(name: str, context: dict) -> Render:
        return lambda: render_page(settings, name, language, **reader_context(settings), **context)

    def mail(kind: str, context: dict) -> Render:
        return lambda: prepare_mail(settings, kind, language, **context)

    for name, context in pages.items():
        yield page(name, context)
    record = record_context(settings, HeldRecord(reader, request, (("2024-05", "sent", at),)), language)
    mails: tuple[tuple[str, dict], ...] = (
        (CONFIRM_MAIL, {"valid_until": "31 January 2024"}),
        (NOTICE_MAIL, {}),
        (ACCESS_MAIL, record),
    )
    for kind, context in mails:
        yield mail(kind, context)
