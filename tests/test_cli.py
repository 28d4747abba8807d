"""The mco-newsletter command: new, check, render, preview, help text, and errors without tracebacks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import VALID_FRONT, override_template, set_setting


def every_command(group, path=()):
    """(words, command) for every command and subcommand below `group`, walking nested groups as --help does
    (list_commands and get_command: the commands load when named)."""
    import click

    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


def test_every_command_has_help():
    """Every command and subcommand, at any depth, explains itself and each of its options in --help."""
    from mco_newsletter.cli import cli

    runner = CliRunner()
    found = list(every_command(cli))
    words = {" ".join(path) for path, _ in found}
    assert {"check", "render", "subscribers import", "subscribers erase", "models install", "send-status",
            "archive", "serve", "review"} <= words, words
    assert len(found) >= 23
    for path, command in found:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert command.help and command.help.strip(), path
        assert f"Usage: cli {' '.join(path)}" in result.output, path
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert param.help and param.help.strip(), (path, param.name)


def test_each_command_is_in_the_module_that_loads_it():
    """COMMAND_MODULES names, for every command the package defines, the module that defines it: no command is
    missing from --help or unreachable, and none is listed that does not exist."""
    import importlib
    import pkgutil

    import mco_newsletter.cli as package
    from mco_newsletter.cli import COMMAND_MODULES, cli

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    defined = {name: command.callback.__module__ for name, command in cli.commands.items()}
    assert defined == {name: f"{package.__name__}.{module}" for name, module in COMMAND_MODULES.items()}


@pytest.mark.parametrize("command,module,absent", [("send", "sending", "mco_newsletter.cli.translation"),
                                                   ("render", "editions", "mco_newsletter.cli.sending"),
                                                   ("serve", "web", "mco_newsletter.catalogs")])
def test_a_command_loads_only_its_own_module(command, module, absent):
    """`send` started by cron or after a crash does not import the translation and review code (nor the other
    commands' modules); the command itself is there with its options."""
    script = ("import sys\nfrom mco_newsletter.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(name for name in sys.modules if name.startswith('mco_newsletter.cli.')))\n"
              f"print({absent!r} in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script, command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    *help_text, modules, loaded = result.stdout.strip().splitlines()
    assert f"Usage: mco-newsletter {command} [OPTIONS]" in help_text[0]
    assert loaded == "False", modules
    assert f"mco_newsletter.cli.{module}" in modules


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
    assert "issue 2024-05: no de translation yet" in result.stderr and "translate 2024-05 --lang de" in result.stderr
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


def test_check_missing_catalog(run, workspace):
    """A language whose template words neither the package nor the workspace has fails check, naming the catalog
    the workspace needs."""
    set_setting(workspace, 'languages = ["en", "de", "ru"]', 'languages = ["en", "de", "ru", "uk"]')
    result = run("check")
    assert result.exit_code == 1
    assert "locales/uk/LC_MESSAGES/messages.po: no catalog of template words for 'uk'" in result.stderr


def break_template(workspace, name: str, old: str, new: str) -> int:
    """Replace text in the test workspace's override of a template; return the 1-based line of the change."""
    path = override_template(workspace, name)
    text = path.read_text(encoding="utf-8")
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize("name,old,new,message", [
    ("email.mjml.j2", "{{ name }}", "{{ name }", "template syntax error: "),
    ("email.txt.j2", "{{ name }}", "{{ nmae }}", "template error: 'nmae' is undefined"),
    ("pages/unsubscribe.html.j2", "{% endblock %}", "{% endblok %}", "template syntax error: "),
    ("pages/archive_index.html.j2", "{{ entry.title }}", "{{ entry.titel }}", "template error: "),
    ("pages/unsubscribed.html.j2", "email=email", "email=address_of_reader",
     "template error: 'address_of_reader' is undefined"),
], ids=["mjml-syntax", "text-undefined", "page-syntax", "archive-attribute", "page-undefined"])
def test_check_reports_broken_templates(run, workspace, name, old, new, message):
    """check compiles every template and renders each with a sample edition: errors come with file and line."""
    line = break_template(workspace, name, old, new)
    result = run("check")
    assert result.exit_code == 1, result.output
    assert f"templates/{name}:{line}: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_render_with_a_broken_template(run, workspace, tmp_path):
    """render with a template error is a sentence naming the template, not a traceback."""
    break_template(workspace, "email.txt.j2", "{{ name }}", "{{ nmae }}")
    result = run("render", "2023-12", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "email.txt.j2" in result.stderr and "'nmae' is undefined" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.stores
@pytest.mark.parametrize("flag", ["-y", "--yes"])
def test_send_yes_skips_the_question(run, workspace, flag):
    """`send -y` (as `--yes`) sends without asking, with nothing on standard input; without it the question stops
    a send that gets no answer."""
    from test_send import configure, populate

    configure(workspace)
    populate(workspace, 2)
    asked = run("send", "2024-05", "--segment", "all", input="")
    assert asked.exit_code == 1 and "Send 2024-05 to 2 readers of 'all' via outbox?" in asked.output
    assert "no answer to the question" in asked.stderr
    outbox = workspace / "private" / "outbox" / "new"
    assert not outbox.exists() or not any(outbox.iterdir())
    result = run("send", "2024-05", "--segment", "all", flag, input="")
    assert result.exit_code == 0, result.output
    assert "via outbox?" not in result.output and len(list(outbox.iterdir())) == 2


@pytest.mark.stores
def test_declining_a_confirmation_is_not_an_error(run):
    """Answering no to erase or send changes nothing and exits 0 with a sentence, not 'Aborted!'."""
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    erase = run("subscribers", "erase", "a@example.org", input="n\n")
    assert erase.exit_code == 0, erase.output
    assert "Nothing changed." in erase.output and "Aborted" not in erase.output
    assert run("subscribers", "show", "a@example.org").exit_code == 0
    send = run("send", "2024-05", "--segment", "all", input="n\n")
    assert send.exit_code == 0 and "Nothing changed." in send.output
    assert "has not been sent" in run("send-status", "2024-05").output


@pytest.mark.stores
def test_no_answer_at_a_confirmation(run):
    """A question with standard input closed is an error that points at --yes."""
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    result = run("subscribers", "erase", "a@example.org", input="")
    assert result.exit_code == 1
    assert "no answer" in result.stderr and "--yes" in result.stderr
    assert run("subscribers", "show", "a@example.org").exit_code == 0


def interrupt_at_prompt(workspace, args: list[str], prompt: bytes) -> tuple[int, bytes, bytes]:
    """Run the CLI as a process, press Ctrl-C (SIGINT) once `prompt` is shown; return (exit code, stdout, stderr)."""
    import select
    import signal

    process = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), *args],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    shown = b""
    while prompt not in shown:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready and process.poll() is None, shown
        shown += process.stdout.read1(1000)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, shown + out, err


@pytest.mark.stores
def test_ctrl_c_at_a_prompt_exits_130(workspace, run):
    """Ctrl-C while the command asks for confirmation stops it with exit 130 and no traceback."""
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    code, _, err = interrupt_at_prompt(workspace, ["subscribers", "erase", "a@example.org"], b"[y/N]")
    assert code == 130, err
    assert b"Traceback" not in err and b"Interrupted." in err
    assert run("subscribers", "show", "a@example.org").exit_code == 0


def test_ctrl_c_in_review_exits_130(workspace, settings):
    """Ctrl-C at review's question keeps the decisions made and exits 130."""
    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.merging import new_catalog
    from mco_newsletter.workspace import load_issue

    issue = load_issue(settings, "2023-12")
    catalog = new_catalog(issue, "de")
    for piece in pieces(issue):
        catalog.entries.append(Entry(piece.source, piece.source.upper(), context=piece.context, flags=["fuzzy"]))
    write_catalog(catalog_path(issue, "de"), catalog)
    code, out, err = interrupt_at_prompt(workspace, ["review", "2023-12", "--lang", "de"], b"[q] quit")
    assert code == 130, err
    assert b"0 decisions saved" in out and b"Traceback" not in err


@pytest.mark.stores
@pytest.mark.sqlite_only("an SQLite file in the workspace could be committed; a database server's cannot")
def test_check_requires_the_database_to_be_git_ignored(run, workspace, tmp_path, monkeypatch):
    """In a git repository, check fails while the database path is not ignored, and passes once it is."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    result = run("check")
    assert result.exit_code == 1
    line = (workspace / "newsletter.toml").read_text().splitlines().index('path = "private/subscribers.sqlite3"') + 1
    assert (f"newsletter.toml:{line}: the subscriber database private/subscribers.sqlite3 is not covered by "
            ".gitignore") in result.stderr
    (workspace / ".gitignore").write_text("/private/\n")
    assert run("check").exit_code == 0
    (workspace / ".gitignore").write_text("# nothing ignored\n")
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(tmp_path / "outside" / "subscribers.sqlite3"))
    assert run("check").exit_code == 0  # outside the repository: nothing to ignore


@pytest.mark.parametrize("how", ["plain", "--debug", "MCO_NEWSLETTER_DEBUG"])
def test_last_resort_handler_and_debug(workspace, tmp_path, how):
    """An OSError no check foresaw is one sentence with a hint; --debug or MCO_NEWSLETTER_DEBUG=1 shows the traceback."""
    import os

    (tmp_path / "afile").write_text("a file where a folder should be")
    options = ["--debug"] if how == "--debug" else []
    env = {**os.environ, "MCO_NEWSLETTER_DEBUG": "1"} if how == "MCO_NEWSLETTER_DEBUG" else \
        {k: v for k, v in os.environ.items() if k != "MCO_NEWSLETTER_DEBUG"}
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", *options, "--workspace", str(workspace),
                             "render", "2023-12", "--out", str(tmp_path / "afile" / "out")],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    if how == "plain":
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("Error: ") and "afile" in result.stderr and "Not a directory" in result.stderr
        assert "hint: " in result.stderr
    else:
        assert "Traceback (most recent call last)" in result.stderr and "NotADirectoryError" in result.stderr
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "--debug"])
@pytest.mark.parametrize("case", ["damaged-database", "undefined-variable"])
@pytest.mark.stores
@pytest.mark.sqlite_only("a damaged SQLite file (PostgreSQL's own damage is its server's to report)")
def test_last_resort_handler_with_database_and_template_errors(run, workspace, settings, tmp_path, case, debug):
    """A sqlite3 error (a damaged database under `subscribers list`) and a Jinja2 error (a template naming an
    undefined variable under `render`) reach the last-resort handler as one `Error: …` line and a hint, exit 1;
    --debug shows the traceback of the very exception instead."""
    import os

    if case == "damaged-database":
        assert run("subscribers", "add", "reader@example.org", "--language", "en").exit_code == 0
        with sqlite3.connect(settings.database_path) as db:  # the schema's pages (it outgrew one page)
            kept = {page for (page,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")}
            size = db.execute("PRAGMA page_size").fetchone()[0]
        data = bytearray(settings.database_path.read_bytes())
        for page in range(2, len(data) // size + 1):  # every page but the schema's is garbage
            if page not in kept:
                data[(page - 1) * size:page * size] = b"\xa5" * size
        settings.database_path.write_bytes(bytes(data))
        command = ["subscribers", "list"]
        said = "Error: the subscriber database is damaged or unreadable: database disk image is malformed"
        hint, raised = "hint: restore it from a backup", "sqlite3.DatabaseError: "
    else:
        line = break_template(workspace, "email.txt.j2", "{{ name }}", "{{ nmae }}")
        command = ["render", "2023-12", "--out", str(tmp_path / "out")]
        said = f"Error: {workspace / 'templates' / 'email.txt.j2'}:{line}: template error: 'nmae' is undefined"
        hint = "hint: fix the template; `mco-newsletter check` compiles every template"
        raised = "jinja2.exceptions.UndefinedError: 'nmae' is undefined"
    env = {name: value for name, value in os.environ.items() if name != "MCO_NEWSLETTER_DEBUG"}
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", *(["--debug"] if debug else []),
                             "--workspace", str(workspace), *command], capture_output=True, text=True, timeout=120,
                            env=env, check=False)
    assert result.returncode == 1, result.stderr
    if debug:
        assert "Traceback (most recent call last)" in result.stderr and raised in result.stderr
        assert not any(line.startswith("Error: ") for line in result.stderr.splitlines())
    else:
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0] == said and lines[1].startswith("  " + hint), result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "out" / "2023-12" / "en.html").exists()


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
    """check --json lists problems, warnings and notes with path, line, message and hint; exit 1 with problems."""
    import json

    write_issue("broken", VALID_FRONT.replace("2024-06-01", "soon") + "\nSee [it](http://example.org).\n")
    result = run("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["problems"] == [{"path": "issues/broken/issue.md", "line": 3,
                                   "message": "'date' 'soon' is not a date",
                                   "hint": "write it as YYYY-MM-DD, e.g. 2024-07-09"}]
    clean = json.loads(run("check", "2024-05", "--json").stdout)
    assert clean == {"problems": [], "warnings": [], "notes": []}


def test_check_says_each_problem_once_in_line_order(run, workspace, write_issue):
    """A link written three times in a paragraph is one warning; warnings and problems found by different checks
    come in the order of their files and lines (terminal and --json alike)."""
    import json

    write_issue("links", VALID_FRONT + "\nIntro with [a](http://example.org/a) link.\n\n## Section one\n\n"
                "See [x](http://example.org/x), [x](http://example.org/x) and [x](http://example.org/x).\n\n"
                "## Heading with [h](http://example.org/h)\n\n- item [y](http://example.org/y)\n")
    result = run("check", "links")
    assert result.exit_code == 0 and "(4 warnings)" in result.stdout, result.output
    said = [line.split(": warning: ")[0] for line in result.stderr.splitlines() if ": warning: " in line]
    assert said == [f"issues/links/issue.md:{line}" for line in (9, 13, 15, 17)]
    assert run("new", "2024-06", "--title", "T").exit_code == 0
    path = workspace / "issues" / "2024-06" / "issue.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n![p](https://example.org/p.png)\n", encoding="utf-8")
    result = run("check", "2024-06")
    lines = [int(line.split(":")[1]) for line in result.stderr.splitlines() if line.startswith("issues/2024-06")]
    assert result.exit_code == 1 and len(lines) == 5 and lines == sorted(lines), result.stderr
    report = json.loads(run("check", "2024-06", "--json").stdout)
    assert [problem["line"] for problem in report["problems"]] == lines


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


@pytest.mark.stores
def test_counts_read_right_in_the_singular(run, workspace):
    """One row, one subscriber: the singular, in import, list and export."""
    (workspace / "one.csv").write_text("email,language\na@example.org,en\n", encoding="utf-8")
    imported = run("subscribers", "import", str(workspace / "one.csv"))
    assert imported.exit_code == 0 and imported.stdout.startswith("Read 1 row: 1 imported (1 added).")
    assert run("subscribers", "list").stderr.strip() == "1 subscriber"
    exported = run("subscribers", "export", "--out", str(workspace / "private" / "all.csv"))
    assert "Exported 1 subscriber to" in exported.stderr
    assert run("subscribers", "add", "b@example.org", "--lang", "de").exit_code == 0
    assert run("subscribers", "erase", "b@example.org", "-y").exit_code == 0


@pytest.mark.stores
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


def test_the_suite_counts_the_cores_where_sched_getaffinity_is_missing(monkeypatch):
    """`-n auto` runs one worker more than the cores: the cores this process may use where the system says
    (os.sched_getaffinity), all of them where it cannot (macOS)."""
    import os

    from conftest import pytest_xdist_auto_num_workers

    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    if hasattr(os, "sched_getaffinity"):
        assert pytest_xdist_auto_num_workers(None) == len(os.sched_getaffinity(0)) + 1
        monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert pytest_xdist_auto_num_workers(None) == 9
