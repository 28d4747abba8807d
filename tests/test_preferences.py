"""The reader's preferences page, reached from every email's footer: language, topics, leaving and coming back,
and what is held, shown masked to whoever holds the link and in full only to the address itself."""

from __future__ import annotations

import re

import pytest
from stores import db_run

import loopback
from reader_pages import outbox, row, settle, site, tags_of, text_of, wait_for_mail  # noqa: F401
from test_signup import only_from, reader_page
from translated import translated  # noqa: F401  (a fixture)

pytestmark = pytest.mark.stores


def sent_token(workspace, email: str) -> str:
    """The token in the newest issue sent to the reader (from its List-Unsubscribe header)."""
    message = [m for m in outbox(workspace) if str(m["To"]) == email and m["List-Unsubscribe"]][-1]
    return re.search(r"/u/([a-z2-7]{40})\?issue=[^>]+>", message["List-Unsubscribe"]).group(1)


@pytest.fixture
def reader(site, run):
    """Anna, an active reader of the English edition with a name, a private tag and a public topic."""
    assert run("subscribers", "add", "anna@example.org", "--language", "en", "--name", "Anna Petrova",
               "--tag", "russia", "--tag", "donor", "--tag", "courts").exit_code == 0
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    return "anna@example.org"


def test_every_email_links_to_the_preferences_page_beside_an_unchanged_list_unsubscribe(site, reader, workspace):
    """The footer (HTML and text) carries Manage preferences with the reader's token and the issue it came in;
    List-Unsubscribe and one-click stay as they were, with the issue beside the token."""
    [message] = outbox(workspace)
    token = sent_token(workspace, reader)
    assert message["List-Unsubscribe"] == (f"<https://digest.example.org/u/{token}?issue=2024-05>, "
                                           f"<mailto:advocacy@example.org?subject=unsubscribe%20{token}>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    assert f'href="https://digest.example.org/p/{token}?issue=2024-05"' in html and "Manage preferences" in html
    assert f"Manage preferences:\r\nhttps://digest.example.org/p/{token}?issue=2024-05" in text_of(message)
    assert loopback.get(f"{site['url']}/p/{token}").status_code == 200
    one_click = loopback.post(f"{site['url']}/u/{token}", content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and row(site["settings"], reader)["status"] == "unsubscribed"


@pytest.mark.browser
def test_changing_the_language_changes_which_edition_the_next_send_gives(browser, translated, site, run, workspace):
    """An English reader picks Deutsch on their preferences page; the next `send` gives them the German edition."""
    assert run("subscribers", "add", "cara@example.org", "--language", "en").exit_code == 0
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    assert outbox(workspace)[-1]["Content-Language"] == "en"
    page = reader_page(browser, site, "en")
    page.goto(f"{site['url']}/p/{sent_token(workspace, 'cara@example.org')}")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.check("input[name=language][value=de]")
    page.click("text=Save")
    page.wait_for_selector("#notice")
    assert page.inner_text("#notice") == "Ihre Auswahl ist gespeichert."  # the page now speaks German
    assert page.evaluate("document.documentElement.lang") == "de"
    assert row(site["settings"], "cara@example.org")["language"] == "de"
    assert run("send", "2023-12", "--segment", "all", "--yes").exit_code == 0
    latest = [m for m in outbox(workspace) if str(m["To"]) == "cara@example.org"][-1]
    assert latest["Content-Language"] == "de" and "Einstellungen verwalten" in text_of(latest)
    page.context.close()


def test_whoever_holds_the_link_sees_only_masked_data(site, reader, workspace):
    """Emails get forwarded: the page shows the address and name masked and only public topics, never the rest."""
    page = loopback.get(f"{site['url']}/p/{sent_token(workspace, reader)}")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "a\u2022\u2022\u2022@example.org" in page.text and "A\u2022\u2022\u2022" in page.text
    for secret in ("anna", "Anna", "Petrova", "russia", "donor"):
        assert secret not in page.text, secret
    assert "Court cases" in page.text and "receives the newsletter" in page.text


def test_the_full_record_goes_to_the_address_itself_once_an_hour(site, reader, workspace):
    """"Email me the full record" sends everything held to the reader's own address (at most once an hour)."""
    url = f"{site['url']}/p/{sent_token(workspace, reader)}"
    for _ in range(2):
        answer = loopback.post(url, data={"action": "access"})
        assert answer.status_code == 200 and "The full record is being sent to your address" in answer.text
        settle(site)
    records = [m for m in outbox(workspace) if m["Subject"] == "What we hold about you"]
    assert len(records) == 1
    record = text_of(records[0])
    assert str(records[0]["To"]) == reader and "List-Unsubscribe" not in records[0]
    for held in ("Email address: anna@example.org", "Your name: Anna Petrova", "Tags: courts, donor, russia",
                 "Topics: Court cases", "Consent given:", "added by hand", "2024-05 (sent"):
        assert held in record, held
    assert "https://digest.example.org/p/" in record


def test_topics_leaving_and_coming_back(site, reader, run, workspace):
    """Saving topics sets the public topics' tags only; unsubscribing and resubscribing work from the page, and
    a complaint is never softened by it."""
    settings = site["settings"]
    url = f"{site['url']}/p/{sent_token(workspace, reader)}"
    loopback.post(url, data={"action": "save", "language": "en", "topics": ["actions", "no-such-topic"]})
    assert tags_of(settings, reader) == {"russia", "donor", "actions"}
    left = loopback.post(url, data={"action": "unsubscribe"})
    assert "You are unsubscribed." in left.text and 'value="resubscribe"' in left.text
    assert row(settings, reader)["status"] == "unsubscribed"
    back = loopback.post(url, data={"action": "resubscribe"})
    assert "You receive the newsletter again." in back.text
    held = row(settings, reader)
    assert held["status"] == "active" and held["consent_source"] == "asked again through their preferences page"
    assert run("subscribers", "unsubscribe", reader).exit_code == 0
    db_run(settings, "UPDATE subscribers SET status = 'complained' WHERE email = ?", (reader,))
    loopback.post(url, data={"action": "unsubscribe"})
    assert row(settings, reader)["status"] == "complained"


def test_an_erased_readers_preferences_link_leads_nowhere(site, reader, run, workspace):
    """After an erasure the preferences link is the neutral 404, like every link that leads nowhere."""
    url = f"{site['url']}/p/{sent_token(workspace, reader)}"
    assert loopback.get(url).status_code == 200
    assert run("subscribers", "erase", reader, "--yes").exit_code == 0
    gone = loopback.get(url)
    assert gone.status_code == 404 and gone.text == loopback.get(f"{site['url']}/u/garbage").text


@pytest.mark.browser
@pytest.mark.parametrize("language", ["ru", "de"])
def test_the_preferences_page_is_accessible_in_the_readers_language(browser, site, run, workspace, language):
    """The page and its answers: axe-clean in light and dark, in the reader's language, nothing from elsewhere."""
    from reader_pages import accessibility_problems, reader_token

    assert run("subscribers", "add", "vera@example.org", "--language", language, "--tag", "courts").exit_code == 0
    page = reader_page(browser, site, "en", axe=True)
    page.goto(f"{site['url']}/p/{reader_token(site['settings'], 'vera@example.org')}")
    for action in (None, "save", "unsubscribe", "resubscribe", "access"):
        if action:
            page.click(f"form:has(input[value={action}]) button")
            page.wait_for_selector("#notice")
        assert page.evaluate("document.documentElement.lang") == language
        assert accessibility_problems(page) == [], action
    only_from(page, site)
    page.context.close()


@pytest.mark.browser
def test_the_dates_are_written_as_the_readers_language_writes_them(browser, site, run):
    """"On the list since" and "Consent given" read as dates of the page's language (5. März 2024, 5 марта
    2024 г.), not as ISO dates."""
    from reader_pages import reader_token

    shown = {"en": ("March 5, 2024", "March 6, 2024"), "de": ("5. März 2024", "6. März 2024"),
             "ru": ("5 марта 2024 г.", "6 марта 2024 г.")}
    for language, (since, consent) in shown.items():
        email = f"{language}@example.org"
        assert run("subscribers", "add", email, "--language", language).exit_code == 0
        db_run(site["settings"], "UPDATE subscribers SET created_at = '2024-03-05T23:59:59+00:00', "
                                 "consent_at = '2024-03-06T00:00:00+00:00' WHERE email = ?", (email,))
        page = reader_page(browser, site, language)
        page.goto(f"{site['url']}/p/{reader_token(site['settings'], email)}")
        held = [text.replace("\xa0", " ").replace("\u202f", " ") for text in page.locator("dl dd").all_inner_texts()]
        assert held[-2:] == [since, consent], (language, held)
        page.context.close()
