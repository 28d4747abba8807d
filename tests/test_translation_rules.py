"""Approved translations are held to the source's rules: check reports, review refuses, render and send refuse."""

from __future__ import annotations

import json

import pytest

from conftest import VALID_FRONT
from tiny_models import approve_all, po

SOURCE = ("Read the [report](https://example.org/report?id=338&lang=en) or write to help@example.org: "
          "130,000 people, Article 338, IBAN FI35 8146 9710 3001 03, on 9 July 2024.")


def set_translation(workspace, issue_id: str, language: str, context: str, text: str, comment: str = "") -> int:
    """Write a translation into the catalog as a PO editor would, approved; returns its msgstr line."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = workspace / "issues" / issue_id / f"{language}.po"
    catalog = read_catalog(path)
    entry = next(entry for entry in catalog if entry.context == context)
    entry.string, entry.fuzzy = text, False
    if comment:
        entry.comments.append(comment)
    write_catalog(path, catalog)
    return next(e for e in read_catalog(path) if e.context == context).string_line


@pytest.fixture
def approved_issue(run, workspace, write_issue, models):
    """An issue with links, an address and numbers, drafted into German and approved."""
    write_issue("rules", VALID_FRONT + f"\n{SOURCE}\n\n## Background\n\nA second paragraph.\n")
    assert run("translate", "rules", "--lang", "de").exit_code == 0
    approve_all(workspace, "rules", "de")
    assert run("check").exit_code == 0
    return workspace


@pytest.mark.parametrize("translation,message", [
    ("Lies den ![x](https://tracker.example/p.gif) Bericht", "an image the source does not have: "
                                                              "'https://tracker.example/p.gif'"),
    ("Lies den [Bericht](ftp://files.example/report)", "link target 'ftp://files.example/report' is not a web or "
                                                       "mailto address"),
    ("Lies den [Bericht](//evil.example/report)", "link target '//evil.example/report' is not a web or mailto address"),
    ("Lies den <a href='https://evil.example'>Bericht</a>", "raw HTML is not allowed"),
    ("Lies den `Bericht`", "inline code is not supported"),
    ("<div>Bericht</div>", "raw HTML is not allowed"),
])
def test_markdown_rules_hold_for_translations(run, approved_issue, tmp_path, translation, message):
    """A translation may not carry what the source could not; check names the line, render refuses, nothing written."""
    line = set_translation(approved_issue, "rules", "de", "section-1/1", translation)
    result = run("check")
    assert result.exit_code == 1
    assert f"issues/rules/de.po:{line}: section-1/1: {message}" in result.stderr
    render = run("render", "rules", "--lang", "de", "--out", str(tmp_path / "out"))
    assert render.exit_code == 1 and f"issues/rules/de.po:{line}: section-1/1: {message}" in render.stderr
    assert not (tmp_path / "out" / "rules" / "de.html").exists()
    drafts = run("render", "rules", "--lang", "de", "--allow-drafts", "--out", str(tmp_path / "out"))
    assert drafts.exit_code == 1


def test_markdown_rules_have_no_override(run, approved_issue):
    """An override comment accepts legitimate differences, never a link the source's rules refuse."""
    set_translation(approved_issue, "rules", "de", "section-1/1", "Lies den [Bericht](//evil.example/report)",
                    comment="override: links, numbers, emails")
    assert run("check").exit_code == 1


@pytest.mark.parametrize("translation,rule,message", [
    (SOURCE.replace("https://example.org/report?id=338&lang=en", "https://example.org/report"), "links",
     "the link targets differ from the source: missing https://example.org/report?id=338&lang=en; not in the source "
     "https://example.org/report"),
    (SOURCE.replace("[report](https://example.org/report?id=338&lang=en)", "report"), "links",
     "the link targets differ from the source (1 in the source, 0 in the translation): missing "
     "https://example.org/report?id=338&lang=en"),
    (SOURCE + " [mehr](https://example.org/more)", "links", "not in the source https://example.org/more"),
    (SOURCE.replace("help@example.org", "help@evil.example"), "emails", "the e-mail addresses differ"),
    (SOURCE.replace("130,000", "130.000").replace("9 July", "9. Juli"), None, None),
    (SOURCE.replace("130,000", "hundertdreißigtausend"), "numbers",
     "the numbers differ from the source (5 in the source, 4 in the translation): missing 130000"),
    (SOURCE.replace("FI35 8146 9710 3001 03", "FI35 8146 9710 3001 04"), "numbers", "missing FI3581469710300103"),
    (SOURCE.replace("Article 338", "Artikel 339"), "numbers", "missing 338; not in the source 339"),
])
def test_translation_agrees_with_the_source(run, approved_issue, tmp_path, translation, rule, message):
    """Link targets, addresses and numbers of an approved translation agree with the source (numbers as any
    language writes them: 130,000 = 130.000); check reports a difference, render and send refuse the edition."""
    line = set_translation(approved_issue, "rules", "de", "intro/1", translation)
    result = run("check")
    if rule is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert f"issues/rules/de.po:{line}: intro/1: the " in result.stderr and message in result.stderr
    assert "[o] (an override)" in result.stderr
    render = run("render", "rules", "--lang", "de", "--out", str(tmp_path / "out"))
    assert render.exit_code == 1 and "issues/rules/de.po" in render.stderr
    status = run("status", "rules", "--lang", "de").stdout
    assert "not ready; 1 approved piece breaks the translation rules" in status


@pytest.mark.stores
def test_send_refuses_an_edition_against_the_rules(run, workspace, approved_issue):
    """send stops before anyone gets an edition whose approved link differs from the source's."""
    from test_send import configure, populate

    configure(workspace)
    populate(workspace, 4)
    set_translation(workspace, "rules", "de", "intro/1", SOURCE.replace("example.org/report", "evil.example/report"))
    result = run("send", "rules", "--segment", "all", "--yes")
    assert result.exit_code == 1 and "issues/rules/de.po" in result.stderr and "link targets differ" in result.stderr
    outbox = workspace / "private" / "outbox" / "new"
    assert not outbox.exists() or not any(outbox.iterdir())


def test_archive_refuses_an_edition_against_the_rules(run, approved_issue, tmp_path):
    """The archive never publishes an approved edition that breaks the rules."""
    set_translation(approved_issue, "rules", "de", "intro/1", SOURCE.replace("338&lang=en", "338&lang=de"))
    result = run("archive", "--out", str(tmp_path / "site"))
    assert result.exit_code == 1 and "issues/rules/de.po" in result.stderr
    assert not (tmp_path / "site" / "rules" / "de.html").exists()


def test_override_in_review_is_recorded_and_shown(run, approved_issue, tmp_path):
    """A legitimate difference is refused on approval, approved with [o], recorded in the catalog, shown by status."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = approved_issue / "issues" / "rules" / "de.po"
    catalog = read_catalog(path)
    entry = next(e for e in catalog if e.context == "intro/1")
    entry.fuzzy = True
    write_catalog(path, catalog)
    words = SOURCE.replace("130,000", "hundertdreißigtausend")
    session = run("review", "rules", "--lang", "de", "--translator", "Anna <anna@example.org>",
                  input=f"i\n{words}\no\nq\n")
    assert session.exit_code == 0, session.output
    assert "! the numbers differ from the source" in session.stdout and "Not approved." in session.stdout
    assert "[o] approve anyway" in session.stdout and "1 decision saved" in session.stdout
    entry = next(e for e in po(approved_issue, "rules", "de") if e.context == "intro/1")
    assert entry.string == words and not entry.fuzzy
    assert any(c.startswith("override: numbers · text ") and "— approved by Anna <anna@example.org> on " in c
               for c in entry.comments)
    assert "1 override: intro/1 (numbers)" in run("status", "rules").stdout
    rows = json.loads(run("status", "rules", "--json").stdout)["languages"]
    assert next(r for r in rows if r["language"] == "de")["overrides"] == [
        {"piece": "intro/1", "rules": ["numbers"], "source": [], "translation": []}]
    assert run("check").exit_code == 0
    assert run("render", "rules", "--lang", "de", "--out", str(tmp_path / "out")).exit_code == 0


def test_override_written_in_a_po_editor(run, approved_issue):
    """A translator comment `override: numbers · text <fingerprint>` added in Poedit approves a number written in
    words, for that text only."""
    from mco_newsletter.overrides import fingerprint

    words = SOURCE.replace("130,000", "hundertdreißigtausend")
    set_translation(approved_issue, "rules", "de", "intro/1", words,
                    comment=f"override: numbers · text {fingerprint(SOURCE, words)}")
    assert run("check").exit_code == 0


def test_review_refuses_a_dropped_link(run, approved_issue):
    """Approving a translation that drops the source's link is refused in review and nothing is written."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = approved_issue / "issues" / "rules" / "de.po"
    catalog = read_catalog(path)
    next(e for e in catalog if e.context == "intro/1").fuzzy = True
    write_catalog(path, catalog)
    before = path.read_bytes()
    session = run("review", "rules", "--lang", "de", input="i\nLies den Bericht.\ns\nq\n")
    assert "! the link targets differ from the source" in session.stdout
    entry = next(e for e in po(approved_issue, "rules", "de") if e.context == "intro/1")
    assert entry.fuzzy and entry.string == "Lies den Bericht."  # kept as a draft, never approved
    assert path.read_bytes() != before


def test_lost_characters_in_a_draft_are_flagged(run, approved_issue):
    """A draft holding ⁇ is flagged by check, review and status."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = approved_issue / "issues" / "rules" / "de.po"
    catalog = read_catalog(path)
    entry = next(e for e in catalog if e.context == "section-1/1")
    entry.string, entry.fuzzy = "EIN ZWEITER ⁇ ABSATZ.", True
    write_catalog(path, catalog)
    line = next(e for e in read_catalog(path) if e.context == "section-1/1").string_line
    result = run("check")
    assert result.exit_code == 1
    assert f"issues/rules/de.po:{line}: section-1/1: the draft holds ⁇: the model lost characters" in result.stderr
    session = run("review", "rules", "--lang", "de", input="q\n")
    assert "! contains ⁇: the model lost characters here" in session.stdout
    assert "1 draft holds ⁇" in run("status", "rules").stdout


PICTURE = "aktion-suedkorea-2015.png"


@pytest.fixture
def pictured_issue(run, workspace, write_issue, models):
    """An issue with one picture (alt text and caption) between two paragraphs, drafted into German and approved."""
    import shutil

    path = write_issue("pics", VALID_FRONT + f'\nA first paragraph.\n\n![Two soldiers]({PICTURE} "A caption.")\n\n'
                                             "A second paragraph.\n")
    shutil.copy(workspace / "issues" / "2024-05" / PICTURE, path.parent / PICTURE)
    assert run("translate", "pics", "--lang", "de").exit_code == 0
    approve_all(workspace, "pics", "de")
    assert run("check").exit_code == 0
    return workspace


@pytest.mark.parametrize("translation", [
    f"Ein erster Absatz. ![Zwei Soldaten]({PICTURE})",
    f"Ein erster Absatz.\n\n![Zwei Soldaten]({PICTURE})",
], ids=["inline", "own-paragraph"])
def test_a_translation_may_not_add_a_picture(run, pictured_issue, tmp_path, translation):
    """A translation that shows the issue's picture a second time (the source's image count is 1) is refused by
    check at its line, refused on approval in review with no override offered, and render writes nothing."""
    line = set_translation(pictured_issue, "pics", "de", "intro/1", translation)
    message = f"issues/pics/de.po:{line}: intro/1: an image the source does not have: '{PICTURE}'"
    result = run("check")
    assert result.exit_code == 1 and message in result.stderr
    render = run("render", "pics", "--lang", "de", "--out", str(tmp_path / "out"))
    assert render.exit_code == 1 and message in render.stderr
    assert not (tmp_path / "out" / "pics" / "de.html").exists()

    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = pictured_issue / "issues" / "pics" / "de.po"
    catalog = read_catalog(path)
    next(e for e in catalog if e.context == "intro/1").fuzzy = True
    write_catalog(path, catalog)
    one_line = translation.replace("\n\n", " ")
    # "o" is not among the choices for a picture: click asks again, and the session ends with "q".
    session = run("review", "pics", "--lang", "de", input=f"i\n{one_line}\na\no\nq\n")
    assert session.exit_code == 0, session.output
    assert f"! an image the source does not have: '{PICTURE}'" in session.stdout
    assert "Not approved." in session.stdout and "[o] approve anyway" not in session.stdout
    entry = next(e for e in po(pictured_issue, "pics", "de") if e.context == "intro/1")
    assert entry.fuzzy and entry.string == one_line  # kept as a draft, never approved


def test_an_approved_edition_shows_the_sources_pictures_whatever_the_translation(run, pictured_issue, tmp_path):
    """A picture is the source's, not a piece: alt text and caption translated into image Markdown stay words, so
    the German edition has exactly the source's one picture — a translation can neither drop one nor add one (and
    an address in alt text is one the source does not have, as in any plain piece)."""
    import re

    line = set_translation(pictured_issue, "pics", "de", "intro/2/alt", "![](https://tracker.example/p.gif)")
    check = run("check")
    assert check.exit_code == 1 and f"de.po:{line}: intro/2/alt: the link targets differ from the source" in \
        check.stderr and "not in the source https://tracker.example/p.gif" in check.stderr
    set_translation(pictured_issue, "pics", "de", "intro/2/alt", "![](tracker/p.gif)")
    set_translation(pictured_issue, "pics", "de", "intro/2/caption", "Bildunterschrift ![x](bild.png)")
    check = run("check")
    assert check.exit_code == 0, check.output
    out = tmp_path / "out"
    assert run("render", "pics", "--out", str(out)).exit_code == 0
    pictures = {language: re.findall(r"<img\b[^>]*>", (out / "pics" / f"{language}.html").read_text())
                for language in ("en", "de")}
    assert len(pictures["en"]) == len(pictures["de"]) == 1
    assert f'src="{PICTURE}"' in pictures["de"][0] and "tracker/p.gif" in pictures["de"][0]  # as alt text
    assert re.findall(r'src="([^"]*)"', pictures["de"][0]) == re.findall(r'src="([^"]*)"', pictures["en"][0])
    text = (out / "pics" / "de.txt").read_text()
    assert "Bildunterschrift ![x](bild.png)" in text and not (out / "pics" / "bild.png").exists()
