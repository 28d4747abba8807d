"""The .eml parsed back with Python's email package: structure, encoding and every required header."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import SAMPLE_ISSUES
from translated import translated  # noqa: F401  (a fixture)


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
@pytest.mark.parametrize("language", ["en", "ru"])
def test_message_structure_and_headers(render_edition, issue_id, language):
    """multipart/alternative with text then HTML in UTF-8, and all headers a mail client needs."""
    rendered = render_edition(issue_id, language)
    message = message_from_bytes(rendered.eml, policy=default)
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()[0], message.get_body(("html",))
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    # The email package ends every part with a newline.
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == rendered.html.rstrip("\n")
    assert message["Subject"] == rendered.subject
    assert message["From"].addresses[0].addr_spec == "digest@example.org"
    # In the reader's language (Python's parser adds a space between encoded-words: see the test below).
    assert " ".join(message["From"].addresses[0].display_name.split()) == {
        "en": "Movement of Conscientious Objectors", "ru": "Движение сознательных отказчиков"}[language]
    assert message["Reply-To"] == "advocacy@example.org"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@example.org>")
    assert message["Content-Language"] == language
    assert message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe"] == ("<https://digest.example.org/u/preview>, "
                                           "<mailto:advocacy@example.org?subject=unsubscribe>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(not part.defects for part in message.walk())


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
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    set_setting(workspace, 'name = { en = "Movement of Conscientious Objectors"', 'name = { en = "Движение сознательных отказчиков"')
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


def test_bulk_headers(render_edition):
    """Precedence: bulk, X-Auto-Response-Suppress and a Feedback-ID that names the campaign, never a reader."""
    message = message_from_bytes(render_edition("2024-05").eml, policy=default)
    assert message["Precedence"] == "bulk"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert message["Feedback-ID"] == "2024-05:en:digest:digest.example.org"


def test_feedback_id_on_the_message_template(settings):
    """The prepared edition's template carries the Feedback-ID, for backends that build headers themselves."""
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.workspace import load_issue

    edition = prepare_editions(settings, load_issue(settings, "2023-12"), ["en"])["en"]
    assert edition.template.feedback_id == "2023-12:en:digest:digest.example.org"
    assert b"Feedback-ID: 2023-12:en:digest:digest.example.org\r\n" in edition.template.head


def test_each_part_takes_the_shorter_encoding(translated):
    """A Russian edition's parts go base64 (shorter than quoted-printable for Cyrillic), an English one's stay
    quoted-printable; each decodes back to the rendered text."""
    from mco_newsletter.render.mime import quoted_printable

    for language, expected in (("ru", "base64"), ("en", "quoted-printable")):
        rendered = translated("2023-12", language)
        message = message_from_bytes(rendered.eml, policy=default)
        for part, body in ((message.get_body(("plain",)), rendered.text), (message.get_body(("html",)), rendered.html)):
            assert part["Content-Transfer-Encoding"] == expected, (language, part.get_content_type())
            assert part.get_content().replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")
        if language == "ru":
            all_qp = len(quoted_printable(rendered.text)) + len(quoted_printable(rendered.html))
            assert len(rendered.eml) < all_qp  # the whole message is smaller than its bodies were in quoted-printable


@hypothesis_settings(max_examples=400, deadline=None)
@given(text=st.text(st.sampled_from("ab =.\n\tжё€😀"), max_size=300))
def test_the_shorter_encoding_wins_at_every_mix_of_scripts(text):
    """Whatever the mix of ASCII and other scripts, a part is base64 exactly when that is shorter than quoted-printable."""
    import base64

    from mco_newsletter.render.mime import _text_part, quoted_printable

    raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    qp_length, base64_length = len(quoted_printable(text)), len(base64.encodebytes(raw).replace(b"\n", b"\r\n"))
    chosen = b"".join(piece for piece in _text_part("plain", text, "") if isinstance(piece, bytes))
    assert (b"base64" in chosen.split(b"\r\n\r\n")[0]) == (base64_length < qp_length), (qp_length, base64_length)


@pytest.mark.parametrize("language", ["ru", "de"])
@pytest.mark.parametrize("token", ["AAAAAAAAMDl-Ew-DTTMBdvJsEWmc3O-A0M4", "short-token"])
def test_template_fill_in_base64_parts(workspace, translated, language, token):
    """A reader's token goes into base64 parts too (swapped in its own 3-byte groups, or encoded afresh) and the
    copy decodes to the edition with the token in place of the placeholder."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.delivery.message import personal_message
    from mco_newsletter.workspace import load_issue

    settings = load_settings(workspace)
    edition = prepare_editions(settings, load_issue(settings, "2024-05"), [language])[language]
    raw = personal_message(edition, "reader@example.org", token)
    message = message_from_bytes(raw, policy=default)
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    if language == "ru":
        assert html["Content-Transfer-Encoding"] == "base64" and text["Content-Transfer-Encoding"] == "base64"
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == edition.html.replace(edition.tag, token).rstrip("\n")
    assert text.get_content().replace("\r\n", "\n").rstrip("\n") == edition.text.replace(edition.tag, token).rstrip("\n")
    assert all(not part.defects for part in message.walk())
    assert max(len(line) for line in raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")) <= 78


@pytest.mark.parametrize("value", ["Digest\r\nBcc: victim@example.org", "Digest\x00", "Digest\x1b[31m", "Dig\x85est"])
def test_header_values_with_control_characters_are_refused(value):
    """A line break or another control character never reaches a header: a clear error instead."""
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.render.mime import fold

    for header in (("Subject", value), ("From", (value, "digest@example.org"))):
        with pytest.raises(NewsletterError, match="cannot hold the control character"):
            fold(*header)


INJECTED = "\r\nBcc: victim@evil.example"


@pytest.mark.parametrize("field", ["base_url", "reply_to", "token"])
@pytest.mark.parametrize("backend", ["message", "sendgrid"])
def test_list_unsubscribe_is_refused_where_it_is_built(settings, backend, field):
    """A base_url, reply address (the mailto) or token carrying CR/LF that got past check is refused where the
    List-Unsubscribe header is built, for the .eml/SMTP message and for SendGrid's request alike: no Bcc: header."""
    import dataclasses
    import re

    from mco_newsletter.delivery.backends import Recipient
    from mco_newsletter.delivery.backends.sendgrid import request_body
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.delivery.message import personal_message
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.workspace import load_issue

    edition = prepare_editions(settings, load_issue(settings, "2023-12"), ["en"])["en"]
    token = "A" * len(edition.tag)
    if field == "token":
        token = token[:10] + INJECTED
    else:
        edition = dataclasses.replace(edition, **{field: getattr(edition, field) + INJECTED})
    with pytest.raises(NewsletterError, match=re.escape(f"List-Unsubscribe header cannot hold the control character {chr(13)!r}")):
        if backend == "message":
            personal_message(edition, "reader@example.org", token)
        else:
            request_body(edition, [Recipient(1, "reader@example.org", token)], 1, settings.sending.sendgrid)


def test_per_language_sender_name_with_a_line_break_is_refused_by_check(workspace):
    """A sender name for one language holding a line break is a problem at its line, never a header."""
    from conftest import set_setting
    from mco_newsletter.config import read_settings

    sender = '[sender]\n# The From name, in the reader\'s language.\nname = { en = "Movement of Conscientious Objectors", '
    set_setting(workspace, sender + 'de = "Bewegung der Kriegsdienstverweigerer"',
                sender + 'de = "Bewegung der Kriegsdienstverweigerer\\nBcc: x@example.org"')
    _, problems = read_settings(workspace)
    assert [p.message for p in problems] == ["sender.name.de must be one line"]


def test_title_that_looks_encoded_is_shown_as_written(write_issue, render_edition):
    """A title with '=?utf-8?q?x?=' is encoded, so mail clients show those characters instead of decoding them."""
    write_issue("literal", """\
---
title: "Write =?utf-8?q?x?= to test"
date: 2024-07-09
language: en
preheader: p
keywords: []
---

Text.
""")
    eml = render_edition("literal").eml
    head = eml.split(b"\r\n\r\n")[0].decode("ascii")
    assert "=?utf-8?q?x?=" not in head
    assert message_from_bytes(eml, policy=default)["Subject"] == "Write =?utf-8?q?x?= to test"


@pytest.mark.parametrize("alphabet", ["абвгдежзий \n", "abc \n"])
def test_token_goes_into_any_position_of_either_encoding(alphabet):
    """Wherever the placeholder stands (any offset in its 3-byte group, twice in a row, at the very end), the
    filled message decodes to the text with the reader's token: base64 for Cyrillic, quoted-printable for ASCII."""


    from mco_newsletter.render.mime import message_template

    tag, token = "mcounsubTAG0123456789", "Reader_Token-0123456789"[:21]

    @hypothesis_settings(max_examples=60, deadline=None)
    @given(st.lists(st.text(alphabet=alphabet, max_size=40), min_size=1, max_size=5))
    def check(chunks):
        text = tag.join(chunks)
        template = message_template(subject="s", text=text, html=text, language="ru", sender_name="n",
                                    sender_address="a@example.org", reply_to="a@example.org", list_id="l", tag=tag)
        message = message_from_bytes(template.fill(to="r@example.org", token=token, list_unsubscribe="<https://x/>"),
                                     policy=default)
        for part in message.get_payload():
            assert part.get_content().replace("\r\n", "\n").rstrip("\n") == text.replace(tag, token).rstrip("\n")
            assert not part.defects

    check()


def test_title_with_a_control_character_is_an_error_not_a_header(run, write_issue, tmp_path):
    """A title holding an escape character stops render with a message; no message with a forged header is written."""
    write_issue("esc", '---\ntitle: "Digest\\e[2J"\ndate: 2024-07-09\nlanguage: en\npreheader: p\nkeywords: []\n---\n\n'
                       "Text.\n")
    result = run("render", "esc", "--out", str(tmp_path / "b"))
    assert result.exit_code == 1 and "control character" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "b" / "esc" / "en.eml").exists()
