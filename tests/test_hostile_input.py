"""Hostile or careless input: bombs, huge files, control characters, stray paths; a clear message, never a crash."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import VALID_FRONT


def cli_process(workspace, *args: str) -> subprocess.CompletedProcess:
    """The CLI as a child process limited to 2 GB and 2 minutes: a crash or a runaway fails the test, not the machine."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, levels)]
    return "\n".join(lines)


def test_yaml_aliases_are_refused_at_their_line(write_issue, run):
    """An alias bomb in the front matter is refused at once, naming the line of the first anchor."""
    path = write_issue("bomb", VALID_FRONT.replace("keywords: [Russia]\n", alias_bomb(5) + "\n") + "\nText.\n")
    result = run("check", "bomb")
    assert result.exit_code == 1
    assert "issues/bomb/issue.md:6: front matter may not use YAML anchors (&) or aliases (*)" in result.stderr
    assert path.is_file()


def test_yaml_anchor_alone_is_refused(write_issue, run):
    """A lone anchor is refused as well: the front matter is plain keys and values."""
    write_issue("anchor", VALID_FRONT.replace("title: Test digest", "title: &t Test digest") + "\nText.\n")
    result = run("check", "anchor")
    assert result.exit_code == 1 and "issue.md:2: front matter may not use YAML anchors" in result.stderr


@pytest.mark.parametrize(("value", "line"), [("[" * 30000, 6), ("{a: " * 15000, 6),
                                             ("\n" + "".join("  " * i + "- \n" for i in range(200)), 16)],
                         ids=["brackets", "braces", "indented"])
def test_deeply_nested_front_matter_is_refused(workspace, value, line):
    """30,000 nested brackets are a problem at their line, not a segmentation fault (run as a process).

    What is asserted is the behaviour (refused at the keywords line, exit 1, no traceback), not the words: which
    of the tool's depth check and PyYAML's own (6.0.4 has one) speaks first depends on PyYAML's version."""
    path = workspace / "issues" / "deep" / "issue.md"
    path.parent.mkdir(parents=True)
    path.write_text(VALID_FRONT.replace("keywords: [Russia]", "keywords: " + value) + "\nText.\n", encoding="utf-8")
    result = cli_process(workspace, "check", "deep")
    assert result.returncode == 1, result.stderr[-2000:]
    first = result.stderr.splitlines()[0]
    assert re.match(rf"issues/deep/issue\.md:{line}: front matter ", first), result.stderr[-2000:]
    assert "nest" in first and "1 problem found." in result.stderr
    assert "Traceback" not in result.stderr


def test_front_matter_size_is_bounded(write_issue, run):
    """A front matter block of hundreds of kilobytes is refused with its size."""
    write_issue("wide", VALID_FRONT.replace("keywords: [Russia]", "keywords: [" + "Russia, " * 40000 + "x]")
                + "\nText.\n")
    result = run("check", "wide")
    assert result.exit_code == 1
    assert "issues/wide/issue.md:1: the front matter is 320 KB; it may be at most 64 KB" in result.stderr


def test_issue_past_two_megabytes_is_refused(write_issue, run):
    """An issue past 2 MB is refused with a clear message before it is parsed."""
    paragraph = "Words of a very long digest. " * 40 + "\n\n"
    write_issue("huge", VALID_FRONT + "\n" + paragraph * 2000)
    result = run("check", "huge")
    assert result.exit_code == 1
    assert "issues/huge/issue.md: the issue is 2.3 MB; an issue may be at most 2 MB" in result.stderr
    render = run("render", "huge")
    assert render.exit_code == 1 and "at most 2 MB" in render.stderr


def test_issue_that_is_not_a_regular_file(workspace):
    """issue.md linked to /dev/zero is refused instead of being read forever (run with a memory limit)."""
    folder = workspace / "issues" / "zero"
    folder.mkdir()
    (folder / "issue.md").symlink_to("/dev/zero")
    result = cli_process(workspace, "check", "zero")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "issues/zero/issue.md: not a regular file" in result.stderr


@pytest.mark.stores
def test_csv_header_of_absurd_width(run, workspace):
    """A CSV whose header names 60,000 columns is refused with the count, without reading further."""
    path = workspace / "wide.csv"
    path.write_text("email,language," + ",".join(f"c{i}" for i in range(60000)) + "\na@example.org,en\n",
                    encoding="utf-8")
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert "wide.csv:1: the header names 60,002 columns; a subscriber file may have at most 1,000" in result.stderr



@pytest.mark.parametrize("raw,line,message", [
    ("title: Digest\rBcc: victim@evil.example", 2, "a carriage return (CR) without a line feed"),
    ("title: Digest \x1b[31mred", 2, "control character U+001B"),
    ('title: "Digest\\rBcc: victim@evil.example"', 2, "'title' contains a control character (U+000D)"),
    ('keywords: ["Russia\\u0000"]', 6, "'keywords' contains a control character (U+0000)"),
    ("keywords: [Rus\x7fsia]", 6, "control character U+007F"),
], ids=["raw-cr-title", "escape-title", "yaml-cr-title", "yaml-nul-keyword", "del-keyword"])
def test_control_characters_in_front_matter(write_issue, run, raw, line, message):
    """A lone CR or another control character in the front matter is a problem at its line."""
    key = raw.split(":")[0]
    old = next(text for text in VALID_FRONT.splitlines() if text.startswith(key + ":"))
    write_issue("ctl", VALID_FRONT.replace(old, raw) + "\nText.\n", dedent=False)
    result = run("check", "ctl")
    assert result.exit_code == 1, result.output
    assert f"issues/ctl/issue.md:{line}: {message}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("body,line,message", [
    ("Text with a lone\rcarriage return.\n", 9, "a carriage return (CR) without a line feed"),
    ("First.\n\nA NUL \x00 here.\n", 11, "control character U+0000"),
    ("A return by entity: &#13;Bcc: x here.\n", 9, "the text contains a control character (U+000D)"),
], ids=["cr", "nul", "entity"])
def test_control_characters_in_the_body(write_issue, run, body, line, message):
    """Control characters in the Markdown body, written or as entities, are problems at their line."""
    write_issue("ctl", VALID_FRONT + "\n" + body, dedent=False)
    result = run("check", "ctl")
    assert result.exit_code == 1, result.output
    assert f"issues/ctl/issue.md:{line}: {message}" in result.stderr


def test_reference_style_links_are_refused(write_issue, run):
    """[report][1] with a `[1]: https://…` line is refused at the definition instead of losing the link."""
    write_issue("refs", VALID_FRONT + "\nRead the [report][1] and [the appeal].\n\n"
                                      "[1]: https://example.org/report\n[the appeal]: https://example.org/appeal\n")
    result = run("check", "refs")
    assert result.exit_code == 1
    assert "issues/refs/issue.md:11: reference-style links are not supported ([1]: …)" in result.stderr
    assert "issues/refs/issue.md:12: reference-style links are not supported ([the appeal]: …)" in result.stderr
    assert "write the address in the link itself" in result.stderr


@pytest.mark.parametrize("command", ["render", "check", "status", "translate"])
def test_issue_ids_cannot_leave_the_workspace(run, workspace, tmp_path, command):
    """An id like ../../outside names no issue: refused clearly, and nothing outside issues/ is read or written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "issue.md").write_text(VALID_FRONT + "\nOutside text.\n", encoding="utf-8")
    for given in ("../../outside", str(outside), str(outside / "issue.md")):
        result = run(command, given)
        assert result.exit_code == 1, (given, result.output)
        assert "is not an issue id" in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in outside.iterdir()) == ["issue.md"]


def test_csv_that_is_not_a_regular_file(workspace):
    """Importing a CSV linked to /dev/zero is refused instead of read forever (run with a memory limit)."""
    (workspace / "people.csv").symlink_to("/dev/zero")
    result = cli_process(workspace, "subscribers", "import", str(workspace / "people.csv"))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "people.csv: not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_new_refuses_control_characters_in_the_title(run, workspace):
    """new refuses a title with a carriage return or an escape character, and writes nothing."""
    for title in ("Digest\rBcc: victim@evil.example", "Digest \x1b[31m"):
        result = run("new", "2024-06", "--title", title)
        assert result.exit_code == 1 and "the title must be one line of text" in result.stderr
    assert not (workspace / "issues" / "2024-06").exists()
