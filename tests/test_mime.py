"""The .eml parsed back with Python's email package: structure, encoding and every required header."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from email.utils import parsedate_to_datetime

import pytest

from conftest import SAMPLE_ISSUES


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_message_structure_and_headers(render_edition, issue_id, language):
    """multipart/alternative with text then HTML in UTF-8, and all headers a mail client needs."""
    rendered = render_edition(issue_id, language)
    message = message_from_bytes(rendered.eml, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    # The email package ends every part with a newline.
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == rendered.html.rstrip("\n")
    assert message["Subject"] == rendered.subject
    assert message["From"].addresses[0].addr_spec == "digest@example.org"
    assert message["From"].addresses[0].display_name == "Movement of Conscientious Objectors"
    assert message["Reply-To"] == "advocacy@example.org"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@example.org>")
    assert message["Content-Language"] == language
    assert message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe"] == ("<https://digest.example.org/u/preview>, "
                                           "<mailto:advocacy@example.org?subject=unsubscribe>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not message.defects and not text.defects and not html.defects


def test_lines_are_short_and_ascii(render_edition):
    """Every line of the raw message is 7-bit and at most 998 octets (RFC 5322), whatever the language."""
    eml = render_edition("2023-12", "ru").eml
    assert eml.isascii()
    assert max(len(line) for line in eml.split(b"\r\n")) <= 998
    assert b"\r\n" in eml


def test_localized_subject_is_encoded(write_issue, render_edition):
    """A Cyrillic title becomes an RFC 2047 encoded subject that decodes back to itself."""
    write_issue("ru-issue", """\
---
title: Дайджест за май 2024
date: 2024-07-09
language: ru
preheader: Облавы на призывников в Москве.
keywords: [Россия]
---

Друзья, всем привет!
""")
    rendered = render_edition("ru-issue")
    message = message_from_bytes(rendered.eml, policy=default)
    assert b"=?utf-8?" in rendered.eml.split(b"\r\n\r\n")[0]
    assert message["Subject"] == "Дайджест за май 2024"
    assert message["Content-Language"] == "ru"


def test_non_ascii_sender_and_long_subject(workspace, write_issue):
    """A Cyrillic sender name and a long subject are encoded and folded, and decode back unchanged."""
    from conftest import set_setting
    from mco_newsletter.config import load_settings
    from mco_newsletter.edition import build_edition
    from mco_newsletter.render import render
    from mco_newsletter.workspace import load_issue

    set_setting(workspace, 'name = "Movement of Conscientious Objectors"', 'name = "Движение сознательных отказчиков"')
    title = "Дайджест: " + "очень длинная тема письма " * 6
    write_issue("long", f"""\
---
title: "{title.strip()}"
date: 2024-07-09
language: ru
preheader: p
keywords: []
---

Текст.
""")
    settings = load_settings(workspace)
    eml = render(build_edition(load_issue(settings, "long")), settings).eml
    head = eml.split(b"\r\n\r\n")[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    message = message_from_bytes(eml, policy=default)
    assert message["Subject"] == title.strip()
    # Decoded as RFC 2047 says (white space between encoded-words dropped); Python's address
    # parser instead adds a space between them, so the raw header is decoded here.
    from email.header import decode_header, make_header

    raw_from = head.decode().split("From: ", 1)[1].split("\r\nReply-To:", 1)[0].replace("\r\n", "")
    assert str(make_header(decode_header(raw_from))) == "Движение сознательных отказчиков <digest@example.org>"
    assert message["From"].addresses[0].addr_spec == "digest@example.org"


def test_multiline_title_is_refused(write_issue, settings):
    """A title over several lines would break the Subject header: the checker refuses it."""
    from mco_newsletter.issue import read_issue

    path = write_issue("ml", "---\ntitle: |\n  one\n  two\ndate: 2024-07-09\nlanguage: en\npreheader: p\n"
                             "keywords: []\n---\n\nText.\n")
    _, problems = read_issue(path, languages=settings.languages)
    assert [(p.line, p.message) for p in problems] == [(2, "'title' must be one line")]


@pytest.mark.parametrize("token", ["AAAAAAAAMDl-Ew-DTTMBdvJsEWmc3O-A0M4", "short-token"])
def test_template_fill_equals_fresh_encoding(settings, token):
    """A reader's copy (token swapped into the encoded bytes, or encoded afresh) decodes to the edition
    with the token in place of the placeholder, for an internationalized address too."""
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.delivery.message import personal_message
    from mco_newsletter.workspace import load_issue

    edition = prepare_editions(settings, load_issue(settings, "2024-05"), ["en"])["en"]
    raw = personal_message(edition, "анна@пример.рф", token)
    message = message_from_bytes(raw, policy=default)
    assert message["To"] == "анна@пример.рф"
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n").rstrip("\n")
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n")
    assert html == edition.html.replace(edition.tag, token).rstrip("\n")
    assert text == edition.text.replace(edition.tag, token).rstrip("\n")
    assert f"/u/{token}" in html and edition.tag not in raw.decode("utf-8")
    assert not message.defects
