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
    ("section-1/1", f"Write to [*{EVIL_URL}*](https://example.org/ru/contact) or help@example.org.", "links",
     f"not in the source {EVIL_URL}"),
], ids=["bare-swapped", "bare-dropped", "www-lookalike", "autolink", "address", "bare-added", "plain-piece",
        "link-label", "link-label-emphasis"])
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


LOOKALIKE = "https://mco-example.org.evil.example/login"


def make_draft(workspace, issue_id: str, language: str, context: str) -> None:
    """Put one approved piece back to draft (fuzzy), as a translator's tool would."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = workspace / "issues" / issue_id / f"{language}.po"
    catalog = read_catalog(path)
    next(entry for entry in catalog if entry.context == context).fuzzy = True
    write_catalog(path, catalog)


def approve_anyway(run, workspace, text: str, context: str = "intro/1"):
    """A translator in the terminal: the piece as a draft, their text, refused, then [o] (approve anyway)."""
    make_draft(workspace, "2025-03", "en", context)
    session = run("review", "2025-03", "--lang", "en", "--translator", "Mallory <mallory@example.org>",
                  input=f"i\n{text}\no\nq\n")
    assert session.exit_code == 0, session.output
    return session


def entry_of(workspace, context: str = "intro/1"):
    return next(e for e in po(workspace, "2025-03", "en") if e.context == context)


@pytest.mark.stores
def test_a_translators_link_override_waits_for_the_organisation(run, russian_issue, tmp_path):
    """A translator's "approve anyway" of a lookalike link is only a request: check reports it at its line with both
    targets, render, send (even a dry run) and the archive refuse the edition, status says it waits; nothing reaches
    a reader until the manager accepts it on the command line, seeing both targets, after a confirmation."""
    from test_send import configure, populate

    swapped = ENGLISH["intro/1"].replace(SOURCE_URL, LOOKALIKE)
    session = approve_anyway(run, russian_issue, swapped)
    assert "waits for the organisation" in session.stdout
    entry = entry_of(russian_issue)
    assert entry.string == swapped and not entry.fuzzy
    assert any(c.startswith("override requested: links · text ") and "Mallory" in c for c in entry.comments)

    check = run("check")
    assert check.exit_code == 1
    line = entry.string_line
    assert f"issues/2025-03/en.po:{line}: intro/1: the link targets differ from the source: missing {SOURCE_URL}; " \
           f"not in the source {LOOKALIKE}" in check.stderr
    assert "waiting for the organisation's acceptance" in check.stderr
    assert "mco-newsletter overrides accept 2025-03 --lang en intro/1" in check.stderr
    assert run("render", "2025-03", "--lang", "en", "--out", str(tmp_path / "out")).exit_code == 1
    assert not (tmp_path / "out" / "2025-03" / "en.html").exists()
    set_published(russian_issue)
    configure(russian_issue)
    populate(russian_issue, 3)
    dry = run("send", "2025-03", "--segment", "all", "--dry-run")
    assert dry.exit_code == 1 and "waiting for the organisation's acceptance" in dry.stderr
    assert run("archive", "--out", str(tmp_path / "site")).exit_code == 1
    assert not (tmp_path / "site" / "2025-03" / "en.html").exists()
    status = run("status", "2025-03", "--lang", "en").stdout
    assert "not ready" in status and f"intro/1 ({SOURCE_URL} → {LOOKALIKE})" in status

    listed = run("overrides", "list", "2025-03")
    assert listed.exit_code == 0
    assert "2025-03 [en] intro/1" in listed.stdout and "Mallory <mallory@example.org>" in listed.stdout
    assert f"source:      {SOURCE_URL}" in listed.stdout and f"translation: {LOOKALIKE}" in listed.stdout
    import json

    rows = json.loads(run("overrides", "list", "2025-03", "--json").stdout)["overrides"]
    assert rows == [{"issue": "2025-03", "language": "en", "piece": "intro/1", "state": "requested",
                     "rules": ["links"], "source": [SOURCE_URL], "translation": [LOOKALIKE],
                     "note": rows[0]["note"], "line": line}]

    before = (russian_issue / "issues" / "2025-03" / "en.po").read_bytes()
    declined = run("overrides", "accept", "2025-03", "--lang", "en", "intro/1", input="n\n")
    assert declined.exit_code == 0 and f"source:      {SOURCE_URL}" in declined.stdout
    assert f"translation: {LOOKALIKE}" in declined.stdout
    assert (russian_issue / "issues" / "2025-03" / "en.po").read_bytes() == before
    accepted = run("overrides", "accept", "2025-03", "--lang", "en", "intro/1", input="y\n")
    assert accepted.exit_code == 0 and "Accepted: 2025-03 [en] intro/1" in accepted.stdout
    assert any(c.startswith("override accepted: links · text ") for c in entry_of(russian_issue).comments)

    # Accepted: the edition goes out, and every command that leads to readers names the link.
    check = run("check")
    assert check.exit_code == 0, check.output
    assert f"intro/1: an accepted link override: {SOURCE_URL} → {LOOKALIKE}" in check.stderr
    assert f"1 override: intro/1 (links: {SOURCE_URL} → {LOOKALIKE})" in run("status", "2025-03").stdout
    plan = run("send", "2025-03", "--segment", "all", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert f"en edition: accepted link override intro/1: {SOURCE_URL} → {LOOKALIKE}" in plan.stdout
    assert run("render", "2025-03", "--lang", "en", "--out", str(tmp_path / "out")).exit_code == 0


def set_published(workspace) -> None:
    path = workspace / "issues" / "2025-03" / "issue.md"
    path.write_text(path.read_text(encoding="utf-8").replace("keywords:", "status: published\nkeywords:", 1),
                    encoding="utf-8")


def test_an_added_link_needs_the_organisation_too(run, russian_issue):
    """A link the source does not have, approved anyway by a translator, is a request as well; `overrides accept
    --all --yes` accepts every request of the language at once (for scripts, after a look at `overrides list`)."""
    approve_anyway(run, russian_issue, ENGLISH["section-1/1"] + " Also https://evil.example/more.", "section-1/1")
    assert run("check").exit_code == 1
    listed = run("overrides", "list")
    assert "translation: https://evil.example/more" in listed.stdout and "source:      (none)" in listed.stdout
    assert run("overrides", "accept", "2025-03", "--lang", "en", "--all", "--yes").exit_code == 0
    assert run("check").exit_code == 0
    nothing = run("overrides", "accept", "2025-03", "--lang", "en", "--all", "--yes")
    assert nothing.exit_code == 0 and "No link or address override waits for acceptance" in nothing.stdout
    missing = run("overrides", "accept", "2025-03", "--lang", "en", "intro/1")
    assert missing.exit_code == 1 and "intro/1 has no override waiting for acceptance" in missing.stderr


def test_numbers_stay_one_persons_override(run, russian_issue):
    """A number written out in words is the translator's to accept alone, as before."""
    make_draft(russian_issue, "2025-03", "en", "title")
    session = run("review", "2025-03", "--lang", "en", "--translator", "Anna <anna@example.org>",
                  input="i\nDigest March two thousand twenty-five\no\nq\n")
    assert session.exit_code == 0 and "waits for the organisation" not in session.stdout
    assert any(c.startswith("override: numbers · text ") for c in entry_of(russian_issue, "title").comments)
    assert run("check").exit_code == 0
    assert run("overrides", "list").stdout.strip() == "No overrides of links or addresses."


def test_a_link_override_cannot_be_written_with_a_numbers_override(run, russian_issue):
    """`override: links` (what one translator may write for numbers) accepts no link: that needs `overrides accept`."""
    from mco_newsletter.overrides import fingerprint

    swapped = ENGLISH["intro/1"].replace(SOURCE_URL, LOOKALIKE)
    comment = f"override: links · text {fingerprint(ENGLISH_SOURCE['intro/1'], swapped)} — approved by Mallory"
    set_translation(russian_issue, "2025-03", "en", "intro/1", swapped, comment=comment)
    check = run("check")
    assert check.exit_code == 1 and "waiting for the organisation's acceptance" in check.stderr


ENGLISH_SOURCE = {"intro/1": f"Весь выпуск на сайте: {SOURCE_URL} — или на www.example.org."}


def test_an_override_covers_only_its_text(run, russian_issue):
    """Approved anyway for one text, an override accepts nothing for another: a clean re-approval drops it, and a later
    change in a PO editor is held to the rules again (it does not pass check silently)."""
    make_draft(russian_issue, "2025-03", "en", "title")
    session = run("review", "2025-03", "--lang", "en", input="i\nDigest March two thousand twenty-five\no\nq\n")
    assert "1 decision saved" in session.stdout and run("check").exit_code == 0
    # A clean re-approval: the override has no reason left, and goes.
    make_draft(russian_issue, "2025-03", "en", "title")
    session = run("review", "2025-03", "--lang", "en", input="i\nDigest March 2025\nq\n")
    assert "1 decision saved" in session.stdout
    assert not [c for c in entry_of(russian_issue, "title").comments if c.startswith("override")]
    # Then a PO editor writes the number out in words again: check says so, at the line.
    line = set_translation(russian_issue, "2025-03", "en", "title", "Digest March, two thousand twenty-five")
    check = run("check")
    assert check.exit_code == 1 and f"en.po:{line}: title: the numbers differ" in check.stderr


def test_an_accepted_override_does_not_cover_a_later_edit(run, russian_issue):
    """An accepted link override kept in the catalog accepts nothing once a PO editor changes the text: check says the
    override was given for another text, at the line."""
    approve_anyway(run, russian_issue, ENGLISH["intro/1"].replace(SOURCE_URL, "https://example.org/en/march-2025"))
    assert run("overrides", "accept", "2025-03", "--lang", "en", "--all", "--yes").exit_code == 0
    line = set_translation(russian_issue, "2025-03", "en", "intro/1", ENGLISH["intro/1"].replace(SOURCE_URL, EVIL_URL))
    check = run("check")
    assert check.exit_code == 1
    assert f"en.po:{line}: intro/1: the link targets differ from the source: missing {SOURCE_URL}; not in the " \
           f"source {EVIL_URL} (the override here was given for another text)" in check.stderr


def test_an_old_style_override_accepts_nothing(run, russian_issue):
    """`# override: numbers` without the fingerprint of its text (written before overrides had one, or by hand) accepts
    nothing: check says so at the line, with how to approve the difference again."""
    line = set_translation(russian_issue, "2025-03", "en", "title", "Digest March two thousand twenty-five",
                           comment="override: numbers")
    check = run("check")
    assert check.exit_code == 1
    assert f"en.po:{line}: title: the numbers differ from the source (1 in the source, 0 in the translation): " \
           "missing 2025 (the override here names no text: an override without one accepts nothing)" in check.stderr
    assert "approve it again with [o] in `mco-newsletter review 2025-03 --lang en`" in check.stderr


def test_overrides_list_goes_on_past_a_broken_issue(run, russian_issue, write_issue):
    """`overrides list` of every issue names an issue it cannot read and still lists the others' overrides."""
    approve_anyway(run, russian_issue, ENGLISH["intro/1"].replace(SOURCE_URL, LOOKALIKE))
    write_issue("2025-04", "---\ntitle: Broken\n---\n")
    listed = run("overrides", "list")
    assert listed.exit_code == 0 and "2025-04: cannot be read" in listed.stderr
    assert f"translation: {LOOKALIKE}" in listed.stdout
    assert run("overrides", "list", "2025-04").exit_code == 1
