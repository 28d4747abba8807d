"""What an edition's HTML must carry: language, title, preheader, safe fonts, donation box, footer links."""

from __future__ import annotations

import re

import pytest

from conftest import SAMPLE_ISSUES, VALID_FRONT
from translated import translated  # noqa: F401  (a fixture)


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
def test_head_and_body_parts(render_edition, issue_id):
    """lang, title, preheader, dark-mode meta, 600 px body, date, donation and footer are all there."""
    rendered = render_edition(issue_id)
    html = rendered.html
    edition = rendered.edition
    assert re.search(r'<html lang="en"', html)
    assert f"<title>{edition.title} · Movement of Conscientious Objectors</title>" in html
    assert edition.preheader in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "max-width:600px" in html
    assert "FI35 8146 9710 3001 03" in html and "DABAFIHH" in html
    assert "Aseistakieltaytyjaliitto" in html and "Danske Bank" in html and "donation to MCO" in html
    assert f'href="https://digest.example.org/{issue_id}/en.html"' in html
    assert 'href="https://digest.example.org/u/preview"' in html
    assert "Support us through donations!" in html and "Thank you for reading!" in html


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
def test_no_remote_assets(render_edition, issue_id):
    """No web fonts, stylesheets, scripts or pictures from a server: the issue's pictures travel inside (cid:)."""
    html = render_edition(issue_id).html
    assert "<link" not in html and "@import" not in html and "<script" not in html
    assert "fonts.googleapis" not in html and "url(" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert all(src.startswith("cid:") for src in sources), sources
    assert "Noto Sans" in html and "sans-serif" in html  # a system stack with Cyrillic coverage


@pytest.mark.parametrize("language,date,words", [
    ("en", "January 31, 2024", "Support us through donations!"),
    ("de", "31. Januar 2024", "Unterstützen Sie uns mit einer Spende!"),
    ("ru", "31 января 2024 г.", "Поддержите нас пожертвованием!"),
])
def test_date_and_words_follow_the_language(render_edition, language, date, words):
    """The header date is formatted by babel for the edition's language, and the template words are translated."""
    rendered = render_edition("2023-12", language)
    # babel joins '2024 г.' with a narrow no-break space, as Russian typography wants.
    html, text = (part.replace("\u202f", " ").replace("\xa0", " ") for part in (rendered.html, rendered.text))
    assert date in html and date in text
    assert words in rendered.html
    assert f'<html lang="{language}"' in rendered.html
    assert rendered.edition.title == "Digest December 2023"


def test_draft_banner(render_edition):
    """A draft edition carries a visible banner and a [DRAFT] subject."""
    rendered = render_edition("2023-12", "de", draft=True)
    assert "Ungeprüfte maschinelle Übersetzung" in rendered.html
    assert "Ungeprüfte maschinelle Übersetzung" in rendered.text
    assert rendered.subject == "[DRAFT] Digest December 2023"
    assert "Ungeprüfte" not in render_edition("2023-12", "de").html


def test_text_part_is_built_from_content(render_edition):
    """The text part has the headings underlined, wrapped paragraphs, the donation details and the links."""
    text = render_edition("2024-05").text
    lines = text.splitlines()
    assert max(len(line) for line in lines if not line.startswith("http")) <= 72
    heading = "Mass raids on conscripts took place in Moscow"
    assert lines[lines.index(heading) + 1] == "-" * len(heading)
    assert "  IBAN: FI35 8146 9710 3001 03" in lines
    assert "https://digest.example.org/u/preview" in lines
    assert "https://digest.example.org/2024-05/en.html" in lines
    assert "<" not in text.replace("<https", "")


def test_a_quote_in_the_text_part_ends_with_its_last_line(write_issue, render_edition):
    """A one-line quote is one `>` line followed by the blank line before the next paragraph; a quote of two
    paragraphs has one empty `>` line between them and none after."""
    write_issue("quotes", VALID_FRONT + "\nBefore.\n\n> One line quoted.\n\nBetween.\n\n> First quoted.\n>\n"
                "> Second quoted.\n\nAfter.\n")
    text = render_edition("quotes").text
    assert "Before.\n\n> One line quoted.\n\nBetween.\n\n> First quoted.\n>\n> Second quoted.\n\nAfter.\n" in text


@pytest.mark.parametrize("language,sender,identity,address", [
    ("en", "Movement of Conscientious Objectors", "a human-rights organisation defending", "Helsinki, Finland"),
    ("de", "Bewegung der Kriegsdienstverweigerer", "eine Menschenrechtsorganisation", "Helsinki, Finnland"),
    ("ru", "Движение сознательных отказчиков", "правозащитная организация", "Хельсинки, Финляндия"),
])
def test_every_reader_visible_setting_in_the_readers_language(translated, language, sender, identity, address):
    """The From name, the footer's identity line and the postal address are the reader's language's."""
    from email import message_from_bytes
    from email.header import decode_header, make_header

    rendered = translated("2024-05", language)
    head = rendered.eml.split(b"\r\n\r\n")[0].decode("ascii")
    raw_from = head.split("\r\nFrom: ", 1)[1].split("\r\nReply-To:", 1)[0].replace("\r\n", "")
    assert str(make_header(decode_header(raw_from))) == f"{sender} <digest@example.org>"
    assert message_from_bytes(rendered.eml)["Content-Language"] == language
    for part in (rendered.html, " ".join(rendered.text.split())):
        assert identity in part and address in part


@pytest.mark.parametrize("language,label,explanation", [
    ("de", "Verwendungszweck", "genau so an, damit die Bank"),
    ("ru", "Назначение платежа", "точно так, как здесь написано"),
])
def test_bank_reference_exact_with_its_label_and_explanation_localized(translated, language, label, explanation):
    """The purpose stays exactly what the bank expects; its label and the explanation are in the reader's language."""
    rendered = translated("2023-12", language)
    assert f"{label}: <strong>donation to MCO</strong>" in rendered.html
    assert f"  {label}: donation to MCO" in rendered.text.splitlines()
    assert explanation in rendered.html and explanation in " ".join(rendered.text.split())


def test_direction_follows_the_language(workspace, render_edition):
    """A right-to-left language gets dir="rtl" and right-aligned text; ours stay ltr."""
    import shutil

    from mco_newsletter.render.locale import text_direction

    assert [text_direction(code) for code in ("ar", "he", "fa", "en", "ru")] == ["rtl"] * 3 + ["ltr"] * 2
    from mco_newsletter.defaults import LOCALES

    (workspace / "locales" / "he" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(LOCALES / "en" / "LC_MESSAGES" / "messages.po", workspace / "locales" / "he" / "LC_MESSAGES" / "messages.po")
    html = render_edition("2023-12", "he").html
    assert '<html lang="he" dir="rtl"' in html and "text-align:right" in html
    assert '<html lang="ru" dir="ltr"' in render_edition("2023-12", "ru").html


def test_links_carry_their_colour_inline(write_issue, render_edition):
    """Every link has its colour in a style attribute, so it survives a client that strips <style>."""
    write_issue("links", VALID_FRONT + "\nSee [the report](https://example.org/r).\n\n- [one](https://example.org/1)\n")
    html = render_edition("links").html
    links = re.findall(r"<a [^>]*>", html)
    assert len(links) == 5  # the two of the issue, view in browser, manage preferences, unsubscribe
    assert all(re.search(r'style="[^"]*color:#[0-9a-f]{6}', link) for link in links), links
    assert "overflow-wrap:anywhere" not in html.replace(" ", "")


def test_preheader_is_padded(render_edition):
    """The preheader is followed by a run of invisible characters, so previews do not run into the body."""
    html = render_edition("2023-12").html
    preheader = render_edition("2023-12").edition.preheader
    assert f"{preheader}{'&zwnj;&nbsp;' * 90}" in html


def test_alt_text_is_not_the_caption_again(write_issue, render_edition, workspace):
    """A picture whose alt text equals its caption gets an empty alt (heard once); a distinct alt text is kept."""
    import shutil

    folder = workspace / "issues" / "pics"
    write_issue("pics", VALID_FRONT + '\n![Same words](a.png "Same words")\n\n![Two soldiers](a.png "Photo: MCO")\n')
    shutil.copy(workspace / "issues" / "2024-05" / "aktion-suedkorea-2015.png", folder / "a.png")
    html = render_edition("pics").html
    alts = re.findall(r'<img[^>]* alt="([^"]*)"', html)
    assert alts == ["", "Two soldiers"]
    assert "Same words" in html and "Photo: MCO" in html


def test_text_part_never_breaks_dates_and_amounts(write_issue, render_edition):
    """In the plain-text part a date ("9 июля 2024 г.") and an amount ("130 000 рублей") stay on one line."""
    write_issue("ru-dates", """\
---
title: Дайджест
date: 2024-07-09
language: ru
preheader: p
keywords: []
---

""" + "".join(f"{'д' * n} 9 июля 2024 года мы собрали 130 000 рублей и € 50.\n\n" for n in range(1, 55, 3)))
    rendered = render_edition("ru-dates")
    lines = rendered.text.splitlines()
    # 18 paragraphs with the break at every other place; the header's and the footer's date
    for needle, count in (("9\xa0июля\xa02024", 20), ("130\xa0000\xa0рублей", 18), ("€\xa050", 18)):
        assert sum(needle in line for line in lines) == count, needle
