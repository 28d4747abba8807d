"""The suite's workspace is the frozen sample: what the organisation adds to this repository cannot reach the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, SAMPLE, SAMPLE_ISSUES, VALID_FRONT, copy_sample


def test_workspace_is_the_sample(workspace):
    """The fixture holds tests/sample's settings and issues and nothing else: no catalogs, no private data."""
    assert (workspace / "newsletter.toml").read_bytes() == (SAMPLE / "newsletter.toml").read_bytes()
    assert sorted(p.name for p in (workspace / "issues").iterdir()) == list(SAMPLE_ISSUES)
    assert not list((workspace / "issues").glob("*/*.po"))
    assert not (workspace / "private").exists()


def test_repository_changes_do_not_reach_the_workspace(tmp_path):
    """A new issue, an approved catalog and a changed setting in the repository root are not in a new workspace.

    The month of real use happens in a copy of the repository's folders, never in the checkout itself (other
    test processes read it at the same time, and a killed run must not leave a probe behind)."""
    from click.testing import CliRunner

    from mco_newsletter.cli import cli, editions, issues, sending, subscribers, translation, web  # noqa: F401

    repo = tmp_path / "repo"
    for folder in ("issues", "tests/sample"):
        shutil.copytree(REPO / folder, repo / folder)
    shutil.copy(REPO / "newsletter.toml", repo / "newsletter.toml")
    extra = repo / "issues" / "zz-probe-of-the-suite"
    extra.mkdir()
    (extra / "issue.md").write_text(VALID_FRONT + "\nA month of real use.\n", encoding="utf-8")
    catalog = repo / "issues" / SAMPLE_ISSUES[0] / "zz-probe.po"
    catalog.write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
    settings = repo / "newsletter.toml"
    settings.write_bytes(settings.read_bytes() + b"\n# zz-probe-of-the-suite: a setting the organisation changed\n")
    fresh = copy_sample(tmp_path / "fresh", repo)
    assert sorted(p.name for p in (fresh / "issues").iterdir()) == list(SAMPLE_ISSUES)
    assert not list((fresh / "issues").glob("*/*.po"))
    assert (fresh / "newsletter.toml").read_bytes() == (SAMPLE / "newsletter.toml").read_bytes()
    result = CliRunner().invoke(cli, ["--workspace", str(fresh), "check"], catch_exceptions=False)
    assert result.exit_code == 0 and "zz-probe" not in result.output, result.output


def test_the_callers_environment_does_not_reach_the_tests(tmp_path):
    """With MCO_NEWSLETTER_DB and MCO_NEWSLETTER_WORKSPACE set by the caller, a test still uses its own workspace."""
    leak = tmp_path / "leak" / "subscribers.sqlite3"
    # The inner run is a plain one (-n 0), not one more worker of this run's pytest-xdist. What it proves lies in
    # tests/conftest.py, so it loads no installed plugin but xdist (for the -n of the project's addopts): importing
    # hypothesis, Playwright's and the others took most of its two seconds of CPU.
    env = {**{key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST_")},
           "MCO_NEWSLETTER_DB": str(leak), "MCO_NEWSLETTER_WORKSPACE": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # Its temporary folders go under this test's own: with pytest's numbered ones, at its exit it would delete the
    # oldest kept run's (a whole suite's, seconds of disk work) and could take a folder another run still reads.
    test = str(Path(__file__).parent / "test_subscribers.py") + "::test_database_and_folder_are_owner_only"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin",
                             "-n", "0", "--basetemp", str(tmp_path / "inner"), test],
                            capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:]
    assert not leak.exists()
