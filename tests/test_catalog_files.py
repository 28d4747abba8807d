"""PO files shared with translators' tools: strict reading, no churn, gettext's own formatting (real msgcat)."""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tiny_models import po

MSGCAT, MSGFMT = shutil.which("msgcat"), shutil.which("msgfmt")
pytestmark = pytest.mark.skipif(not MSGCAT, reason="gettext is installed by ./test")


def msgcat(path: Path) -> None:
    """Rewrite a catalog as GNU gettext (and Poedit, which uses it) saves it."""
    subprocess.run([MSGCAT, "--width=79", "-o", str(path), str(path)], check=True)


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_our_catalogs_are_what_msgcat_writes(run, workspace, models):
    """A catalog written by translate is already in gettext's own layout: msgcat changes no byte of it."""
    run("translate", "2024-05")
    for language in ("de", "ru"):
        path = workspace / "issues" / "2024-05" / f"{language}.po"
        ours = path.read_text(encoding="utf-8")
        msgcat(path)
        assert path.read_text(encoding="utf-8") == ours


def test_a_poedit_catalog_changes_only_where_a_decision_was_made(run, workspace, models):
    """A catalog saved by Poedit (wrap 79, X-Generator, its flags' order), then touched by review and translate,
    changes only in the approved entry and the header's revision date and translator."""
    run("translate", "2024-05", "--lang", "de")
    path = workspace / "issues" / "2024-05" / "de.po"
    text = path.read_text(encoding="utf-8")
    text = text.replace('"Content-Transfer-Encoding: 8bit\\n"', '"Content-Transfer-Encoding: 8bit\\n"\n'
                                                                 '"X-Generator: Poedit 3.4.2\\n"')
    text = text.replace("#, fuzzy, no-python-format", "#, no-python-format, fuzzy")  # another tool's order
    path.write_text(text, encoding="utf-8")
    saved = path.read_text(encoding="utf-8")
    result = run("review", "2024-05", "--lang", "de", "--translator", "Anna Petrova <anna@example.org>",
                 input="s\na\nq\n")
    assert result.exit_code == 0, result.output
    assert run("translate", "2024-05", "--lang", "de").exit_code == 0
    after = path.read_text(encoding="utf-8")
    changes = changed_lines(saved, after)
    assert "X-Generator: Poedit 3.4.2" in after
    assert [line for line in changes if "PO-Revision-Date" not in line and "Last-Translator" not in line] == [
        "-#, no-python-format, fuzzy", "+#, no-python-format"], changes
    assert '+"Last-Translator: Anna Petrova <anna@example.org>\\n"' in changes


def test_a_msgcat_catalog_touched_by_translate_after_a_source_edit(run, workspace, models):
    """After msgcat, a one-word source edit and translate change the edited entry (and the header date) only."""
    run("translate", "2024-05", "--lang", "ru")
    path = workspace / "issues" / "2024-05" / "ru.po"
    msgcat(path)
    saved = path.read_text(encoding="utf-8")
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace("Enjoy reading!", "Enjoy reading, friends!"),
                        encoding="utf-8")
    assert run("translate", "2024-05", "--lang", "ru").exit_code == 0
    changes = [line for line in changed_lines(saved, path.read_text(encoding="utf-8"))
               if "PO-Revision-Date" not in line]
    assert changes and all("ENJOY READING" in line or "Enjoy reading" in line or "reading, friends" in line
                           or line.strip('+-"').startswith(("msgid", "msgstr")) for line in changes), changes
    entry = next(m for m in po(workspace, "2024-05", "ru") if m.context == "intro/2")
    assert entry.string.endswith("ENJOY READING, FRIENDS!") and entry.fuzzy


def test_wrapping_matches_msgcat(tmp_path):
    """Long strings (Latin, Cyrillic, URLs, quotes, numbers, emoji) break exactly where gettext breaks them."""
    from mco_newsletter.po_wrap import ESCAPES, string_lines

    texts = [
        "See [our report](https://example.org/r?a=1&b=2 \"Report\") and https://www.example.org/news/2024/05/a-very"
        "-long-path-name-here, or write to help@example.org for more, please, today.",
        "IBAN: FI35 8146 9710 3001 03, 130,000 people, Article 338, **urgent** \\*not\\* bold. «Цитата» — тире, "
        "9 июля 2024 г., и ещё немного текста, чтобы строка была длинной.",
        "Спасибо 😊 за чтение! {{ not a template }} & more… (в скобках) [ссылка](https://example.org/ru/страница) "
        "и ещё длинный хвост текста здесь.",
        "Tab\there and \"quoted\" words, 50 % of 1 000 €, a/b/c-d-e, 2024-05-01 – 2024-06-01, line\nbreak and a "
        "much longer second line that has to wrap somewhere near the end of it.",
        "![Aktion in Südkorea, 2015. Foto: Connection e.V.](aktion-suedkorea-2015.png \"Aktion in Südkorea, 2015. "
        "Foto: Connection e.V.\")",
    ]
    texts += [text[:cut] for text in texts for cut in (60, 71, 72, 77, 78, 79, 90)]

    def escaped(text: str) -> str:
        return "".join(ESCAPES.get(char, char) for char in text)

    lines = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for number, text in enumerate(texts):
        lines += ["#, fuzzy", f'#| msgid "{escaped(text)}"', f'msgctxt "c{number}"', f'msgid "{escaped(text)}"',
                  f'msgstr "{escaped(text)}"', ""]
    path = tmp_path / "wrap.po"
    path.write_text("\n".join(lines), encoding="utf-8")
    msgcat(path)
    blocks = path.read_text(encoding="utf-8").split("\n\n")[1:]
    for number, (text, block) in enumerate(zip(texts, blocks)):
        ours = ["#, fuzzy", *string_lines("msgid", text, "#| "), *string_lines("msgctxt", f"c{number}"),
                *string_lines("msgid", text), *string_lines("msgstr", text)]
        assert ours == block.strip("\n").split("\n"), text


BROKEN = [
    ('msgctxt "intro/2"\nmsgid "New hotline"\nmsgstr "Neue Hotline\n', 3,
     'the string is not closed: a " is missing at the end of the line'),
    ('msgctxt "intro/2"\nmsgid "Say hello"\nmsgstr "Sag "Hallo" bitte"\n', 3, 'a " inside the text must be written \\"'),
    ('msgid "a"\nmsgstr "b"\n\nmsgid "x"\n', 4, "missing msgstr for msgid 'x'"),
    ('msgid "a"\nmsgstr "b"\n\ngarbage\n', 4, "unknown keyword 'garbage'"),
    ('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n', 4, "duplicate message definition (first at line 1)"),
]


@pytest.mark.parametrize("content,line,reason", BROKEN)
def test_broken_catalog_is_an_error_at_its_line(run, workspace, content, line, reason):
    """What msgfmt --check rejects is a path:line error in check, status, render and translate; the file is
    kept untouched, and no hint suggests deleting it."""
    path = workspace / "issues" / "2024-05" / "de.po"
    path.write_text(content, encoding="utf-8")
    assert subprocess.run([MSGFMT, "--check", "-o", "/dev/null", str(path)], capture_output=True).returncode != 0
    for args in (("check",), ("status", "2024-05"), ("render", "2024-05", "--lang", "de"),
                 ("translate", "2024-05", "--lang", "de"), ("review", "2024-05", "--lang", "de")):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert f"issues/2024-05/de.po:{line}: not a valid PO file: {reason}" in result.stderr, (args, result.stderr)
        assert "delete" not in result.stderr and "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == content


def test_catalog_that_is_not_utf8(run, workspace):
    """A catalog in another encoding is named, and kept."""
    path = workspace / "issues" / "2024-05" / "de.po"
    path.write_bytes(b"\xff\xfe bad")
    result = run("status", "2024-05")
    assert result.exit_code == 1 and re.search(r"de\.po: not UTF-8", result.stderr)
    assert "delete" not in result.stderr and path.read_bytes() == b"\xff\xfe bad"


def test_check_reads_every_issues_catalogs(run, workspace, models):
    """check without an id reads the catalogs of every issue, not only the issue files."""
    run("translate", "2023-12", "--lang", "de")
    path = workspace / "issues" / "2023-12" / "de.po"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('msgstr "DIGEST DECEMBER 2023"', 'msgstr "DIGEST DECEMBER 2023'), encoding="utf-8")
    line = next(n for n, l in enumerate(path.read_text().splitlines(), 1) if l == 'msgstr "DIGEST DECEMBER 2023')
    result = run("check")
    assert result.exit_code == 1
    assert f"issues/2023-12/de.po:{line}: not a valid PO file: the string is not closed" in result.stderr


def test_a_catalog_written_by_babel_reads_and_writes_back_unchanged(tmp_path):
    """Catalogs of the tool's earlier versions (babel: 76 columns, a closing blank line) come back byte for byte,
    and approving one entry changes that entry's lines only."""
    import io

    from babel.messages.catalog import Catalog as BabelCatalog
    from babel.messages.pofile import write_po

    from mco_newsletter.catalog_files import read_catalog, write_catalog

    babel = BabelCatalog(locale="de", project="mco-newsletter issue 2024-05")
    long = "Mass raids on conscripts in Moscow, a deserter kidnapped in Kazakhstan, and traffic police issuing notices."
    babel.add(long, long.upper(), context="preheader", flags=["fuzzy", "no-python-format"],
              auto_comments=["machine translation: argos tiny"], locations=[("issues/2024-05/issue.md", 5)])
    babel.add("Digest May 2024", "DIGEST MAY 2024", context="title", flags=["fuzzy"])
    buffer = io.BytesIO()
    write_po(buffer, babel, width=76)
    path = tmp_path / "de.po"
    path.write_bytes(buffer.getvalue())
    catalog = read_catalog(path)
    write_catalog(path, catalog)
    assert path.read_bytes() == buffer.getvalue()
    catalog.get("Digest May 2024", "title").fuzzy = False
    write_catalog(path, catalog)
    changes = changed_lines(buffer.getvalue().decode(), path.read_text(encoding="utf-8"))
    assert changes == ["-#, fuzzy"], changes


def test_what_is_not_a_piece_is_kept(run, workspace, models):
    """Entries a translator's tool added (plural forms) and closing comments survive translate untouched."""
    run("translate", "2023-12", "--lang", "de")
    path = workspace / "issues" / "2023-12" / "de.po"
    extra = '\nmsgid "one reader"\nmsgid_plural "%d readers"\nmsgstr[0] "ein Leser"\nmsgstr[1] "%d Leser"\n\n# checked by Anna\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    issue_md = workspace / "issues" / "2023-12" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace("Hello, dear friend.", "Hello, dear friends."),
                        encoding="utf-8")
    assert run("translate", "2023-12", "--lang", "de").exit_code == 0
    assert 'msgid_plural "%d readers"\nmsgstr[0] "ein Leser"\nmsgstr[1] "%d Leser"\n\n# checked by Anna\n' in \
        path.read_text(encoding="utf-8")
