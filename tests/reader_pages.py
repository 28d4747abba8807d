"""What the sign-up and preferences tests share: `serve`'s application on a real uvicorn server, public topics
in the workspace, the outbox as the reader's inbox, and a look into the database as an outsider would take it."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

import pytest
from stores import db_dict, db_rows, db_tables

TOPICS = """
[segments.courts]
description = "Readers who follow the court cases"
public = true
tags_any = ["courts"]
label = { en = "Court cases", de = "Gerichtsverfahren", ru = "Судебные дела" }

[segments.actions]
public = true
tags_any = ["actions"]
label = { en = "Actions and protests", de = "Aktionen und Proteste", ru = "Акции и протесты" }
"""


def add_topics(workspace) -> None:
    """Two public topics (segments readers choose themselves) in the workspace's newsletter.toml."""
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write(TOPICS)


@contextmanager
def serving(workspace):
    """`serve`'s application (a fresh start: it purges expired sign-ups) on a loopback port, for the block."""
    from review_server import serve_app

    from mco_newsletter.config import load_settings
    from mco_newsletter.web.app import create_app

    settings = load_settings(workspace)
    app = create_app(settings)
    url, stop = serve_app(settings, app)
    try:
        yield {"url": url, "settings": settings, "app": app}
    finally:
        stop()


@pytest.fixture
def site(workspace):
    """The workspace with public topics, served."""
    add_topics(workspace)
    with serving(workspace) as served:
        yield served


def outbox(workspace) -> list:
    """Every message in the outbox, oldest first, parsed."""
    folder = workspace / "private" / "outbox" / "new"
    paths = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime_ns) if folder.is_dir() else []
    return [message_from_bytes(path.read_bytes(), policy=default) for path in paths]


def wait_for_mail(workspace, count: int, timeout: float = 15.0) -> list:
    """The outbox once it holds `count` messages (sign-up emails go out just after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = outbox(workspace)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


def settle(served) -> None:
    """Wait until the server has worked through the sign-ups it answered (it answers first) and its mail queue is
    empty (for tests that look at the database, or expect no new message)."""
    for route in served["app"].routes:
        pages = getattr(route.endpoint, "__self__", None)
        if getattr(pages, "mail", None) is not None:
            assert pages.idle(15), "queued sign-ups or reader mail did not settle"
            return


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message, page: str, served) -> str:
    """The message's link to `page` (confirm, p), pointed at the test server instead of base_url."""
    found = re.search(rf"https://digest\.example\.org(/{page}/[A-Za-z0-9_-]+)", text_of(message))
    assert found, text_of(message)
    return served["url"] + found.group(1)


def row(settings, email: str):
    """The subscriber's row as the store holds it (status, language, consent record), or None."""
    return db_dict(settings, "SELECT * FROM subscribers WHERE email = ?", (email,))


def tags_of(settings, email: str) -> set[str]:
    return {tag for (tag,) in db_rows(settings, "SELECT t.tag FROM subscriber_tags t JOIN subscribers s"
                                                " ON s.id = t.subscriber_id WHERE s.email = ?", (email,))}


def database_dump(settings) -> str:
    """Every value in every table, as text: what someone who took the database would read (bytes in hexadecimal:
    random bytes, a nonce or a keyed hash, would otherwise show an "@" one time in sixteen)."""
    return "\n".join(repr(tuple(value.hex() if isinstance(value, bytes) else value for value in values))
                     for table in db_tables(settings) for values in db_rows(settings, f"SELECT * FROM {table}"))


def reader_token(settings, email: str) -> str:
    """The reader's link token (unsubscribe and preferences pages), made as `send` makes it."""
    from mco_newsletter.subscribers.tokens import make_token, unsubscribe_secret

    [(reader_id, nonce)] = db_rows(settings, "SELECT id, nonce FROM subscribers WHERE email = ?", (email,))
    return make_token(unsubscribe_secret(settings.private_dir), reader_id, nonce)


# What the pages' dark scheme changes: colours only (templates/pages/base.html.j2, form_style.html.j2).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def accessibility_problems(page) -> list:
    """axe-core's serious and critical findings on the page: every rule in the light scheme, the colour rules in
    the dark one."""
    from test_reader_view import axe_violations

    found = []
    for scheme, rules in (("light", None), ("dark", COLOUR_RULES)):
        page.emulate_media(color_scheme=scheme)
        found += [(scheme, violation) for violation in axe_violations(page, rules)]
    return found


def sign_up(served, email: str, language: str = "de", *, client: str | None = None, **fields):
    """POST /subscribe as the embedded plain HTML form does."""
    import loopback

    headers = {"X-Forwarded-For": client} if client else {}
    return loopback.post(served["url"] + "/subscribe", data={"email": email, "language": language, **fields},
                         headers=headers)
