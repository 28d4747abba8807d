"""What an edition's HTML must carry: language, title, preheader, safe fonts, donation box, footer links."""

from __future__ import annotations

import re

import pytest

from conftest import SAMPLE_ISSUES


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
def test_no_remote_assets_but_the_issue_images(render_edition, issue_id):
    """No web fonts, stylesheets or scripts: the only things loaded are the issue's own images."""
    html = render_edition(issue_id).html
    assert "<link" not in html and "@import" not in html and "<script" not in html
    assert "fonts.googleapis" not in html and "url(" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert all(src.startswith(f"https://digest.example.org/{issue_id}/") for src in sources), sources
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
