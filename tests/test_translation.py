"""The translation loop with a real (tiny) Argos package: drafts, markup, merges, memory, pivot, review, gating."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import VALID_FRONT

PAIRS = (("en", "de"), ("en", "ru"), ("de", "en"))


@pytest.fixture(scope="session")
def package_files(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Tiny upper-casing packages for en→de, en→ru and de→en, built once."""
    from tiny_argos import build_package

    folder = tmp_path_factory.mktemp("argos-build")
    return {pair: build_package(folder, *pair) for pair in PAIRS}


@pytest.fixture
def models(run, package_files, tmp_path, monkeypatch):
    """Every tiny package installed with `models install --file` into a packages folder of this test."""
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    for path in package_files.values():
        result = run("models", "install", "--file", str(path))
        assert result.exit_code == 0, result.output
    return tmp_path / "argos-packages"


def po(workspace, issue_id, language):
    from mco_newsletter.catalogs import read_catalog

    return read_catalog(workspace / "issues" / issue_id / f"{language}.po")


def approve_all(workspace, issue_id, language):
    from mco_newsletter.catalogs import read_catalog, write_catalog

    path = workspace / "issues" / issue_id / f"{language}.po"
    catalog = read_catalog(path)
    for message in catalog:
        if message.id:
            message.flags.discard("fuzzy")
    write_catalog(path, catalog)


def test_models_list_and_install(run, models):
    """Installed pairs are listed from the packages folder."""
    listing = run("models", "list")
    assert "en → de  1.0" in listing.stdout and "de → en  1.0" in listing.stdout
    assert (models / "translate-en_ru-1_0" / "model" / "model.bin").is_file()


@pytest.mark.parametrize("kind", ["garbage", "no_model", "no_metadata", "wrong_type"])
def test_bad_package_files(run, tmp_path, kind, monkeypatch):
    """A corrupt or mismatched package file is a clear error and installs nothing."""
    import zipfile

    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    path = tmp_path / "bad.argosmodel"
    if kind == "garbage":
        path.write_bytes(b"PK\x03\x04 this is not a zip")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            meta = {"from_code": "en", "to_code": "de", "type": "translate" if kind != "wrong_type" else "sbd"}
            if kind != "no_metadata":
                archive.writestr("pkg/metadata.json", json.dumps(meta))
            archive.writestr("pkg/sentencepiece.model", b"x")
            if kind != "no_model":
                archive.writestr("pkg/model/model.bin", b"x")
    result = run("models", "install", "--file", str(path))
    assert result.exit_code == 1
    expected = {"garbage": "not a zip file", "no_model": "lacks model/model.bin", "no_metadata": "no metadata.json",
                "wrong_type": "does not describe a translation package"}[kind]
    assert expected in result.stderr and "Traceback" not in result.output
    assert "none" in run("models", "list").stdout


def test_install_from_index_offline_names_file(run, tmp_path, monkeypatch):
    """Without the internet, installing from the index fails with a message that names --file."""
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    result = run("models", "install", "en", "de")
    assert result.exit_code == 1
    assert "--file" in result.stderr and "Traceback" not in result.output


def test_drafts_are_written_fuzzy_and_pass_msgfmt(run, workspace, models):
    """translate writes one PO per other language, every entry a fuzzy machine draft naming the engine."""
    result = run("translate", "2024-05")
    assert result.exit_code == 0, result.output
    catalog = po(workspace, "2024-05", "de")
    entries = [m for m in catalog if m.id]
    contexts = [m.context for m in entries]
    assert contexts[:5] == ["title", "preheader", "intro/1/alt", "intro/1/caption", "intro/2"]
    assert "section-4/heading" in contexts and len(entries) == 13
    assert all(m.fuzzy and m.string == m.id.upper() for m in entries), [(m.id, m.string) for m in entries][:3]
    assert all(any("machine translation: argos" in c for c in m.auto_comments) for m in entries)
    for language in ("de", "ru"):
        path = workspace / "issues" / "2024-05" / f"{language}.po"
        check = subprocess.run([shutil.which("msgfmt"), "--check", "-o", "/dev/null", str(path)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_round_trip_changes_no_byte(run, workspace, models):
    """Reading a catalog and writing it back gives the same bytes."""
    from mco_newsletter.catalogs import po_bytes, read_catalog

    run("translate", "2024-05", "--to", "ru")
    path = workspace / "issues" / "2024-05" / "ru.po"
    assert po_bytes(read_catalog(path)) == path.read_bytes()


def test_markup_survives(run, workspace, write_issue, models):
    """Link targets, URLs, addresses, an IBAN, numbers and emphasis come back exactly; words are translated."""
    write_issue("markup", VALID_FRONT + """
See *our* [report](https://example.org/r?a=1&b=2 "Report") and https://www.example.org/news, or write to
help@example.org. IBAN: FI35 8146 9710 3001 03, 130,000 people, Article 338, **urgent** \\*not\\* bold.
""")
    assert run("translate", "markup", "--to", "de").exit_code == 0
    [draft] = [m.string for m in po(workspace, "markup", "de") if m.context == "intro/1"]
    assert draft == ("SEE *OUR* [REPORT](https://example.org/r?a=1&b=2 \"Report\") AND https://www.example.org/news, "
                     "OR WRITE TO help@example.org. IBAN: FI35 8146 9710 3001 03, 130,000 PEOPLE, ARTICLE 338, "
                     "**URGENT** \\*NOT\\* BOLD.")


def test_edit_one_paragraph_only_its_entry_changes(run, workspace, models):
    """After approval, editing one paragraph: only it gets a new fuzzy draft with the old source kept;
    the rest stays approved; a removed section's entries become obsolete; no model call for the rest."""
    run("translate", "2024-05", "--to", "de")
    approve_all(workspace, "2024-05", "de")
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    text = issue_md.read_text(encoding="utf-8")
    text = text.replace("Enjoy reading!", "Enjoy reading, friends!")
    text = text[: text.index("## In Krasnodar")]  # drop the last section
    issue_md.write_text(text, encoding="utf-8")
    result = run("translate", "2024-05", "--to", "de")
    assert "1 drafted, 10 kept" in result.stdout and "Model calls: 1 (" in result.stdout
    catalog = po(workspace, "2024-05", "de")
    entries = {m.context: m for m in catalog if m.id}
    changed = entries["intro/2"]
    assert changed.fuzzy and changed.string.endswith("ENJOY READING, FRIENDS!")
    assert changed.previous_id and "Enjoy reading!" in "".join(changed.previous_id)
    assert "changed since approval" in changed.auto_comments
    assert all(not m.fuzzy for context, m in entries.items() if context != "intro/2")
    assert any("Krasnodar" in key[0] if isinstance(key, tuple) else "Krasnodar" in key for key in catalog.obsolete)
    status = json.loads(run("status", "2024-05", "--json").stdout)["languages"]
    de = next(row for row in status if row["language"] == "de")
    assert (de["approved"], de["machine_drafts"], de["changed"], de["untranslated"], de["ready"]) == (10, 0, 1, 0, False)
    again = run("translate", "2024-05", "--to", "de")
    assert "Model calls: 0" in again.stdout and "unchanged" in again.stdout


def test_translation_memory_across_issues(run, workspace, write_issue, models):
    """An approved translation of identical text in another issue is reused, marked, and costs no model call."""
    run("translate", "2023-12", "--to", "de")
    approve_all(workspace, "2023-12", "de")
    heading = "Protests by mobilised wives are taking place in Russia"
    write_issue("later", VALID_FRONT + f"\nNew intro text.\n\n## {heading}\n\nA new paragraph.\n")
    result = run("translate", "later", "--to", "de")
    assert "1 from translation memory" in result.stdout
    entry = next(m for m in po(workspace, "later", "de") if m.id == heading)
    assert not entry.fuzzy and entry.string == heading.upper()
    assert "translation memory: approved in issue 2023-12" in entry.auto_comments


def test_pivot_through_english(run, workspace, write_issue, models):
    """German → Russian goes through English when no direct package exists (two calls, one per package)."""
    write_issue("german", VALID_FRONT.replace("language: en", "language: de") + "\nHallo Welt, grüße aus Köln.\n")
    result = run("translate", "german", "--to", "ru")
    assert result.exit_code == 0, result.output
    assert "Model calls: 2" in result.stdout
    entry = next(m for m in po(workspace, "german", "ru") if m.context == "intro/1")
    assert entry.string == "HALLO WELT, GRÜßE AUS KÖLN."
    assert "translate-de_en-1_0" in " ".join(entry.auto_comments) or "de→en" in " ".join(entry.auto_comments)
    assert "en→ru" in " ".join(entry.auto_comments)


def test_no_route_is_a_clear_error(run, workspace, write_issue, models):
    """Without a package for the pair (nor via English), translate says which to install."""
    write_issue("russian", VALID_FRONT.replace("language: en", "language: ru") + "\nПривет.\n")
    result = run("translate", "russian", "--to", "de")
    assert result.exit_code == 1 and "no translation package for ru→de" in result.stderr


def test_review_session(run, workspace, models, monkeypatch):
    """review: accept, edit inline, skip, quit; each decision saved at once; status follows."""
    run("translate", "2023-12", "--to", "ru")
    session = run("review", "2023-12", "--lang", "ru", input="a\ni\nМой заголовок\ns\nq\n")
    assert session.exit_code == 0, session.output
    assert "[1/11] title" in session.stdout and "Source:  Digest December 2023" in session.stdout
    assert "2 decisions saved" in session.stdout
    entries = {m.context: m for m in po(workspace, "2023-12", "ru") if m.id}
    assert not entries["title"].fuzzy and entries["title"].string == "DIGEST DECEMBER 2023"
    assert not entries["preheader"].fuzzy and entries["preheader"].string == "Мой заголовок"
    assert entries["intro/1"].fuzzy
    status = json.loads(run("status", "2023-12", "--json").stdout)["languages"]
    ru = next(row for row in status if row["language"] == "ru")
    assert (ru["approved"], ru["machine_drafts"], ru["ready"]) == (2, 9, False)


def test_review_with_editor_and_interrupt(run, workspace, models, monkeypatch):
    """$EDITOR edits are saved; an interrupt after that keeps them."""
    import click

    run("translate", "2023-12", "--to", "de")
    monkeypatch.setattr(click, "edit", lambda text, extension=None: "Von Hand übersetzt\n")
    answers = iter(["e", KeyboardInterrupt])

    def prompt(*args, **kwargs):
        answer = next(answers)
        if answer is KeyboardInterrupt:
            raise KeyboardInterrupt
        return answer

    monkeypatch.setattr(click, "prompt", prompt)
    session = run("review", "2023-12", "--lang", "de")
    assert "1 decision saved" in session.stdout
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "Von Hand übersetzt" and not title.fuzzy


def test_render_refuses_drafts_and_allow_drafts_marks_them(run, workspace, models, tmp_path):
    """render refuses an unreviewed language; --allow-drafts renders it with a banner and [DRAFT]; approved renders."""
    from email import message_from_bytes
    from email.policy import default

    run("translate", "2024-05", "--to", "de")
    out = tmp_path / "out"
    refused = run("render", "2024-05", "--lang", "de", "--out", str(out))
    assert refused.exit_code == 1 and "the de edition is not approved (0 of 13 pieces approved" in refused.stderr
    drafted = run("render", "2024-05", "--lang", "de", "--allow-drafts", "--out", str(out))
    assert drafted.exit_code == 0, drafted.output
    html = (out / "2024-05" / "de.html").read_text()
    assert "Ungeprüfte maschinelle Übersetzung" in html and "MASS RAIDS ON CONSCRIPTS" in html
    message = message_from_bytes((out / "2024-05" / "de.eml").read_bytes(), policy=default)
    assert message["Subject"] == "[DRAFT] DIGEST MAY 2024"
    assert run("render", "2024-05", "--out", str(out)).stdout.count("[") == 1  # only en is ready
    approve_all(workspace, "2024-05", "de")
    ready = run("render", "2024-05", "--out", str(out))
    assert "2024-05 [de]" in ready.stdout
    assert "Ungeprüfte" not in (out / "2024-05" / "de.html").read_text()


def test_send_uses_approved_translations(run, workspace, models):
    """Readers get the edition of their language once it is approved; others the fallback."""
    from email import message_from_bytes
    from email.policy import default

    from test_send import configure, populate

    configure(workspace)
    populate(workspace, 6)
    run("translate", "2024-05")
    approve_all(workspace, "2024-05", "de")
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "de edition: 2" in result.stdout and "en edition: 4 (of them 2 as fallback)" in result.stdout
    subjects = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["Subject"])
                      for p in (workspace / "private" / "outbox" / "new").iterdir())
    assert subjects == ["DIGEST MAY 2024"] * 2 + ["Digest May 2024"] * 4
    assert re.search(r"digest", " ".join(subjects), re.I)


def test_archive_lists_approved_translations(run, workspace, models, tmp_path):
    """Once a translation is approved the archive has its page, its index entry, its feed entry and a switcher."""
    import feedparser

    run("translate", "2024-05", "--to", "de")
    approve_all(workspace, "2024-05", "de")
    out = tmp_path / "archive"
    assert run("archive", "--out", str(out)).exit_code == 0
    german = (out / "2024-05" / "de.html").read_text()
    assert '<html lang="de"' in german and "MASS RAIDS ON CONSCRIPTS" in german
    english = (out / "2024-05" / "en.html").read_text()
    assert 'href="https://digest.example.org/2024-05/de.html" hreflang="de"' in english
    feed = feedparser.parse((out / "de" / "feed.atom").read_bytes())
    assert [entry.title for entry in feed.entries] == ["DIGEST MAY 2024"]
    assert "2024-05/de.html" in (out / "de" / "index.html").read_text()
    assert not (out / "2023-12" / "de.html").exists()


@pytest.mark.parametrize("content,message", [
    (b'msgid "a"\nmsgstr "b"\n\nmsgid "x"\n', "de.po:4: not a valid PO file: missing msgstr for msgid 'x'"),
    (b'msgid "a"\nmsgstr "b"\n\ngarbage\n', "de.po:4: not a valid PO file: Unknown or misformatted keyword"),
    (b"\xff\xfe bad", "de.po: not UTF-8"),
])
def test_broken_catalog_is_named_with_its_line(run, workspace, content, message):
    """A catalog broken by hand is reported with file and line by status, render and translate, untouched."""
    path = workspace / "issues" / "2024-05" / "de.po"
    path.write_bytes(content)
    for args in (("status", "2024-05"), ("render", "2024-05", "--lang", "de"), ("translate", "2024-05", "--to", "de")):
        result = run(*args)
        assert result.exit_code == 1 and message in result.stderr, (args, result.output)
        assert "Traceback" not in result.output
    assert path.read_bytes() == content
