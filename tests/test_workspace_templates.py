"""The templates and their words ship in the package; a workspace's own templates/ and locales/ override them, a
template file by file and the words message by message (Pelican's theme lookup), so a workspace that changed
nothing gets the tool's fixes on upgrade."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from conftest import REPO, override_template as override, render_issue
from mco_newsletter.config import load_settings
from mco_newsletter.errors import NewsletterError

OVERRIDE_PO = """\
msgid ""
msgstr ""
"Language: de\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Thank you for reading!"
msgstr "Danke fürs Lesen, liebe Freundinnen und Freunde!"

#, fuzzy
msgid "Unsubscribe"
msgstr "Nicht vertrauenswürdig"

msgid "Keywords"
msgstr ""

msgid "A sentence the templates no longer use"
msgstr "Ein Satz, den die Vorlagen nicht mehr verwenden"
"""


def bare(workspace: Path) -> Path:
    """The workspace without templates/ and locales/ (the test fixture no longer copies them)."""
    for folder in ("templates", "locales"):
        shutil.rmtree(workspace / folder, ignore_errors=True)
    return workspace


def test_a_workspace_without_templates_renders_serves_and_archives(workspace, run, tmp_path):
    """With neither templates/ nor locales/, check passes and render, new, archive and serve use the package's
    templates and words (Russian too)."""
    from reader_pages import serving

    bare(workspace)
    checked = run("check")
    assert checked.exit_code == 0, checked.output
    assert "note:" not in checked.output
    out = tmp_path / "build"
    assert run("render", "2023-12", "--out", str(out)).exit_code == 0
    assert "Thank you for reading!" in (out / "2023-12" / "en.txt").read_text(encoding="utf-8")
    assert run("new", "2024-07", "--language", "ru", "--title", "Дайджест").exit_code == 0
    assert "status: draft" in (workspace / "issues" / "2024-07" / "issue.md").read_text(encoding="utf-8")
    archive = tmp_path / "archive"
    assert run("archive", "--out", str(archive)).exit_code == 0
    assert "All issues" in (archive / "2023-12" / "en.html").read_text(encoding="utf-8")
    with serving(workspace) as served:
        page = httpx.get(f"{served['url']}/subscribe", headers={"Accept-Language": "ru"}, timeout=10)
        missing = httpx.get(f"{served['url']}/no-such-page", timeout=10)
    assert page.status_code == 200 and 'lang="ru"' in page.text and "Подписаться" in page.text
    assert missing.status_code == 404 and "Link not valid" in missing.text
    assert not (workspace / "templates").exists() and not (workspace / "locales").exists()


def test_an_override_replaces_that_template_only(workspace, render_edition):
    """A workspace's email.txt.j2 is the text part; the HTML part stays the package's, byte for byte."""
    before = render_edition("2023-12")
    path = override(bare(workspace), "email.txt.j2")
    path.write_text(path.read_text(encoding="utf-8").replace("{{ _(\"Thank you for reading!\") }}",
                                                             "Our own closing line."), encoding="utf-8")
    after = render_edition("2023-12")
    assert "Our own closing line." in after.text and "Thank you for reading!" not in after.text
    assert after.html == before.html


def test_an_override_reaches_the_package_templates_that_use_it(workspace, settings):
    """The package's pages extend pages/base.html.j2: the workspace's base is the one they extend."""
    from mco_newsletter.web.pages import render_page

    path = override(bare(workspace), "pages/base.html.j2")
    path.write_text(path.read_text(encoding="utf-8").replace("<body", "<!-- our own base --><body", 1),
                    encoding="utf-8")
    assert "<!-- our own base -->" in render_page(settings, "not_found.html.j2", "en")


def test_words_override_message_by_message(workspace, render_edition):
    """locales/de/…/messages.po with one word changed: that word is the workspace's, the rest the package's
    (a fuzzy or empty entry of the workspace falls through to the package's translation)."""
    catalog = bare(workspace) / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(OVERRIDE_PO, encoding="utf-8")
    text = render_edition("2023-12", "de").text
    assert "Danke fürs Lesen, liebe Freundinnen und Freunde!" in text
    assert "Unterstützen Sie uns mit einer Spende!" in text  # the package's German
    assert "Nicht vertrauenswürdig" not in text and "Abbestellen" in text
    assert "Schlagwörter" in text


def test_a_language_only_the_workspace_has(workspace, run, render_edition):
    """A language the package has no words for is usable with the workspace's catalog; without one, check names
    the catalog the workspace needs."""
    from mco_newsletter.render.locale import catalog_path

    bare(workspace)
    text = (workspace / "newsletter.toml").read_text(encoding="utf-8")
    (workspace / "newsletter.toml").write_text(text.replace('languages = ["en", "de", "ru"]',
                                                            'languages = ["en", "de", "ru", "fr"]'), encoding="utf-8")
    missing = run("check")
    assert missing.exit_code == 1
    assert "locales/fr/LC_MESSAGES/messages.po: no catalog of template words for 'fr'" in missing.stderr
    path = workspace / "locales" / "fr" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n"Language: fr\\n"\n\nmsgid "Thank you for reading!"\n'
                    'msgstr "Merci de votre lecture !"\n', encoding="utf-8")
    checked = run("check")
    assert checked.exit_code == 0, checked.output
    assert "locales/fr/LC_MESSAGES/messages.po: note: " in checked.output
    assert "Merci de votre lecture !" in render_edition("2023-12", "fr").text
    assert catalog_path(workspace / "locales", "fr") == path


def test_check_lists_what_the_workspace_overrides(workspace, run):
    """check notes each template and catalog the workspace overrides (exit 0): a changed one, one the same as
    the package's (which only stops upgrades), one the package does not have, and the words."""
    bare(workspace)
    changed = override(workspace, "email.txt.j2")
    changed.write_text(changed.read_text(encoding="utf-8") + "\nOur own last line.\n", encoding="utf-8")
    override(workspace, "pages/base.html.j2")
    (workspace / "templates" / "pages" / "extra.html.j2").write_text("{{ name }}\n", encoding="utf-8")
    catalog = workspace / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(OVERRIDE_PO, encoding="utf-8")
    result = run("check")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if ": note: " in line]
    assert notes == [
        "locales/de/LC_MESSAGES/messages.po: note: overrides 1 of the tool's words in 'de' "
        "(1 no longer used by the templates)",
        "templates/email.txt.j2: note: overrides the tool's template",
        "templates/pages/base.html.j2: note: the same as the tool's template: delete it to get the tool's "
        "changes on upgrade",
        "templates/pages/extra.html.j2: note: not one of the tool's templates (used only where another "
        "template includes it)",
    ], result.output
    report = json.loads(run("check", "--json").output)
    assert [row["path"] for row in report["notes"]] == ["locales/de/LC_MESSAGES/messages.po",
                                                        "templates/email.txt.j2", "templates/pages/base.html.j2",
                                                        "templates/pages/extra.html.j2"]
    assert report["problems"] == []


def test_an_override_with_a_syntax_error_is_named_at_its_line(workspace, run):
    """A broken override of the base page is reported at its own file and line, not at the package's pages that
    extend it; the package's other templates are not blamed."""
    path = override(bare(workspace), "pages/base.html.j2")
    text = path.read_text(encoding="utf-8")
    line = text[:text.index("{% block content %}")].count("\n") + 1
    path.write_text(text.replace("{% block content %}", "{% block content %", 1), encoding="utf-8")
    result = run("check")
    assert result.exit_code == 1, result.output
    assert f"templates/pages/base.html.j2:{line}: template syntax error: " in result.stderr, result.stderr
    assert "defaults" not in result.stderr and "Traceback" not in result.output


def test_the_wheel_carries_the_templates_and_words(tmp_path, workspace):
    """A wheel (not an editable install) holds every template, catalog and static file (and the licence), and
    renders a workspace without templates/ from them."""
    source = tmp_path / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(tmp_path / "wheel"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("mco_newsletter-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = source / "src"
    shipped = {str(path.relative_to(package)) for folder in ("mco_newsletter/defaults", "mco_newsletter/web/static")
               for path in (package / folder).rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert {"mco_newsletter/defaults/templates/email.mjml.j2", "mco_newsletter/defaults/templates/pages/base.html.j2",
            "mco_newsletter/defaults/locales/ru/LC_MESSAGES/messages.po",
            "mco_newsletter/web/static/review.js"} <= shipped
    assert shipped <= names, sorted(shipped - names)
    assert any(name.endswith(("dist-info/LICENSE", "dist-info/licenses/LICENSE")) for name in names), sorted(names)
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                                "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    rendered = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(bare(workspace)), "render",
                               "2023-12", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                              timeout=120, env=env, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "out" / "2023-12" / "en.html").is_file()
    where = subprocess.run([sys.executable, "-c", "import mco_newsletter; print(mco_newsletter.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(site)), where.stdout


def test_a_broken_catalog_of_the_workspace_is_named_at_its_line(workspace, run, tmp_path):
    """The workspace's catalog with an unclosed quote is a problem at its line, one that is not UTF-8 a problem at
    the file; check and render say so in a sentence, without a traceback."""
    catalog = workspace / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid ""\nmsgstr ""\n\nmsgid "Keywords"\nmsgstr "Schlagwörter\n', encoding="utf-8")
    result = run("check")
    assert result.exit_code == 1, result.output
    assert "locales/de/LC_MESSAGES/messages.po:5: not a valid PO file: " in result.stderr, result.stderr
    catalog.write_bytes(b'msgid "Keywords"\nmsgstr "\xff\xfe"\n')
    result = run("check")
    assert result.exit_code == 1 and "locales/de/LC_MESSAGES/messages.po: not UTF-8" in result.stderr, result.output
    rendered = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "render",
                               "2023-12", "--lang", "en", "--out", str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr  # English needs no German words
    with pytest.raises(NewsletterError, match=r"messages\.po: not a catalog of template words that can be read"):
        render_issue(load_settings(workspace), "2023-12", "de")  # the German words, as serve and send ask them
