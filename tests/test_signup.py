"""Sign-up with double opt-in against `serve` on a real uvicorn server: headless Chromium for what a reader does
and sees, the outbox as their inbox, the store (SQLite and PostgreSQL) as it holds them."""

from __future__ import annotations

import pytest
from stores import db_rows, db_run

import loopback
import reader_pages
from conftest import override_template
from reader_pages import (database_dump, link_in, outbox, row, serving, settle, sign_up, site, tags_of,  # noqa: F401
                          text_of, wait_for_mail)

pytestmark = pytest.mark.stores

CONFIRM_DE = "Bitte bestätigen Sie Ihr Abonnement"


def reader_page(browser, served, language: str, *, axe: bool = False):
    """A fresh page whose browser prefers `language`, under the pages' own Content-Security-Policy as a reader's
    browser is, recording every address it loads anything from; with axe, axe-core in every document."""
    from test_reader_view import with_axe

    context = browser.new_context(locale=language, viewport={"width": 375, "height": 800})
    page = (with_axe(context) if axe else context).new_page()
    page.loaded = []
    page.on("request", lambda request: page.loaded.append(request.url))
    return page


def only_from(page, served) -> None:
    """Everything the page loaded came from our server: no third-party asset."""
    assert page.loaded and all(url.startswith(served["url"] + "/") for url in page.loaded), page.loaded


@pytest.mark.browser
def test_german_sign_up_confirmed_in_the_browser(browser, site, workspace):
    """Sign up in German → a German confirmation in the outbox → its link → Confirm → active, German, in the
    chosen topic, with the consent record (the German consent text shown, its version) and no IP address anywhere."""
    from mco_newsletter.web.reader_context import consent_version

    settings = site["settings"]
    page = reader_page(browser, site, "de-DE")
    page.goto(site["url"] + "/subscribe")
    assert page.evaluate("document.documentElement.lang") == "de"
    assert page.inner_text("h1") == "Newsletter abonnieren"
    assert page.inner_text(".consent").startswith("Ich möchte den Newsletter der ")
    assert f"Fassung des Einwilligungstextes: {consent_version(settings)}" in page.inner_text("body")
    page.fill("#email", "Greta@Example.org")
    page.fill("#name", "Greta")
    page.check("text=Gerichtsverfahren")
    assert page.is_checked("input[name=language][value=de]")
    page.click("button[type=submit]")
    page.wait_for_selector("#inbox")
    assert page.inner_text("#inbox") == "Sehen Sie in Ihrem Posteingang nach"
    [message] = wait_for_mail(workspace, 1)  # the sign-up is recorded just after the answer, then mailed
    assert row(settings, "Greta@example.org")["status"] == "pending"  # the domain normalized
    assert str(message["To"]) == "Greta@example.org"
    assert message["Subject"] == CONFIRM_DE and message["Content-Language"] == "de"
    assert "List-Unsubscribe" not in message and "Precedence" not in message  # one person's email, not the list's
    assert "Jemand, wahrscheinlich Sie" in text_of(message)
    page.goto(link_in(message, "confirm", site))
    assert page.inner_text("h1") == "Bestätigen Sie Ihr Abonnement"
    assert page.inner_text(".consent").startswith("Ich möchte den Newsletter der ")
    body = page.inner_text("body")
    assert "G•••@example.org" in body and "Greta@" not in body and "Gerichtsverfahren" in body
    assert row(settings, "Greta@example.org")["status"] == "pending"  # opening the link confirms nothing
    page.click("button[type=submit]")
    page.wait_for_selector("#confirmed")
    assert page.inner_text("#confirmed") == "Sie haben den Newsletter abonniert"
    only_from(page, site)
    held = row(settings, "Greta@example.org")
    assert (held["status"], held["language"], held["name"]) == ("active", "de", "Greta")
    assert held["consent_source"] == "web sign-up, confirmed by email"
    assert held["consent_version"] == consent_version(settings) and held["consent_at"]
    assert tags_of(settings, "Greta@example.org") == {"courts"}
    assert "127.0.0.1" not in database_dump(settings)
    page.context.close()


def test_every_state_gets_the_same_answer_and_at_most_one_email(site, run, workspace):
    """New, pending, active, unsubscribed and erased addresses (and the honeypot) get the same page; an active
    reader gets a notice, not a second subscription; one who left stays so until they confirm."""
    settings = site["settings"]
    assert run("subscribers", "add", "active@example.org", "--language", "ru").exit_code == 0
    assert run("subscribers", "add", "left@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "unsubscribe", "left@example.org").exit_code == 0
    assert run("subscribers", "add", "gone@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "erase", "gone@example.org", "--yes").exit_code == 0
    answers = [sign_up(site, email) for email in ("new@example.org", "new@example.org", "active@example.org",
                                                  "left@example.org", "gone@example.org")]
    answers.append(sign_up(site, "bot@example.org", website="https://spam.example"))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    settle(site)
    mails = {str(message["To"]): message for message in outbox(workspace)}
    assert sorted(mails) == ["active@example.org", "gone@example.org", "left@example.org", "new@example.org"]
    notice = mails["active@example.org"]
    assert notice["Content-Language"] == "ru" and "/confirm/" not in text_of(notice)  # in the reader's own language
    assert "/p/" in text_of(notice)
    assert row(settings, "active@example.org")["language"] == "ru"  # nothing changed for them
    assert row(settings, "left@example.org")["status"] == "unsubscribed"
    assert row(settings, "gone@example.org")["status"] == "pending"
    assert row(settings, "bot@example.org") is None
    assert db_rows(settings, "SELECT count(*) FROM subscribers WHERE email = 'new@example.org'") == [(1,)]
    for email in ("left@example.org", "gone@example.org"):
        loopback.post(link_in(mails[email], "confirm", site), data={"confirm": "yes"})
        assert row(settings, email)["status"] == "active"
        assert row(settings, email)["language"] == "de"  # the language they asked for on the form


def test_an_erased_address_is_never_re_added_by_an_import_while_pending(site, run, workspace):
    """An erased address that signs up is pending: an import still skips it; only its own confirmation adds it."""
    settings = site["settings"]
    assert run("subscribers", "add", "gone@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "erase", "gone@example.org", "--yes").exit_code == 0
    sign_up(site, "gone@example.org")
    [message] = wait_for_mail(workspace, 1)
    (workspace / "list.csv").write_text("email,language\ngone@example.org,en\n", encoding="utf-8")
    imported = run("subscribers", "import", str(workspace / "list.csv"), "--resubscribe")
    assert imported.exit_code == 0 and "1 erased addresses not re-added" in imported.output
    assert row(settings, "gone@example.org")["status"] == "pending"
    loopback.post(link_in(message, "confirm", site), data={"confirm": "yes"})
    assert row(settings, "gone@example.org")["status"] == "active"


@pytest.mark.browser
@pytest.mark.parametrize("language,message", [("ru", "Это неправильный адрес электронной почты"),
                                              ("de", "Das ist keine gültige E-Mail-Adresse")])
def test_an_invalid_address_is_explained_on_the_form(browser, site, workspace, language, message):
    """An invalid address gets the form again, with a message in the reader's language tied to the field."""
    page = reader_page(browser, site, language)
    page.goto(site["url"] + "/subscribe")
    page.fill("#email", "not an address@")
    page.click("button[type=submit]")
    page.wait_for_selector("#email-error")
    assert message in page.inner_text("#email-error")
    assert page.evaluate("document.documentElement.lang") == language
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert page.input_value("#email") == "not an address@"
    assert database_dump(site["settings"]).count("@") == 0 and outbox(workspace) == []
    page.click("nav a[hreflang=en]")  # the language links lead on from the page the form was posted to
    assert page.url == site["url"] + "/subscribe/en" and page.inner_text("h1") == "Subscribe to the newsletter"
    page.context.close()


@pytest.mark.browser
def test_the_honeypot_is_hidden_from_people_and_drops_bots(browser, site, workspace):
    """Nobody sees the `website` field; a form posted with it filled (as bots do) gets the same answer, and
    nothing is stored or sent. Under the page's own Content-Security-Policy: the style that hides it is allowed."""
    page = reader_page(browser, site, "de")
    page.goto(site["url"] + "/subscribe")
    assert not page.is_visible("#website") and page.is_visible("#email")
    page.fill("#email", "bot@example.org")
    page.evaluate("document.getElementById('website').value = 'https://spam.example'")  # what a bot fills in
    page.click("button[type=submit]")
    page.wait_for_selector("#inbox")
    settle(site)
    assert row(site["settings"], "bot@example.org") is None and outbox(workspace) == []
    page.context.close()


def test_one_confirmation_email_an_hour_even_after_a_restart(site, workspace):
    """The same address signing up again within the hour gets no second email, also after `serve` restarts."""
    settings = site["settings"]
    for _ in range(3):
        assert sign_up(site, "twice@example.org").status_code == 200
    settle(site)
    assert len(outbox(workspace)) == 1
    with serving(workspace) as again:
        assert sign_up(again, "twice@example.org").status_code == 200
        settle(again)
        assert len(outbox(workspace)) == 1
        db_run(settings, "UPDATE mail_log SET sent_at = sent_at - 3601")  # an hour later
        sign_up(again, "twice@example.org")
        messages = wait_for_mail(workspace, 2)
    assert len(messages) == 2
    # Each email carries the link of its own request; either confirms, and the other then answers the same.
    links = [link_in(message, "confirm", site) for message in messages]
    assert links[0] != links[1]
    confirmed = [loopback.post(link, data={"confirm": "yes"}) for link in reversed(links)]
    assert [answer.status_code for answer in confirmed] == [200, 200] and confirmed[0].text == confirmed[1].text
    assert row(settings, "twice@example.org")["status"] == "active"


def test_one_client_may_sign_up_only_so_often(workspace, store_kind):
    """Past [signup] client_limit an hour, a client gets a page saying so (in its language); others go on; nothing
    of the client's address is stored; on SQLite the count lives in memory and a restart forgets it, on
    PostgreSQL the replicas' shared count outlives it."""
    from reader_pages import add_topics

    add_topics(workspace)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nclient_limit = 3\n")
    with serving(workspace) as served:
        answers = [sign_up(served, f"r{n}@example.org", client="203.0.113.7").status_code for n in range(4)]
        assert answers == [200, 200, 200, 429]
        refused = sign_up(served, "r9@example.org", "de", client="203.0.113.7")
        assert refused.status_code == 429 and "Bitte versuchen Sie es später noch einmal" in refused.text
        assert row(served["settings"], "r9@example.org") is None
        assert sign_up(served, "other@example.org", client="198.51.100.1").status_code == 200
        settle(served)
        dump = database_dump(served["settings"])
    assert "203.0.113.7" not in dump and "198.51.100.1" not in dump
    assert "203.0.113.7".encode() not in b"".join(p.read_bytes() for p in (workspace / "private").rglob("*")
                                                   if p.is_file())
    # On SQLite (one host) the count is in memory, and a restart forgets it; on PostgreSQL every replica counts in
    # the store's table of the hour, which a restart keeps.
    with serving(workspace) as restarted:
        assert sign_up(restarted, "r5@example.org", client="203.0.113.7").status_code == \
            (429 if store_kind == "postgresql" else 200)


def test_an_expired_link_says_so_and_is_purged(site, run, workspace):
    """An expired confirmation link shows a page saying so and confirms nothing; purge-pending then deletes the
    sign-up, and the link leads nowhere (the neutral 404)."""
    settings = site["settings"]
    sign_up(site, "late@example.org")
    [message] = wait_for_mail(workspace, 1)
    link = link_in(message, "confirm", site)
    db_run(settings, "UPDATE signup_requests SET expires_at = '2000-01-01T00:00:00+00:00'")
    for answer in (loopback.get(link), loopback.post(link, data={"confirm": "yes"})):
        assert answer.status_code == 410 and "Dieser Link ist abgelaufen" in answer.text
    assert row(settings, "late@example.org")["status"] == "pending"
    assert run("subscribers", "list", "--status", "pending").output.startswith("late@example.org\tde\tpending")
    purged = run("subscribers", "purge-pending")
    assert purged.exit_code == 0 and "Purged 1 unconfirmed sign-up." in purged.output
    assert row(settings, "late@example.org") is None
    gone = loopback.get(link)
    assert gone.status_code == 404 and gone.text == loopback.get(site["url"] + "/u/garbage").text


def test_serve_purges_expired_sign_ups_when_it_starts(site, workspace):
    """Every start of `serve` deletes the sign-ups whose link expired unconfirmed, and keeps the others."""
    settings = site["settings"]
    sign_up(site, "old@example.org")
    sign_up(site, "fresh@example.org")
    settle(site)
    db_run(settings, "UPDATE signup_requests SET expires_at = '2000-01-01T00:00:00+00:00' WHERE subscriber_id ="
                     " (SELECT id FROM subscribers WHERE email = 'old@example.org')")
    with serving(workspace):
        pass
    assert row(settings, "old@example.org") is None and row(settings, "fresh@example.org")["status"] == "pending"


def test_a_tampered_or_misused_link_is_the_neutral_404(site, run, workspace):
    """A changed confirmation token, a reader's unsubscribe token on /confirm, a confirmation token on /u and /p, a
    changed reader token on /p: one identical 404 page, and nothing changes."""
    settings = site["settings"]
    assert run("subscribers", "add", "reader@example.org", "--language", "en").exit_code == 0
    sign_up(site, "new@example.org")
    [message] = wait_for_mail(workspace, 1)
    link = link_in(message, "confirm", site)
    token = link.rsplit("/", 1)[1]
    reader_token = reader_pages.reader_token(settings, "reader@example.org")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    answers = [loopback.get(f"{site['url']}/confirm/{tampered}"),
               loopback.post(f"{site['url']}/confirm/{tampered}", data={"confirm": "yes"}),
               loopback.get(f"{site['url']}/confirm/{reader_token}"),
               loopback.post(f"{site['url']}/confirm/{reader_token}", data={"confirm": "yes"}),
               loopback.get(f"{site['url']}/u/{token}"), loopback.get(f"{site['url']}/p/{token}"),
               loopback.post(f"{site['url']}/p/{token}", data={"action": "save", "language": "ru"}),
               loopback.get(f"{site['url']}/p/{reader_token[:-2]}{'AA' if reader_token[-2:] != 'AA' else 'BB'}"),
               loopback.post(f"{site['url']}/p/{reader_token[:-1]}", data={"action": "unsubscribe"}),
               loopback.get(f"{site['url']}/subscribe/xx"), loopback.get(f"{site['url']}/u/garbage")]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.text for answer in answers}) == 1
    assert row(settings, "new@example.org")["status"] == "pending"
    assert row(settings, "reader@example.org")["status"] == "active"


def test_a_get_never_confirms(site, workspace):
    """Link scanners follow links: any number of GETs (and a POST without the button's field) confirm nothing."""
    settings = site["settings"]
    sign_up(site, "scanned@example.org")
    [message] = wait_for_mail(workspace, 1)
    link = link_in(message, "confirm", site)
    for _ in range(3):
        page = loopback.get(link)
        assert page.status_code == 200 and page.text.count("<button") == 1
    assert loopback.head(link).status_code in (200, 405)
    assert loopback.post(link, data={}).status_code == 200
    assert row(settings, "scanned@example.org")["status"] == "pending"
    confirmed = loopback.post(link, data={"confirm": "yes"})
    assert confirmed.status_code == 200 and row(settings, "scanned@example.org")["status"] == "active"
    assert loopback.post(link, data={"confirm": "yes"}).text == confirmed.text  # twice is harmless


@pytest.mark.browser
def test_the_embeddable_form_of_the_docs_signs_up_from_another_site(browser, site, workspace):
    """The plain HTML form docs/web.md shows, pasted into a page elsewhere, signs up in the language and topics
    picked on it (a topic that is not public is ignored) and answers in that language."""
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "web.md").read_text(encoding="utf-8")
    [form] = re.findall(r"```html\n(<form .*?</form>)\n```", docs, re.S)
    page = reader_page(browser, site, "en")
    page.set_content(form.replace('action="https://digest.example.org/subscribe"', f'action="{site["url"]}/subscribe"'))
    assert not page.is_visible("input[name=website]")
    page.fill("input[name=email]", "embed@example.org")
    page.check("input[name=language][value=ru]")
    page.check("input[name=topics][value=courts]")
    page.evaluate("""() => { const extra = document.createElement('input');  // what a crafted form may add
        Object.assign(extra, {type: 'hidden', name: 'topics', value: 'russia'});
        document.querySelector('form').append(extra); }""")
    page.click("button[type=submit]")
    page.wait_for_selector("#inbox")
    assert page.url == site["url"] + "/subscribe" and page.evaluate("document.documentElement.lang") == "ru"
    assert page.inner_text("h1") == "Проверьте почту"
    [message] = wait_for_mail(workspace, 1)
    assert message["Content-Language"] == "ru"
    loopback.post(link_in(message, "confirm", site), data={"confirm": "yes"})
    held = row(site["settings"], "embed@example.org")
    assert (held["status"], held["language"], held["name"]) == ("active", "ru", None)
    assert tags_of(site["settings"], "embed@example.org") == {"courts"}
    page.context.close()


def test_a_link_lasts_the_days_the_settings_give(workspace):
    """[signup] confirm_days sets when a confirmation link expires, and the email names that day in its language."""
    import datetime as dt

    from mco_newsletter.render.locale import format_date
    from reader_pages import add_topics

    add_topics(workspace)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nconfirm_days = 2\n")
    with serving(workspace) as served:
        sign_up(served, "soon@example.org", "de")
        [message] = wait_for_mail(workspace, 1)
        [stamps] = db_rows(served["settings"], "SELECT requested_at, expires_at FROM signup_requests")
        asked, expires = map(dt.datetime.fromisoformat, stamps)
    assert expires - asked == dt.timedelta(days=2)
    words = " ".join(f"Der Link ist bis zum {format_date(expires.date(), 'de')} gültig.".split())
    assert words in " ".join(text_of(message).split())


def test_the_consent_version_follows_the_words(workspace):
    """The consent text's version changes when its English words change, not when only the template around them
    does."""
    import os

    from mco_newsletter.config import load_settings
    from mco_newsletter.web.reader_context import CONSENT_TEMPLATE, consent_version

    settings = load_settings(workspace)
    path = override_template(workspace, CONSENT_TEMPLATE)
    text = path.read_text(encoding="utf-8")
    versions = [consent_version(settings)]
    for changed in (text.replace("{% macro consent_text() %}", "{% macro consent_text() %}\n"),
                    text.replace("contain no tracking", "contain no tracking of any kind")):
        assert changed != text
        stamp = path.stat().st_mtime_ns
        path.write_text(changed, encoding="utf-8")
        os.utime(path, ns=(stamp + 10**9, stamp + 10**9))  # a new file time, however coarse the clock
        versions.append(consent_version(settings))
    assert versions[0] == versions[1] != versions[2] and len(versions[2]) == 8


def test_reader_pages_send_no_referrer_and_log_no_token(site, run, workspace, caplog):
    """The form, the inbox answer, the confirmation and preferences pages carry the strict CSP, no referrer and
    no-store; the log names their routes, never a token or an address."""
    import logging

    caplog.set_level(logging.INFO, logger="mco_newsletter.web")
    settings = site["settings"]
    assert run("subscribers", "add", "reader@example.org", "--language", "en").exit_code == 0
    reader_token = reader_pages.reader_token(settings, "reader@example.org")
    answers = [loopback.get(site["url"] + "/subscribe"), sign_up(site, "new@example.org")]
    link = link_in(wait_for_mail(workspace, 1)[0], "confirm", site)
    answers += [loopback.get(link), loopback.post(link, data={"confirm": "yes"}),
                loopback.get(f"{site['url']}/p/{reader_token}"),
                loopback.post(f"{site['url']}/p/{reader_token}", data={"action": "save", "language": "de"})]
    assert [answer.status_code for answer in answers] == [200] * 6
    for answer in answers:
        assert answer.headers["content-security-policy"].startswith("default-src 'none'; style-src 'sha256-")
        assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"
    lines = [record.getMessage() for record in caplog.records]
    assert {"/subscribe", "/confirm/{token}", "/p/{token}"} <= {line.split()[1] for line in lines}
    for secret in (link.rsplit("/", 1)[1], reader_token, "new@", "reader@", "example.org"):
        assert not any(secret in line for line in lines), secret


def test_a_large_form_is_refused(site):
    """A sign-up body over 4 KB is refused with 413 before it is read."""
    answer = loopback.post(site["url"] + "/subscribe", content=b"email=" + b"a" * 5000)
    assert answer.status_code == 413 and answer.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["ru", "de"])
def test_every_sign_up_page_is_accessible_in_the_readers_language(browser, workspace, language):
    """The form, its error, the inbox answer, the limit, the confirmation, its answer, an expired link and the
    404: axe-clean in light and dark, in the reader's language, loading nothing from anywhere else."""
    headings = {"ru": ["Подписка на рассылку", "Подписка на рассылку", "Проверьте почту", "Пожалуйста, попробуйте позже",
                       "Подтвердите подписку", "Вы подписаны", "Срок действия ссылки истёк", "Ссылка недействительна"],
                "de": ["Newsletter abonnieren", "Newsletter abonnieren", "Sehen Sie in Ihrem Posteingang nach",
                       "Bitte versuchen Sie es später noch einmal", "Bestätigen Sie Ihr Abonnement",
                       "Sie haben den Newsletter abonniert", "Dieser Link ist abgelaufen", "Link ungültig"]}[language]
    reader_pages.add_topics(workspace)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nclient_limit = 2\n")  # the browser's third sign-up meets the limit
    with serving(workspace) as site:
        page = reader_page(browser, site, language, axe=True)
        seen = []

        def check() -> None:
            assert page.evaluate("document.documentElement.lang") == language
            seen.append(page.inner_text("h1"))
            assert reader_pages.accessibility_problems(page) == [], seen[-1]

        page.goto(f"{site['url']}/subscribe/{language}")
        check()
        for email, answer in (("broken@", "#email-error"), ("reader@example.org", "#inbox"),
                              ("one-more@example.org", "#too-many")):
            if not page.is_visible("#email"):
                page.goto(f"{site['url']}/subscribe/{language}")
            page.fill("#email", email)
            page.click("button[type=submit]")
            page.wait_for_selector(answer)
            check()
        page.goto(link_in(wait_for_mail(workspace, 1)[0], "confirm", site))
        check()
        page.click("button[type=submit]")
        page.wait_for_selector("#confirmed")
        check()
        sign_up(site, "later@example.org", language, client="192.0.2.1")
        later = wait_for_mail(workspace, 2)[-1]
        db_run(site["settings"], "UPDATE signup_requests SET expires_at = '2000-01-01T00:00:00+00:00' WHERE"
                                 " subscriber_id = (SELECT id FROM subscribers WHERE email = 'later@example.org')")
        assert str(later["To"]) == "later@example.org"
        page.goto(link_in(later, "confirm", site))
        check()
        page.goto(f"{site['url']}/confirm/not-a-token")
        check()
        assert seen == headings
        only_from(page, site)
        page.context.close()
