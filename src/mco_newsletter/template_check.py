"""`check` of the templates a workspace uses (its own over the package's): every one compiled, and rendered with a
sample edition in every language.

The templates run under StrictUndefined, so a misspelt variable fails the render; finding it here, with
its file and line, beats finding it as an error in the middle of a send.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .config import Settings
from .edition import Edition
from .errors import Problem, template_location

SAMPLE_LINK = "[a link](https://example.org/page)"


def template_problems(settings: Settings) -> list[Problem]:
    """Syntax errors of every template, then the errors of rendering them, each once, in file order."""
    from jinja2 import TemplateSyntaxError

    from .render.templates import environment_for
    from .render.theme import template_file

    env = environment_for(settings.templates_dir, settings.locales_dir, settings.source_language)
    problems: dict[tuple[Path, int, str], Problem] = {}
    broken = False
    for name in env.list_templates(filter_func=lambda name: name.endswith(".j2")):
        try:
            env.get_template(name)
        except TemplateSyntaxError as exc:
            broken = True
            path = Path(exc.filename) if exc.filename else template_file(settings.templates_dir, name)
            _add(
                problems,
                Problem(
                    path,
                    exc.lineno or 0,
                    f"template syntax error: {exc.message}",
                    "see https://jinja.palletsprojects.com/templates/ for the syntax",
                ),
            )
    if broken:
        return list(problems.values())  # rendering would only repeat the syntax errors
    for language in settings.languages:
        for render in _renders(settings, language):
            try:
                render()
            except Exception as exc:  # noqa: BLE001 — any error a template causes is reported, not raised
                _add(problems, _render_problem(settings, exc))
    return sorted(problems.values(), key=lambda problem: (str(problem.path), problem.line))


def sample_edition(settings: Settings, language: str, *, draft: bool = False) -> Edition:
    """An edition using every kind of block, a closing and keywords: what the templates must be able to show."""
    from .issue_blocks import Image, ItemList, Paragraph, Quote, Section

    def text(words: str) -> Paragraph:
        return Paragraph(f"{words} with *emphasis* and {SAMPLE_LINK}.", 1)

    blocks = (
        text("A paragraph"),
        Image("https://example.org/picture.png", "A picture", "A caption", 1),
        ItemList((text("An item"), text("Another item")), False, 1, 1),
        ItemList((text("A first step"),), True, 3, 1),
        Quote((text("A quotation"), ItemList((text("A quoted item"),), False, 1, 1)), 1),
    )
    return Edition(
        issue_id="sample",
        language=language,
        source_language=settings.source_language,
        title="A sample title",
        date=dt.date(2024, 1, 31),
        preheader="A sample preheader.",
        keywords=("Conscription", "Russia"),
        closing=f"Closing words {SAMPLE_LINK}.",
        intro=blocks,
        sections=(Section("A section heading", blocks, 1),),
        draft=draft,
    )


def _renders(settings: Settings, language: str):
    """The ways the code renders templates: an email (draft or not), then the web's pages and emails."""
    from .render.edition_email import render
    from .web.samples import sample_renders

    yield lambda: render(sample_edition(settings, language), settings)
    yield lambda: render(sample_edition(settings, language, draft=True), settings)
    yield from sample_renders(settings, language, sample_edition(settings, language))


def _render_problem(settings: Settings, exc: Exception) -> Problem:
    name, line = template_location(exc, settings.templates_dir)
    message = getattr(exc, "message", None) or str(exc)
    path = settings.templates_dir / name if name else settings.templates_dir
    return Problem(
        path,
        line or 0,
        f"template error: {message}",
        "every variable a template uses must be one the code passes (see the other templates)",
    )


def _add(problems: dict, problem: Problem) -> None:
    problems.setdefault((problem.path, problem.line, problem.message), problem)
