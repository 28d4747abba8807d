"""New issues: the skeleton `new` writes in the issue's language, and the check that none of it is left.

The skeleton is the template issue.md.j2 (the package's, or the workspace's templates/issue.md.j2), whose
placeholders are template words like any other (render/theme.py), so a Russian issue starts with Russian
placeholders.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from .config import SETTINGS_FILE, Settings
from .control_characters import CONTROL_RE
from .errors import NewsletterError, Problem
from .issue import ISSUE_ID_RE, Issue, issue_path

SCAFFOLD_TEMPLATE = "issue.md.j2"


def scaffold_issue(
    settings: Settings, issue_id: str, *, language: str, title: str, date: dt.date | None = None
) -> Path:
    """Create issues/<id>/issue.md as a draft with placeholders in `language`; never overwrite."""
    from .files import write_atomically

    if not ISSUE_ID_RE.match(issue_id):
        raise NewsletterError(
            f"{issue_id!r} is not a usable issue id", hint="use letters, digits, '-', '_' or '.', e.g. 2024-06"
        )
    if language not in settings.languages:
        raise NewsletterError(
            f"language {language!r} is not one of the newsletter's languages",
            hint=f"use one of {', '.join(settings.languages)} (set in {SETTINGS_FILE})",
        )
    if not title.strip() or "\n" in title or CONTROL_RE.search(title):
        raise NewsletterError(
            "the title must be one line of text",
            hint="no line breaks or control characters: it becomes the email's subject",
        )
    path = issue_path(settings.issues_dir, issue_id)
    if path.exists():
        raise NewsletterError(f"{path.relative_to(settings.root)} already exists", hint="pick another id")
    text = _template(settings, language).render(
        title=title.strip(), lang=language, date=(date or dt.date.today()).isoformat()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8"):
        pass  # claims the name: two `new` at once cannot both write it
    try:
        write_atomically(path, text.encode("utf-8"))
    except BaseException:
        path.unlink(missing_ok=True)  # no empty issue.md left to block the next try
        raise
    return path


def scaffold_problems(settings: Settings, issue: Issue) -> list[Problem]:
    """Every place where the issue still holds a placeholder of the skeleton (in any language)."""
    placeholders = _placeholders(settings.templates_dir, settings.locales_dir, settings.languages)
    if not placeholders:
        return []
    return [
        Problem(issue.path, line, f"still the placeholder of `new`: {text!r}", "write the digest's own words here")
        for text, line in sorted(_texts(issue), key=lambda pair: pair[1])
        if text.strip() in placeholders
    ]


def _template(settings: Settings, language: str):
    from .render.templates import environment_for

    return environment_for(settings.templates_dir, settings.locales_dir, language).get_template(SCAFFOLD_TEMPLATE)


@lru_cache(maxsize=8)
def _placeholders_cached(templates_dir: Path, locales_dir: Path, languages: tuple[str, ...], stamp: tuple) -> frozenset:
    from .render.locale import translations
    from .render.templates import environment_for
    from .render.theme import template_file

    env = environment_for(templates_dir, locales_dir, "en")
    messages = [
        message
        for _, _, message in env.extract_translations(  # type: ignore[attr-defined]  # i18n's
            template_file(templates_dir, SCAFFOLD_TEMPLATE).read_text(encoding="utf-8")
        )
        if isinstance(message, str)
    ]
    found = set(messages)
    for language in languages:
        try:
            found.update(translations(locales_dir, language).gettext(message) for message in messages)
        except NewsletterError:
            continue  # a missing or broken catalog is check's problem of its own
    return frozenset(text.strip() for text in found)


def _placeholders(templates_dir: Path, locales_dir: Path, languages: tuple[str, ...]) -> frozenset:
    from .render.theme import template_file, words_version

    path = template_file(templates_dir, SCAFFOLD_TEMPLATE)
    stamp = (path, path.stat().st_mtime_ns, *(words_version(locales_dir, code) for code in languages))
    return _placeholders_cached(templates_dir, locales_dir, languages, stamp)


def _texts(issue: Issue):
    """The issue's own text with its lines: the preheader, then what inline_texts walks."""
    from .issue_walk import inline_texts

    yield issue.preheader, issue.lines.get("preheader", 1)
    yield from inline_texts(issue)
