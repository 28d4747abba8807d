"""An Edition: one issue resolved in one language, ready for the renderer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import NotReadyError
from .issue import Block, Issue, Section


@dataclass(frozen=True)
class Edition:
    """Everything the renderer needs of an issue in one language, and nothing of how it was made."""

    issue_id: str
    language: str
    source_language: str
    title: str
    date: dt.date
    preheader: str
    keywords: tuple[str, ...]
    closing: str | None
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    draft: bool = False


def build_edition(issue: Issue, catalog=None, language: str | None = None) -> Edition:
    """The edition of `issue` in `language`; the source language needs no catalog."""
    language = language or issue.language
    if catalog is None and language != issue.language:
        raise NotReadyError(
            f"issue {issue.id}: no {language} translation yet",
            hint=f"the issue is written in {issue.language}; only that edition can be rendered until it is translated",
        )
    return Edition(
        issue_id=issue.id,
        language=language,
        source_language=issue.language,
        title=issue.title,
        date=issue.date,
        preheader=issue.preheader,
        keywords=issue.keywords,
        closing=issue.closing,
        intro=issue.intro,
        sections=issue.sections,
    )


def ready_languages(issue: Issue, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The languages whose edition can be rendered now, source language first."""
    return tuple(lang for lang in languages if lang == issue.language)


def choose_languages(issue: Issue, languages: tuple[str, ...], requested: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The languages to render: the requested ones (each must be ready), or every ready one."""
    ready = ready_languages(issue, languages)
    for language in requested:
        if language not in languages:
            raise NotReadyError(f"{language!r} is not one of the newsletter's languages",
                                hint=f"choose from {', '.join(languages)}")
        if language not in ready:
            raise NotReadyError(
                f"issue {issue.id}: the {language} edition is not ready: no translation exists yet",
                hint=f"ready now: {', '.join(ready)} (the issue is written in {issue.language})",
            )
    return tuple(dict.fromkeys(requested)) if requested else ready
