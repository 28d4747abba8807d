"""The reader pages and the webhook on a locked or full database: a page that only reads never waits for a writer;
a change that cannot be written is never answered as done (503 with Retry-After, a page in the reader's language),
and the log says why in one line."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import pytest

import loopback
from reader_pages import reader_token, row, serving
from test_failing_disks import fill, hold_lock, small_disk  # noqa: F401  (small_disk: a fixture)
from test_web import key_pair, signed_post

pytestmark = pytest.mark.stores

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
READERS = (("anna@example.org", "ru"), ("bernd@example.org", "de"))


def add_readers(run) -> None:
    for email, language in READERS:
        assert run("subscribers", "add", email, "--language", language).exit_code == 0


def one_click(site, token: str, timeout: float = 60):
    return loopback.post(f"{site['url']}/u/{token}", content=b"List-Unsubscribe=One-Click", headers=FORM,
                         timeout=timeout)


def sign_up(site, email: str, language: str, timeout: float = 60):
    return loopback.post(f"{site['url']}/subscribe", data={"email": email, "language": language}, timeout=timeout)


def unavailable(response, language: str, words: str) -> None:
    """A 503 that asks to come back (Retry-After, in seconds), as a page in the reader's language."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["retry-after"]) > 0
    assert f'<html lang="{language}"' in response.text and words in response.text, response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_locked_database_stalls_no_reader_page(workspace, run, settings):
    """While another process holds the database's write lock, the unsubscribe and preferences pages answer at once
    (they only read, while a sign-up and an unsubscribe wait); the waiting writes get 503 with Retry-After and a
    page in the reader's language once a couple of seconds pass, and go through once the lock is released."""
    add_readers(run)
    with serving(workspace) as site:
        token = reader_token(settings, "anna@example.org")
        answers: dict = {}

        def ask(name, call) -> None:
            answers[name] = call()
            answers[name + " at"] = time.monotonic()

        holder = hold_lock(settings, 120)
        try:
            writers = [threading.Thread(target=ask, args=("sign-up", lambda: sign_up(site, "new@example.org", "de"))),
                       threading.Thread(target=ask, args=("unsubscribe", lambda: one_click(site, token)))]
            for writer in writers:
                writer.start()
            time.sleep(0.3)  # both writes are waiting for the lock now
            pages = [loopback.get(f"{site['url']}/{kind}/{token}", timeout=15) for kind in ("u", "p")]
            read_at = time.monotonic()
            for writer in writers:
                writer.join(timeout=90)
        finally:
            holder.stdin.write("release\n")
            holder.stdin.flush()
            holder.wait(timeout=60)
        for page in pages:
            assert page.status_code == 200 and '<html lang="ru"' in page.text
        assert read_at < min(answers["sign-up at"], answers["unsubscribe at"]), "a page that reads waited for a write"
        unavailable(answers["sign-up"], "de", "Bitte versuchen Sie es später noch einmal")
        unavailable(answers["unsubscribe"], "ru", "Пожалуйста, попробуйте позже")
        assert row(settings, "anna@example.org")["status"] == "active"
        assert row(settings, "new@example.org") is None
        assert sign_up(site, "new@example.org", "de").status_code == 200
        assert one_click(site, token).status_code == 200
        assert row(settings, "anna@example.org")["status"] == "unsubscribed"
        assert row(settings, "new@example.org")["status"] == "pending"


@pytest.mark.sqlite_only("an SQLite file on a full disk (a database server's disk is the server's)")
def test_a_full_disk_is_a_503_and_loses_nothing(workspace, run, small_disk, monkeypatch, caplog):
    """With the database on a full disk, one-click unsubscribe, a sign-up and the webhook answer 503 with
    Retry-After (pages in the reader's language), log one line each naming the cause (no traceback, no address),
    and record nothing; once there is room again, the same requests go through."""
    from mco_newsletter.config import load_settings

    database = small_disk / "private" / "subscribers.sqlite3"
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(database))
    public, sign = key_pair()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", public)
    add_readers(run)
    settings = load_settings(workspace)
    event = [{"sg_event_id": "full-1", "event": "spamreport", "email": "bernd@example.org"}]
    with serving(workspace) as site:
        token = reader_token(settings, "anna@example.org")
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the next commit must grow the write-ahead log
        filler = fill(small_disk)
        caplog.set_level(logging.INFO)
        caplog.clear()
        left = one_click(site, token)
        joined = sign_up(site, "new@example.org", "de")
        events = signed_post(site, sign, event)
        problems = [record for record in caplog.records if record.levelno >= logging.WARNING]
        filler.unlink()
        unavailable(left, "ru", "Пожалуйста, попробуйте позже")
        unavailable(joined, "de", "Bitte versuchen Sie es später noch einmal")
        assert events.status_code == 503 and int(events.headers["retry-after"]) > 0, events.text
        assert "full" in events.json()["error"]
        assert len(problems) == 3, [record.getMessage() for record in problems]
        for record in problems:
            assert "is full" in record.getMessage() and record.exc_info is None, record.getMessage()
        assert "Traceback" not in caplog.text and "@" not in caplog.text, caplog.text
        assert row(settings, "anna@example.org")["status"] == "active"
        assert row(settings, "bernd@example.org")["status"] == "active"
        assert row(settings, "new@example.org") is None
        assert one_click(site, token).status_code == 200
        assert sign_up(site, "new@example.org", "de").status_code == 200
        assert signed_post(site, sign, event).json()["applied"] == 1
        assert row(settings, "anna@example.org")["status"] == "unsubscribed"
        assert row(settings, "bernd@example.org")["status"] == "complained"
        assert row(settings, "new@example.org")["status"] == "pending"


@pytest.mark.browser
def test_the_try_again_page_is_accessible_in_the_readers_language(browser, workspace, run, settings):
    """A reader presses Unsubscribe while another program holds the database: the page they get says, in their
    language, to try again later; axe-clean in light and dark, loading nothing from anywhere else."""
    import reader_pages
    from test_signup import only_from, reader_page

    add_readers(run)
    with serving(workspace) as site:
        page = reader_page(browser, site, "de", axe=True)
        page.goto(f"{site['url']}/u/{reader_token(settings, 'anna@example.org')}")
        holder = hold_lock(settings, 120)
        try:
            page.click("button[type=submit]")
            page.wait_for_selector("#unavailable", timeout=30_000)
        finally:
            holder.stdin.write("release\n")
            holder.stdin.flush()
            holder.wait(timeout=60)
        assert page.evaluate("document.documentElement.lang") == "ru"
        assert page.inner_text("h1") == "Пожалуйста, попробуйте позже"
        assert reader_pages.accessibility_problems(page) == []
        only_from(page, site)
        page.context.close()
    assert row(settings, "anna@example.org")["status"] == "active"
