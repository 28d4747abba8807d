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


def build_edition(issue: Issue, catalog=None, language: str | None = None, *, allow_drafts: bool = False) -> Edition:
    """The edition of `issue` in `language`: the source as written, another language from its catalog.

    A translation with unapproved pieces is a draft: refused unless allow_drafts (then marked draft).
    """
    language = language or issue.language
    if language != issue.language:
        return _translated(issue, catalog, language, allow_drafts)
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


def _translated(issue: Issue, catalog, language: str, allow_drafts: bool) -> Edition:
    from .catalogs import lookup_in, state, translate_issue

    if catalog is None:
        raise NotReadyError(f"issue {issue.id}: no {language} translation yet",
                            hint=f"draft one with `mco-newsletter translate {issue.id} --to {language}`")
    review = state(issue, language)
    if not review.ready and not allow_drafts:
        raise NotReadyError(
            f"issue {issue.id}: the {language} edition is not approved ({review.approved} of {review.total} "
            f"pieces approved, {review.drafts} machine drafts, {review.changed} changed, "
            f"{review.untranslated} untranslated)",
            hint=f"review it with `mco-newsletter review {issue.id} --lang {language}`, or render an unreviewed "
                 "draft with --allow-drafts")
    title, preheader, intro, sections, closing = translate_issue(issue, lookup_in(catalog, approved_only=False))
    return Edition(issue_id=issue.id, language=language, source_language=issue.language, title=title,
                   date=issue.date, preheader=preheader, keywords=issue.keywords, closing=closing,
                   intro=intro, sections=sections, draft=not review.ready)


def load_catalog(issue: Issue, language: str):
    """The issue's catalog of a language, or None."""
    from .catalogs import catalog_path, read_catalog

    path = catalog_path(issue, language)
    return read_catalog(path) if path.is_file() else None


def ready_languages(issue: Issue, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The languages whose edition can be sent now: the source, and every fully approved translation."""
    from .catalogs import catalog_path, state

    return tuple(lang for lang in languages if lang == issue.language
                 or (catalog_path(issue, lang).is_file() and state(issue, lang).ready))


def choose_languages(issue: Issue, languages: tuple[str, ...], requested: tuple[str, ...] = (),
                     allow_drafts: bool = False) -> tuple[str, ...]:
    """The languages to render: the requested ones (each must be ready), or every ready one."""
    from .catalogs import catalog_path

    ready = ready_languages(issue, languages)
    if allow_drafts:
        ready = tuple(lang for lang in languages if lang in ready or catalog_path(issue, lang).is_file())
    for language in requested:
        if language not in languages:
            raise NotReadyError(f"{language!r} is not one of the newsletter's languages",
                                hint=f"choose from {', '.join(languages)}")
        if language not in ready:
            build_edition(issue, load_catalog(issue, language), language)  # raises, saying why
    return tuple(dict.fromkeys(requested)) if requested else ready
