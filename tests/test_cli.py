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


def test_new_scaffolds_a_valid_issue(run, workspace):
    """new writes an issue that passes check and refuses to overwrite it."""
    result = run("new", "2024-06", "--language", "de", "--title", "Digest Juni 2024")
    assert result.exit_code == 0, result.output
    path = workspace / "issues" / "2024-06" / "issue.md"
    assert "language: de" in path.read_text(encoding="utf-8")
    assert run("check", "2024-06").exit_code == 0
    again = run("new", "2024-06", "--title", "Other")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert "Digest Juni 2024" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("args,message", [
    (["new", "../evil", "--title", "x"], "is not a usable issue id"),
    (["new", "x", "--language", "fr", "--title", "x"], "language 'fr' is not one of the newsletter's languages"),
])
def test_new_refuses_bad_input(run, args, message):
    """Bad ids and languages are clear errors."""
    result = run(*args)
    assert result.exit_code == 1 and message in result.stderr


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
    assert "issue 2024-05: no de translation yet" in result.stderr and "translate 2024-05 --lang de" in result.stderr
    assert not out.exists()
    unknown = run("render", "2024-05", "--lang", "fr", "--out", str(out))
    assert unknown.exit_code == 1 and "'fr' is not one of the newsletter's languages" in unknown.stderr


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
