"""A link in a translation is the source's link: every address a mail client would make clickable counts, a changed
one needs a second person, and an override covers exactly the text it was given for."""

from __future__ import annotations

import pytest

from test_translation_rules import set_translation
from tiny_models import po

SOURCE_URL = "https://example.org/ru/march-2025"
EVIL_URL = "https://evil.example.net/ru/a"
ISSUE = f"""\
---
title: Дайджест март 2025
date: 2025-03-01
language: ru
preheader: Весь выпуск на {SOURCE_URL}
keywords: [Призыв]
---

Весь выпуск на сайте: {SOURCE_URL} — или на www.example.org.

## Контакты

Пишите на help@example.org или через <https://example.org/ru/contact>.
"""
ENGLISH = {
    "title": "Digest March 2025",
    "preheader": f"The whole issue at {SOURCE_URL}",
    "keywords/1": "Conscription",
    "intro/1": f"The whole issue on the website: {SOURCE_URL} — or at www.example.org.",
    "section-1/heading": "Contacts",
    "section-1/1": "Write to help@example.org or through <https://example.org/ru/contact>.",
}


def write_translation(workspace, issue_id: str, language: str, texts: dict[str, str]) -> None:
    """A complete catalog of approved translations, written as the tool writes catalogs."""
    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.merging import new_catalog

    issue = parse_issue(workspace / "issues" / issue_id / "issue.md")
    catalog = new_catalog(issue, language)
    for piece in pieces(issue):
        catalog.entries.append(Entry(piece.source, texts[piece.context], context=piece.context,
                                     flags=["no-python-format"]))
    write_catalog(catalog_path(issue, language), catalog)


@pytest.fixture
def russian_issue(run, workspace, write_issue):
    """A Russian-source issue whose bare URL, www. address, e-mail address and autolink are approved in English."""
    write_issue("2025-03", ISSUE, dedent=False)
    write_translation(workspace, "2025-03", "en", ENGLISH)
    result = run("check", "2025-03")
    assert result.exit_code == 0, result.output
    return workspace


@pytest.mark.parametrize("context,translation,rule,message", [
    ("intro/1", ENGLISH["intro/1"].replace(SOURCE_URL, EVIL_URL), "links",
     f"the link targets differ from the source: missing {SOURCE_URL}; not in the source {EVIL_URL}"),
    ("intro/1", ENGLISH["intro/1"].replace(f": {SOURCE_URL} —", " —"), "links",
     f"the link targets differ from the source (2 in the source, 1 in the translation): missing {SOURCE_URL}"),
    ("intro/1", ENGLISH["intro/1"].replace("www.example.org", "www.example.org.evil.example.net"), "links",
     "missing http://www.example.org; not in the source http://www.example.org.evil.example.net"),
    ("section-1/1", ENGLISH["section-1/1"].replace("<https://example.org/ru/contact>", "<https://evil.example/c>"),
     "links", "missing https://example.org/ru/contact; not in the source https://evil.example/c"),
    ("section-1/1", ENGLISH["section-1/1"].replace("help@example.org", "help@example.org.evil.example.net"), "emails",
     "the e-mail addresses differ from the source: missing help@example.org; not in the source "
     "help@example.org.evil.example.net"),
    ("section-1/1", ENGLISH["section-1/1"] + " Or https://evil.example/more.", "links",
     "not in the source https://evil.example/more"),
    ("preheader", ENGLISH["preheader"].replace(SOURCE_URL, EVIL_URL), "links",
     f"missing {SOURCE_URL}; not in the source {EVIL_URL}"),
    ("section-1/1", f"Write to [{EVIL_URL}](https://example.org/ru/contact) or help@example.org.", "links",
     f"not in the source {EVIL_URL}"),
], ids=["bare-swapped", "bare-dropped", "www-lookalike", "autolink", "address", "bare-added", "plain-piece",
        "link-label"])
def test_every_clickable_address_counts(run, russian_issue, tmp_path, context, translation, rule, message):
    """A bare URL, a www. address, an autolink or an e-mail address an English translation swaps, drops or adds
    (in Markdown or in a plain piece, or shown as a link's words, which the text part prints) breaks the rules:
    check names the line, render and send refuse the edition, and nothing is written."""
    line = set_translation(russian_issue, "2025-03", "en", context, translation)
    check = run("check")
    assert check.exit_code == 1
    assert f"issues/2025-03/en.po:{line}: {context}: the " in check.stderr and message in check.stderr
    render = run("render", "2025-03", "--lang", "en", "--out", str(tmp_path / "out"))
    assert render.exit_code == 1 and f"issues/2025-03/en.po:{line}: {context}:" in render.stderr
    assert not (tmp_path / "out" / "2025-03" / "en.html").exists()
    assert "not ready" in run("status", "2025-03", "--lang", "en").stdout


def test_review_refuses_a_swapped_bare_url(run, russian_issue):
    """The terminal review refuses to approve a translation whose bare URL is not the source's, and keeps it a draft."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = russian_issue / "issues" / "2025-03" / "en.po"
    catalog = read_catalog(path)
    next(entry for entry in catalog if entry.context == "intro/1").fuzzy = True
    write_catalog(path, catalog)
    swapped = ENGLISH["intro/1"].replace(SOURCE_URL, EVIL_URL)
    session = run("review", "2025-03", "--lang", "en", input=f"i\n{swapped}\na\nq\n")
    assert f"! the link targets differ from the source: missing {SOURCE_URL}; not in the source {EVIL_URL}" \
        in session.stdout
    entry = next(e for e in po(russian_issue, "2025-03", "en") if e.context == "intro/1")
    assert entry.fuzzy and entry.string == swapped


def test_host_case_and_the_same_link_written_another_way_agree(run, russian_issue):
    """What takes the reader to the same place agrees: a host in capitals, and a bare URL written as an autolink."""
    set_translation(russian_issue, "2025-03", "en", "intro/1",
                    f"The whole issue on the website: <{SOURCE_URL}> — or at WWW.EXAMPLE.ORG.")
    result = run("check")
    assert result.exit_code == 0, result.output


def test_bare_urls_are_links_in_the_edition(run, russian_issue, tmp_path):
    """The edition makes the source's bare URL, www. address and e-mail address links, as mail clients would, so
    every reader gets the same clickable addresses; the text part shows each once."""
    out = tmp_path / "out"
    assert run("render", "2025-03", "--out", str(out)).exit_code == 0
    html = (out / "2025-03" / "en.html").read_text(encoding="utf-8")
    assert f'href="{SOURCE_URL}"' in html and 'href="http://www.example.org"' in html
    assert 'href="mailto:help@example.org"' in html
    text = (out / "2025-03" / "en.txt").read_text(encoding="utf-8")
    assert text.count(SOURCE_URL) == 1 and "www.example.org (" not in text and "help@example.org (" not in text
