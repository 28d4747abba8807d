"""The docs keep up with the command: every command and option of --help is in the README or docs/, and every
command's help shows an example that parses (as sqlite-utils' tests/test_docs.py keeps its docs honest)."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from click.testing import CliRunner

from conftest import REPO
from test_cli import every_command

PROGRAM = "mco-newsletter"


def doc_blocks() -> list[tuple[str, str]]:
    """(file, text) of each place a command is written about: a paragraph, a table row or a line of code, in
    README.md and docs/*.md."""
    blocks = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        paragraph: list[str] = []
        fenced = False
        for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
            if line.startswith("```"):
                fenced = not fenced
                continue
            if fenced or line.startswith("|"):
                blocks.append((path.name, line))  # a table row or a line of code stands alone
            elif line.strip():
                paragraph.append(line)
                continue
            if paragraph:
                blocks.append((path.name, " ".join(paragraph)))
                paragraph = []
    return blocks


def names_command(text: str, words: str) -> bool:
    """The block writes the command as a reader would type or look for it: `mco-newsletter words` or `words …`
    in code."""
    return re.search(rf"(?:{PROGRAM} |`){re.escape(words)}(?![\w-])", text) is not None


def long_names(command: click.Command) -> list[str]:
    return [name for param in command.params if isinstance(param, click.Option) and not param.hidden
            for name in (*param.opts, *param.secondary_opts) if name.startswith("--")]


def commands():
    from mco_newsletter.cli import cli

    return [(" ".join(path), command) for path, command in every_command(cli) if not command.hidden]


def test_every_command_is_documented():
    """Each command and subcommand is written about in the README or docs/ (`mco-newsletter subscribers show` or
    `subscribers show …`), each found on its own."""
    blocks = doc_blocks()
    found = commands()
    assert {"check", "subscribers import", "dkim keygen", "translators revoke"} <= {words for words, _ in found}
    missing = [words for words, _ in found if not any(names_command(text, words) for _, text in blocks)]
    assert not missing, f"commands not in README.md or docs/*.md: {missing}"


def test_every_option_is_documented():
    """Each long option name of each command (and the alias of a renamed option) is written beside its command,
    in a paragraph, table row or line of code that names the command; the program's own options anywhere."""
    from mco_newsletter.cli import cli

    blocks = doc_blocks()
    missing = [f"{PROGRAM} {option}" for option in long_names(cli)
               if not any(re.search(rf"{re.escape(option)}(?![\w-])", text) for _, text in blocks)]
    for words, command in commands():
        beside = [text for _, text in blocks if names_command(text, words)]
        missing += [f"{words} {option}" for option in long_names(command)
                    if not any(re.search(rf"{re.escape(option)}(?![\w-])", text) for text in beside)]
    assert not missing, f"options not written beside their command in README.md or docs/*.md: {missing}"


def examples(help_text: str) -> list[str]:
    """The command lines of a help text's Example: or Examples: block."""
    lines = help_text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    found = []
    for start in starts:
        for line in lines[start + 1:]:
            if not line.strip():
                break
            found.append(line.strip())
    return found


@pytest.mark.parametrize("words", [words for words, _ in commands()] + [""])
def test_every_help_shows_an_example(words):
    """Each command's --help (a group's and the program's too) has an Example: block whose lines run that
    command (or one below the group) with options it has: each parses as the command's own arguments."""
    from mco_newsletter.cli import cli

    result = CliRunner().invoke(cli, [*words.split(), "--help"], prog_name=PROGRAM)
    assert result.exit_code == 0, result.output
    shown = examples(result.output)
    assert shown, (f"no Example: block in `{PROGRAM} {words} --help` (a paragraph opening with \\b, then "
                   f"'Example:' on a line of its own and a command on each line after it):\n{result.output}")
    for line in shown:
        args = shlex.split(line.split("  #", 1)[0])
        assert args[0] == PROGRAM, line
        path, command, rest = resolve(cli, args[1:])
        assert path[:len(words.split())] == words.split() and path, f"{line!r} is not an example of {words!r}"
        parser = command.make_parser(click.Context(command, info_name=command.name))
        parser.parse_args(rest)  # an unknown option or a missing value raises here


def resolve(group: click.Group, args: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """The words of the (sub)command an argument list names, past the groups' own options, the command, and the
    arguments left for it."""
    command: click.Command = group
    path: list[str] = []
    while isinstance(command, click.Group):
        args = _past_options(command, args)
        found = command.get_command(click.Context(command), args[0]) if args else None
        assert found is not None, f"no command {args[:1]} in {command.name}"
        command, args = found, args[1:]
        path.append(found.name)
    return path, command, args


def _past_options(group: click.Group, args: list[str]) -> list[str]:
    """The arguments after a group's own options at their front (--workspace DIR, --debug)."""
    while args and args[0].startswith("-"):
        param = next((p for p in group.params if args[0].split("=")[0] in (*p.opts, *p.secondary_opts)), None)
        assert param is not None, f"{args[0]} is not an option of {group.name}"
        args = args[1 if getattr(param, "is_flag", False) or "=" in args[0] else 2:]
    return args


def test_the_license_is_the_one_pyproject_declares():
    """pyproject.toml says MIT: LICENSE holds the MIT licence's text with a copyright line (the wheel carries it:
    tests/test_workspace_templates.py)."""
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["license"]
    assert declared == {"text": "MIT"}
    text = " ".join((REPO / "LICENSE").read_text(encoding="utf-8").split())
    assert text.startswith("MIT License Copyright (c) ")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy of this software" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text


def test_the_changelog_has_the_coming_release():
    """CHANGELOG.md opens with the release being made (Unreleased, or the version in pyproject.toml), its changes
    grouped under headings for users; every version it lists is one the project had."""
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## (.+)$", text, re.M)
    assert releases and releases[0].split(" ")[0] in ("Unreleased", version), releases
    first = text.split(f"## {releases[0]}", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"^### ", first, re.M)) >= 5 and len(re.findall(r"^- ", first, re.M)) >= 20


def test_contributing_names_what_exists():
    """Every path CONTRIBUTING.md names in code (a module, a folder, a test, a bench script) is in the repository,
    and every command it runs is one the program has."""
    from mco_newsletter.cli import cli

    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:src|tests|bench|docs|\.ci)/[\w./-]*|README\.md|CHANGELOG\.md|LICENSE|"
                            r"pyproject\.toml|babel\.cfg|constraints\.txt|test)`", text))
    assert len(paths) >= 20 and "src/mco_newsletter/cli/" in paths, sorted(paths)
    missing = sorted(path for path in paths if not (REPO / path).exists())
    assert not missing, f"CONTRIBUTING.md names what is not there: {missing}"
    known = {words for words, _ in commands()}
    named = set(re.findall(rf"(?:`|&& |^\s*){PROGRAM} ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", text, re.M))
    unknown = sorted(words for words in named if words not in known and words.split()[0] not in known)
    assert not unknown, f"CONTRIBUTING.md runs commands the program lacks: {unknown}"
