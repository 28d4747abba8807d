"""The terminal review: decisions saved at once, the translator's work in front of them, agreement with status."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conftest import VALID_FRONT, set_setting
from tiny_models import approve_all, po

CLI = Path(sys.executable).with_name("mco-newsletter")


def fake_editor(folder: Path, name: str, answer: str) -> Path:
    """An editor program (a real executable) that records the file it is given and writes `answer` below the comments."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text(f"""#!{sys.executable}
import sys
from pathlib import Path
path = Path(sys.argv[-1])
text = path.read_text(encoding="utf-8")
Path({str(folder / (name + ".seen"))!r}).write_text(text, encoding="utf-8")
head = [line for line in text.split("\\n") if line.startswith("#")]
path.write_text("\\n".join(head) + "\\n\\n" + {answer!r} + "\\n", encoding="utf-8")
""", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def spawn(workspace: Path, *args: str, env: dict | None = None):
    """The CLI on a real terminal (a pty)."""
    import pexpect

    return pexpect.spawn(str(CLI), ["--workspace", str(workspace), *args], encoding="utf-8", timeout=60,
                         env={**os.environ, "COLUMNS": "200", **(env or {})}, dimensions=(40, 200))


def test_review_session(run, workspace, drafted):
    """review: approve, edit inline, skip, quit; each decision saved at once; status follows."""
    drafted("2023-12", "ru")
    session = run("review", "2023-12", "--lang", "ru", input="a\ni\nМой заголовок, 2024\ns\nq\n")
    assert session.exit_code == 0, session.output
    assert "[1/12] title · draft" in session.stdout and "Source:  Digest December 2023" in session.stdout
    assert "Machine draft: DIGEST DECEMBER 2023" in session.stdout
    assert "2 decisions saved" in session.stdout
    entries = {m.context: m for m in po(workspace, "2023-12", "ru") if m.id}
    assert not entries["title"].fuzzy and entries["title"].string == "DIGEST DECEMBER 2023"
    assert not entries["preheader"].fuzzy and entries["preheader"].string == "Мой заголовок, 2024"
    assert not any(note.startswith("machine translation") for note in entries["preheader"].notes)
    assert entries["keywords/1"].fuzzy
    status = json.loads(run("status", "2023-12", "--json").stdout)["languages"]
    ru = next(row for row in status if row["language"] == "ru")
    assert (ru["approved"], ru["machine_drafts"], ru["ready"]) == (2, 10, False)


def test_review_and_status_agree_after_a_source_edit(run, workspace, drafted):
    """After a one-word source edit (translate not rerun), status and review both show the changed piece, with
    the source diff and the approved translation ready to adjust."""
    drafted("2024-05", "de")
    approve_all(workspace, "2024-05", "de")
    approved_text = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2").string
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace("Enjoy reading!", "Enjoy reading, friends!"),
                        encoding="utf-8")
    status = run("status", "2024-05", "--lang", "de").stdout
    assert "de: 22/23 approved, 0 drafts, 1 changed since approval, 0 untranslated — not ready" in status
    session = run("review", "2024-05", "--lang", "de", input="q\n")
    assert "[1/1] intro/2 · changed since approval" in session.stdout
    assert "Source changed: " in session.stdout and "Enjoy [-reading!-]{+reading, friends!+}" in session.stdout
    assert f"Previous translation: {approved_text}" in session.stdout
    done = run("review", "2024-05", "--lang", "de", input="i\n" + approved_text.replace("READING!", "READING, FRIENDS!")
               + "\n")
    assert "1 decision saved" in done.stdout
    assert "de: 23/23 approved" in run("status", "2024-05", "--lang", "de").stdout
    assert "Nothing to review" in run("review", "2024-05", "--lang", "de").stdout


def test_machine_draft_on_request(run, workspace, models, drafted):
    """After a source edit the previous translation stays; [m] asks the model for a fresh draft, [a] approves it."""
    drafted("2024-05", "de")
    approve_all(workspace, "2024-05", "de")
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace("Enjoy reading!", "Enjoy reading, friends!"),
                        encoding="utf-8")
    session = run("review", "2024-05", "--lang", "de", input="m\na\n")
    assert session.exit_code == 0, session.output
    assert "Machine draft: " in session.stdout and "ENJOY READING, FRIENDS!" in session.stdout
    entry = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2")
    assert not entry.fuzzy and entry.string.endswith("ENJOY READING, FRIENDS!") and entry.previous_id is None


def test_inline_edit_is_prefilled_with_the_draft(workspace, run, drafted):
    """On a terminal, [i] puts the current draft on the edit line: the translator adjusts it instead of retyping."""
    drafted("2023-12", "de")
    child = spawn(workspace, "review", "2023-12", "--lang", "de")
    child.expect(r"\[q\] quit \[s\]: ")
    child.sendline("i")
    child.expect("Translation: DIGEST DECEMBER 2023")
    child.sendline(" (überarbeitet)")
    child.expect(r"\[2/12\] preheader")
    child.sendline("q")
    child.expect("1 decision saved")
    child.expect(__import__("pexpect").EOF)
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "DIGEST DECEMBER 2023 (überarbeitet)" and not title.fuzzy


def test_editor_shows_the_source_as_comments(run, workspace, tmp_path, monkeypatch, drafted):
    """$EDITOR opens the draft below the source written as comments; what is saved is approved, comments dropped."""
    drafted("2023-12", "de")
    editor = fake_editor(tmp_path / "bin", "my-editor", "Digest Dezember 2023")
    monkeypatch.setenv("EDITOR", str(editor))
    session = run("review", "2023-12", "--lang", "de", input="e\nq\n")
    assert "1 decision saved" in session.stdout
    seen = (tmp_path / "bin" / "my-editor.seen").read_text(encoding="utf-8")
    assert "# en source of title (issues/2023-12/issue.md:2):\n# Digest December 2023\n" in seen
    assert seen.endswith("\n\nDIGEST DECEMBER 2023\n")
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "Digest Dezember 2023" and not title.fuzzy


def test_no_editor_set_never_asks_which_editor(run, workspace, tmp_path, monkeypatch, drafted):
    """Without $EDITOR, review opens a plain editor: never Debian's sensible-editor, which asks to select one."""
    drafted("2023-12", "de")
    folder = tmp_path / "bin"
    fake_editor(folder, "sensible-editor", "WRONG")
    fake_editor(folder, "vi", "Von Hand übersetzt")
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("PATH", str(folder))
    session = run("review", "2023-12", "--lang", "de", input="e\nq\n")
    assert "1 decision saved" in session.stdout, session.output
    assert not (folder / "sensible-editor.seen").exists() and (folder / "vi.seen").exists()
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "Von Hand übersetzt"


def test_interrupt_keeps_every_decision(workspace, run, drafted):
    """Ctrl-C in the middle of a review keeps what was decided, and an edit not yet approved as a draft; exit 130."""
    import pexpect

    drafted("2023-12", "de")
    child = spawn(workspace, "review", "2023-12", "--lang", "de")
    child.expect(r"\[q\] quit \[s\]: ")
    child.sendline("a")
    child.expect(r"\[2/12\] preheader")
    child.expect(r"\[q\] quit \[s\]: ")
    child.sendintr()
    child.expect("1 decision saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    entries = {m.context: m for m in po(workspace, "2023-12", "de")}
    assert not entries["title"].fuzzy and entries["preheader"].fuzzy


def test_last_translator_is_who_approved(run, workspace, drafted):
    """Approving records Last-Translator from --translator, else from [translation] translator; a bad value is a
    usage error."""
    from mco_newsletter.catalog_files import read_catalog

    drafted("2023-12", "de")
    path = workspace / "issues" / "2023-12" / "de.po"
    assert read_catalog(path).header_value("Last-Translator") == "machine translation"
    run("review", "2023-12", "--lang", "de", "--translator", "Anna Petrova <anna@example.org>", input="a\nq\n")
    assert read_catalog(path).header_value("Last-Translator") == "Anna Petrova <anna@example.org>"
    set_setting(workspace, "batch_size = 32", 'batch_size = 32\ntranslator = "Boris <boris@example.org>"')
    run("review", "2023-12", "--lang", "de", input="a\nq\n")
    assert read_catalog(path).header_value("Last-Translator") == "Boris <boris@example.org>"
    bad = run("review", "2023-12", "--lang", "de", "--translator", "just a name")
    assert bad.exit_code == 2 and 'is not written as "Name <address>"' in bad.stderr


def test_close_match_from_translation_memory(run, workspace, write_issue, models, drafted):
    """A piece ≥ 80 % like one approved in another issue gets that translation as a fuzzy draft naming its origin,
    with the earlier source as `#| msgid`, instead of a machine draft; review shows the difference."""
    drafted("2023-12", "de")
    approve_all(workspace, "2023-12", "de")
    heading = "Protests by mobilised wives are taking place in Russia"
    edited = "Protests by mobilised wives are still taking place in Russia"
    write_issue("later", VALID_FRONT + f"\nNew intro text.\n\n## {edited}\n\nA new paragraph.\n")
    result = run("translate", "later", "--lang", "de")
    assert "1 close match from translation memory" in result.stdout
    entry = next(m for m in po(workspace, "later", "de") if m.id == edited)
    assert entry.fuzzy and entry.string == heading.upper() and entry.previous_id == heading
    assert entry.comments == ["translation memory: 94% like a piece approved in issue 2023-12"]
    assert not any(note.startswith("machine translation") for note in entry.notes)
    session = run("review", "later", "--lang", "de", input="s\ns\ns\ns\nq\n")
    assert "Draft (translation memory: 94% like a piece approved in issue 2023-12): " + heading.upper() in \
        session.stdout
    assert "Protests by mobilised wives are {+still +}taking place in Russia" in session.stdout


def approved_earlier_issue(workspace, write_issue, issue_id: str, heading: str) -> None:
    """An earlier issue whose one section heading is `heading`, with an approved German catalog (the memory) written
    as a translator would: every piece in capitals, like the tiny model's drafts."""
    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.merging import new_catalog

    path = write_issue(issue_id, VALID_FRONT + f"\nWhat happened in issue {issue_id}.\n\n## {heading}\n\n"
                                               "Details follow.\n")
    issue = parse_issue(path)
    catalog = new_catalog(issue, "de")
    catalog.entries += [Entry(piece.source, piece.source.upper(), context=piece.context, flags=["no-python-format"])
                        for piece in pieces(issue)]
    write_catalog(catalog_path(issue, "de"), catalog)


@pytest.mark.parametrize("remembered,offered", [
    ("Protests by wives of the mobilised take place in Russia", False),  # 75 % like the new heading
    ("Rallies by mobilised wives are taking place in Moscow", True),  # 80 %
], ids=["75-percent", "80-percent"])
def test_close_match_threshold(run, workspace, write_issue, models, remembered, offered):
    """A piece approved in another issue is offered as a draft from 80 % likeness; under it the piece gets the
    machine draft, with no trace of the weaker match."""
    from mco_newsletter.merging import similarity

    heading = "Protests by mobilised wives are taking place in Russia"
    likeness = similarity(heading, remembered)
    assert (0.8 <= likeness < 0.81) if offered else (0.7 < likeness < 0.8)  # the case is what it says
    approved_earlier_issue(workspace, write_issue, "2023-01", remembered)
    write_issue("later", VALID_FRONT + f"\nA new intro that no issue had before.\n\n## {heading}\n\nNew words.\n")
    result = run("translate", "later", "--lang", "de")
    assert result.exit_code == 0, result.output
    entry = next(m for m in po(workspace, "later", "de") if m.id == heading)
    machine = any(note.startswith("machine translation") for note in entry.notes)
    assert entry.fuzzy
    if offered:
        assert "1 close match from translation memory" in result.stdout
        assert entry.string == remembered.upper() and entry.previous_id == remembered and not machine
        assert entry.comments == [f"translation memory: {int(likeness * 100)}% like a piece approved in issue 2023-01"]
    else:
        assert "close match" not in result.stdout
        assert entry.string == heading.upper() and entry.previous_id is None and machine
        assert not any("translation memory" in comment for comment in entry.comments)


@pytest.mark.parametrize("closest_first", [True, False], ids=["closest-first", "closest-last"])
def test_the_closest_match_ranks_first_and_the_machine_draft_stays_on_request(run, workspace, write_issue, models,
                                                                               closest_first):
    """Of several approved pieces like the new one, the closest is the draft (whichever issue came first), in place
    of the machine draft; review's [m] still gives the machine draft, and approving it drops the memory note."""
    from mco_newsletter.merging import similarity

    heading = "Protests by mobilised wives are taking place in Moscow"
    closest, weaker, weakest = ("Protests by mobilised wives are taking place in Moscow today",
                                "Protests by mobilised mothers are taking place in Russia",
                                "Protests of mobilised wives took place in Russia")
    assert similarity(heading, closest) > similarity(heading, weaker) >= 0.8 > similarity(heading, weakest)
    order = [closest, weaker, weakest] if closest_first else [weakest, weaker, closest]
    for number, remembered in enumerate(order, 1):
        approved_earlier_issue(workspace, write_issue, f"2023-0{number}", remembered)
    origin = f"2023-0{order.index(closest) + 1}"
    write_issue("later", VALID_FRONT + f"\nA new intro that no issue had before.\n\n## {heading}\n\nNew words.\n")
    assert run("translate", "later", "--lang", "de").exit_code == 0
    entry = next(m for m in po(workspace, "later", "de") if m.id == heading)
    assert entry.string == closest.upper() and entry.previous_id == closest
    percent = int(similarity(heading, closest) * 100)
    assert entry.comments == [f"translation memory: {percent}% like a piece approved in issue {origin}"]
    assert not any(note.startswith("machine translation") for note in entry.notes)
    pieces = [m.context for m in po(workspace, "later", "de") if m.id and m.fuzzy]
    choices = "".join("m\na\n" if context == entry.context else "s\n" for context in pieces)
    session = run("review", "later", "--lang", "de", input=choices + "q\n")
    assert session.exit_code == 0, session.output
    assert "Draft (translation memory: " in session.stdout and f"Machine draft: {heading.upper()}" in session.stdout
    approved = next(m for m in po(workspace, "later", "de") if m.id == heading)
    assert not approved.fuzzy and approved.string == heading.upper()
    assert approved.comments == [] and approved.previous_id is None


@pytest.mark.parametrize("language", ["de", "ru"])
def test_review_without_a_catalog_says_what_to_do(run, language):
    """review of a language with no catalog yet names the translate command, with --lang."""
    result = run("review", "2024-05", "--lang", language)
    assert result.exit_code == 1 and f"translate 2024-05 --lang {language}" in result.stderr


def test_two_translators_lose_nothing(run, workspace, drafted):
    """Two reviews of one language: an approval of a piece someone else changed since it was shown is a conflict
    carrying their text, never an overwrite; approving again, knowing, takes the new text."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.review import Review, version
    from mco_newsletter.workspace import load_issue

    drafted("2023-12", "de")
    settings = load_settings(workspace)
    anna = Review(load_issue(settings, "2023-12"), "de", translator="Anna <anna@example.org>")
    boris = Review(load_issue(settings, "2023-12"), "de", translator="Boris <boris@example.org>")
    seen_by_anna = version(anna.state("title"))
    assert boris.approve("title", "Boris' Titel 2023", expected=version(boris.state("title"))).approved
    decision = anna.approve("title", "Annas Titel 2023", expected=seen_by_anna)
    assert not decision.approved and decision.conflict.translation == "Boris' Titel 2023"
    assert decision.conflict.status == "approved"
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "Boris' Titel 2023" and not title.fuzzy
    assert anna.save_draft("title", "Annas Entwurf 2023", expected=seen_by_anna).conflict is not None
    assert anna.approve("title", "Annas Titel 2023", expected=version(decision.conflict)).approved
    title = next(m for m in po(workspace, "2023-12", "de") if m.context == "title")
    assert title.string == "Annas Titel 2023"
    assert boris.approve("preheader", expected=version(boris.state("preheader"))).approved  # other pieces: no conflict
    assert {m.context: m.fuzzy for m in po(workspace, "2023-12", "de")}["preheader"] is False


def test_terminal_review_shows_a_conflict(workspace, run, drafted):
    """On a terminal, a piece approved elsewhere while it was on screen is shown as a conflict with both texts;
    the other translator's approval stays until this one approves again."""
    import pexpect

    from mco_newsletter.config import load_settings
    from mco_newsletter.review import Review
    from mco_newsletter.workspace import load_issue

    drafted("2023-12", "de")
    child = spawn(workspace, "review", "2023-12", "--lang", "de")
    child.expect(r"\[q\] quit \[s\]: ")
    other = Review(load_issue(load_settings(workspace), "2023-12"), "de", translator="Boris <boris@example.org>")
    assert other.approve("title", "Titel von Boris 2023").approved
    child.sendline("a")
    child.expect("Someone else changed this piece since it was shown \\(approved\\): Titel von Boris 2023")
    child.expect("Your text: DIGEST DECEMBER 2023")
    child.expect(r"\[q\] quit \[s\]: ")
    assert next(m for m in po(workspace, "2023-12", "de") if m.context == "title").string == "Titel von Boris 2023"
    child.sendline("s")
    child.expect(r"\[2/12\] preheader")
    child.sendline("q")
    child.expect(pexpect.EOF)
    assert next(m for m in po(workspace, "2023-12", "de") if m.context == "title").string == "Titel von Boris 2023"


@pytest.mark.parametrize("locale,said", [
    ("de_DE.UTF-8", "! die Zahlen weichen von der Quelle ab (1 in der Quelle, 0 in der Übersetzung): nicht in der "
                    "Übersetzung: 2024"),
    ("C.UTF-8", "! the numbers differ from the source (1 in the source, 0 in the translation): missing 2024"),
])
def test_terminal_review_says_why_in_the_terminals_language(run, workspace, drafted, monkeypatch, locale, said):
    """With the terminal in the language under review (LANG=de_DE.UTF-8), `review` says why a piece is not approved
    in that language, in the review pages' words; in any other, in English."""
    drafted("2024-05", "de")
    monkeypatch.setenv("LANG", locale)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    session = run("review", "2024-05", "--lang", "de", input="i\nÜberblick Mai\ns\nq\n")
    assert session.exit_code == 0, session.output
    assert said in session.stdout
