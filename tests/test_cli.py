"""The mco-newsletter command: new, check, render, preview, help text, and errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import VALID_FRONT, set_setting


def test_every_command_has_help():
    """Every command explains itself in --help."""
    from mco_newsletter.cli import cli, editions, issues  # noqa: F401

    runner = CliRunner()
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert command.help and command.help.strip(), name
        assert "Usage:" in result.output


def test_check_clean_workspace(run):
    """check exits 0 on the sample workspace."""
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.output


def test_check_reports_every_problem_with_path_and_line(run, workspace, write_issue):
    """check lists problems from settings and issues as path:line with hints, and exits 1."""
    set_setting(workspace, 'bic = "DABAFIHH"', 'bic = "DABA"')
    write_issue("broken", VALID_FRONT.replace("2024-06-01", "soon") + "\n## Empty\n")
    result = run("check")
    assert result.exit_code == 1
    line = (workspace / "newsletter.toml").read_text().splitlines().index('bic = "DABA"') + 1
    assert f"newsletter.toml:{line}: donation.bic 'DABA' is not a valid BIC/SWIFT code" in result.stderr
    assert "issues/broken/issue.md:3: 'date' 'soon' is not a date\n    hint: write it as YYYY-MM-DD" in result.stderr
    assert "issues/broken/issue.md:9: section 'Empty' is empty" in result.stderr
    assert "3 problems found." in result.stderr
    assert "Traceback" not in result.output


def test_check_one_issue(run, write_issue):
    """check ID looks at that issue only (and the settings)."""
    write_issue("broken", "no front matter\n")
    assert run("check", "2024-05").exit_code == 0
    assert run("check", "broken").exit_code == 1
    missing = run("check", "nope")
    assert missing.exit_code == 1 and "issues/nope/issue.md: no such issue file" in missing.stderr


def test_new_scaffolds_a_draft_in_its_language(run, workspace):
    """new --lang ru writes a draft whose placeholders are Russian, and refuses to overwrite it."""
    result = run("new", "2024-06", "--lang", "ru", "--title", "Дайджест за июнь 2024")
    assert result.exit_code == 0, result.output
    text = (workspace / "issues" / "2024-06" / "issue.md").read_text(encoding="utf-8")
    assert "language: ru" in text and "status: draft" in text
    assert "## Заголовок первого раздела" in text and "Напишите здесь вступление" in text
    assert "Write the" not in text and "First section heading" not in text
    again = run("new", "2024-06", "--title", "Other")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert "Дайджест за июнь 2024" in (workspace / "issues" / "2024-06" / "issue.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "de", "ru"])
def test_check_refuses_scaffold_text(run, workspace, language):
    """check names every placeholder `new` left in an issue, at its line; written over, the issue passes."""
    assert run("new", "2024-06", "--language", language, "--title", "T").exit_code == 0
    result = run("check", "2024-06")
    assert result.exit_code == 1
    placeholders = [line for line in result.stderr.splitlines() if "still the placeholder of `new`" in line]
    assert [line.split(":")[1] for line in placeholders] == ["6", "10", "12", "14"], result.stderr
    path = workspace / "issues" / "2024-06" / "issue.md"
    head = path.read_text(encoding="utf-8").split("---\n")[1]
    path.write_text(f"---\n{head.replace('preheader: ', 'preheader: Ours. #')}---\n\nOur intro.\n\n"
                    "## Our section\n\nOur text.\n", encoding="utf-8")
    assert run("check", "2024-06").exit_code == 0


@pytest.mark.parametrize("args,message,code", [
    (["new", "../evil", "--title", "x"], "is not a usable issue id", 1),
    (["new", "x", "--lang", "fr", "--title", "x"], "'fr' is not one of the newsletter's languages", 2),
    (["new", "x", "--language", "fr", "--title", "x"], "'fr' is not one of the newsletter's languages", 2),
])
def test_new_refuses_bad_input(run, args, message, code):
    """A bad id is an error; a language the newsletter does not have is a usage error (exit 2)."""
    result = run(*args)
    assert result.exit_code == code and message in result.stderr


def test_render_writes_the_ready_editions(run, workspace, tmp_path):
    """render writes html, txt and eml for the source language and prints where they are."""
    out = tmp_path / "out"
    result = run("render", "2024-05", "--out", str(out))
    assert result.exit_code == 0, result.output
    for suffix in ("html", "txt", "eml"):
        assert (out / "2024-05" / f"en.{suffix}").stat().st_size > 1000
        assert f"en.{suffix}" in result.output
    assert (out / "2024-05" / "aktion-suedkorea-2015.png").is_file()


def test_render_language_not_ready(run, tmp_path):
    """Asking for a language without a translation says why, exit 1, nothing written."""
    out = tmp_path / "out"
    result = run("render", "2024-05", "--lang", "de", "--out", str(out))
    assert result.exit_code == 1
    assert "issue 2024-05: no de translation yet" in result.stderr and "translate 2024-05 --to de" in result.stderr
    assert not out.exists()
    unknown = run("render", "2024-05", "--lang", "fr", "--out", str(out))
    assert unknown.exit_code == 2 and "'fr' is not one of the newsletter's languages" in unknown.stderr


def test_render_broken_issue_lists_problems(run, write_issue, tmp_path):
    """render on a broken issue prints its problems, not a traceback."""
    write_issue("broken", VALID_FRONT + "\n<b>raw</b>\n")
    result = run("render", "broken", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "issues/broken/issue.md:9: raw HTML is not allowed" in result.stderr


def test_no_workspace(tmp_path, monkeypatch):
    """Outside a workspace every command says how to point at one."""
    from mco_newsletter.cli import cli, issues  # noqa: F401

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MCO_NEWSLETTER_WORKSPACE", raising=False)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "no newsletter.toml in" in result.stderr and "--workspace DIR" in result.stderr


def test_installed_command_runs(workspace, tmp_path):
    """The console script works as a process and exits 0 on render."""
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace),
                             "render", "2023-12", "--out", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b" / "2023-12" / "en.eml").is_file()


def test_check_missing_templates_and_catalogs(run, workspace):
    """A workspace without its templates or a language's catalog fails check, naming the file."""
    (workspace / "templates" / "email.txt.j2").unlink()
    (workspace / "locales" / "ru" / "LC_MESSAGES" / "messages.po").unlink()
    result = run("check")
    assert result.exit_code == 1
    assert "templates/email.txt.j2: template missing" in result.stderr
    assert "locales/ru/LC_MESSAGES/messages.po: no catalog of template words for 'ru'" in result.stderr


def test_check_warns_without_postal_address(run, workspace):
    """Without postal_address check warns (the footer lacks it) but does not fail."""
    text = (workspace / "newsletter.toml").read_text(encoding="utf-8")
    start = text.index("[postal_address]")
    (workspace / "newsletter.toml").write_text(text[:start] + text[text.index("[sender]"):], encoding="utf-8")
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "newsletter.toml: warning: no postal_address" in result.stderr
    assert "No problems found (1 warning)." in result.stdout


def test_check_json(run, workspace, write_issue):
    """check --json lists problems and warnings with path, line, message and hint; exit 1 with problems."""
    import json

    write_issue("broken", VALID_FRONT.replace("2024-06-01", "soon") + "\nSee [it](http://example.org).\n")
    result = run("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["problems"] == [{"path": "issues/broken/issue.md", "line": 3,
                                   "message": "'date' 'soon' is not a date",
                                   "hint": "write it as YYYY-MM-DD, e.g. 2024-07-09"}]
    clean = json.loads(run("check", "2024-05", "--json").stdout)
    assert clean == {"problems": [], "warnings": []}


def test_render_json_and_language_spellings(run, tmp_path):
    """render --json names the files; --lang and the older --language name the same option."""
    import json

    for spelling in ("--lang", "--language"):
        result = run("render", "2024-05", spelling, "en", "--out", str(tmp_path / spelling), "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["issue"] == "2024-05" and [e["language"] for e in report["editions"]] == ["en"]
        assert [path.rsplit("/", 1)[1] for path in report["editions"][0]["files"]] == ["en.html", "en.txt", "en.eml"]
    preview = run("preview", "2024-05", "--language", "fr")
    assert preview.exit_code == 2 and "'fr' is not one of the newsletter's languages" in preview.stderr


def test_counts_read_right_in_the_singular(run, workspace):
    """One row, one subscriber: the singular, in import, list and export."""
    (workspace / "one.csv").write_text("email,language\na@example.org,en\n", encoding="utf-8")
    imported = run("subscribers", "import", str(workspace / "one.csv"))
    assert imported.exit_code == 0 and imported.stdout.startswith("Imported 1 row:")
    assert run("subscribers", "list").stderr.strip() == "1 subscriber"
    exported = run("subscribers", "export", "--out", str(workspace / "private" / "all.csv"))
    assert "Exported 1 subscriber to" in exported.stderr
    assert run("subscribers", "add", "b@example.org", "--lang", "de").exit_code == 0
    assert run("subscribers", "erase", "b@example.org", "-y").exit_code == 0


def test_subscribers_list_has_a_header_on_a_terminal(workspace, tmp_path):
    """On a terminal `subscribers list` starts with a header row; piped into a program it prints the rows only."""
    import os
    import pty

    env = {**os.environ, "MCO_NEWSLETTER_WORKSPACE": str(workspace)}
    assert subprocess.run([sys.executable, "-m", "mco_newsletter", "subscribers", "add", "a@example.org", "--lang", "en"],
                          env=env, capture_output=True).returncode == 0
    piped = subprocess.run([sys.executable, "-m", "mco_newsletter", "subscribers", "list"], env=env,
                           capture_output=True, text=True)
    assert piped.stdout.splitlines() == ["a@example.org\ten\tactive\t"]
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "subscribers", "list"], env=env,
                               stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(leader)
    assert output.decode().splitlines()[:2] == ["email\tlanguage\tstatus\ttags", "a@example.org\ten\tactive\t"]
