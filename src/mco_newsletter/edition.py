"""An Edition: one issue resolved in one language, ready for the renderer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .catalog_files import Catalog
from .catalogs import State
from .config import Settings
from .errors import NotReadyError
from .issue import Issue
from .issue_blocks import Block, Section


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


def build_edition(
    issue: Issue, catalog: Catalog | None = None, language: str | None = None, *, allow_drafts: bool = False
) -> Edition:
    """The edition of `issue` in `language`: the source as written, another language from its catalog.

    A translation with unapproved pieces is a draft: refused unless allow_drafts (then marked draft).
    """
    language = language or issue.language
    if language != issue.language:
        from .catalogs import piece_states
        from .glossary import glossary_for
        from .merging import merge

        states = (
            piece_states(issue, merge(issue, language, catalog).catalog, glossary_for(issue, language))
            if catalog is not None
            else None
        )
        return _translated(issue, language, states, allow_drafts, where=f"issues/{issue.id}/{language}.po")
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


def load_edition(settings: Settings, issue: Issue, language: str, *, allow_drafts: bool = False) -> Edition:
    """The edition render, send and the archive use: the catalog read once, held to the translation rules.

    Refused (NotReadyError) when a piece is not approved (unless allow_drafts), and always when an approved
    piece breaks the translation rules without an override, or a draft that would be shown breaks the
    Markdown rules: what readers get can never carry what the source could not.
    """
    if language not in settings.languages:
        raise NotReadyError(
            f"{language!r} is not one of the newsletter's languages",
            hint=f"choose from {', '.join(settings.languages)}",
        )
    if language == issue.language:
        return build_edition(issue)
    from .merging import current_view

    path, merged, states = current_view(issue, language)
    return _translated(
        issue, language, states if merged is not None else None, allow_drafts, where=_shown(settings, path)
    )


def _shown(settings, path) -> str:
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)


def _translated(issue: Issue, language: str, states, allow_drafts: bool, where: str) -> Edition:
    from .catalogs import count_states, lookup_states, translate_issue

    review = count_states(language, states or [], states is not None)
    if not review.complete and (not allow_drafts or states is None):
        _refuse(issue, language, review)
    for state in states:
        shown = state.status == "approved" or allow_drafts
        refused = (
            state.problems
            if state.status == "approved"
            else [finding for finding in state.findings if finding.rule == "markdown"]
        )
        if shown and refused:
            from .catalog_checks import rule_problem

            line = state.entry.string_line if state.entry is not None else 0
            message, hint = rule_problem(issue.id, language, state, refused[0])
            raise NotReadyError(
                f"{where}{f':{line}' if line else ''}: {state.piece.context}: {message}",
                hint=f"{hint}; `mco-newsletter check` lists every such piece (docs/translation.md: overrides)",
            )
    title, preheader, keywords, intro, sections, closing = translate_issue(
        issue, lookup_states(states, approved_only=False)
    )
    return Edition(
        issue_id=issue.id,
        language=language,
        source_language=issue.language,
        title=title,
        date=issue.date,
        preheader=preheader,
        keywords=keywords,
        closing=closing,
        intro=intro,
        sections=sections,
        draft=not review.complete,
    )


def not_approved(review: State) -> str:
    """'3 of 13 pieces approved: 9 machine drafts, 1 changed since approval' — the counts that are not zero."""
    parts = [
        f"{count} {label if count == 1 else plural}"
        for count, label, plural in (
            (review.drafts, "draft", "drafts"),
            (review.changed, "changed since approval", "changed since approval"),
            (review.untranslated, "untranslated", "untranslated"),
        )
        if count
    ]
    return f"{review.approved} of {review.total} pieces approved" + (": " + ", ".join(parts) if parts else "")


def ready_languages(issue: Issue, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The languages whose edition can be sent now: the source, and every fully approved translation.

    An edition whose approved pieces break the translation rules counts here, so that render and send
    refuse it with the reason instead of quietly sending its readers the fallback.
    """
    from .merging import language_state

    return tuple(lang for lang in languages if lang == issue.language or language_state(issue, lang).complete)


def skipped_languages(issue: Issue, languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """The editions render leaves out, each with why: (language, 'not approved: …' or 'no translation yet')."""
    from .merging import language_state

    skipped = []
    for language in languages:
        if language == issue.language:
            continue
        review = language_state(issue, language)
        if not review.exists:
            skipped.append((language, "no translation yet"))
        elif not review.complete:
            skipped.append((language, "not approved: " + not_approved(review)))
    return skipped


def choose_languages(
    issue: Issue, languages: tuple[str, ...], requested: tuple[str, ...] = (), allow_drafts: bool = False
) -> tuple[str, ...]:
    """The languages to render: the requested ones (each must be ready), or every ready one."""
    from .catalogs import catalog_path

    ready = ready_languages(issue, languages)
    if allow_drafts:
        ready = tuple(lang for lang in languages if lang in ready or catalog_path(issue, lang).is_file())
    for language in requested:
        if language not in languages:
            raise NotReadyError(
                f"{language!r} is not one of the newsletter's languages", hint=f"choose from {', '.join(languages)}"
            )
        if language not in ready:
            from .merging import language_state

            _refuse(issue, language, language_state(issue, language))
    return tuple(dict.fromkeys(requested)) if requested else ready


def _refuse(issue: Issue, language: str, review) -> None:
    if not review.exists:
        raise NotReadyError(
            f"issue {issue.id}: no {language} translation yet",
            hint=f"draft one with `mco-newsletter translate {issue.id} --lang {language}`",
        )
    raise NotReadyError(
        f"issue {issue.id}: the {language} edition is not approved ({not_approved(review)})",
        hint=f"review it with `mco-newsletter review {issue.id} --lang {language}`, or render an unreviewed "
        "draft with --allow-drafts",
    )


def load_catalog(issue: Issue, language: str) -> Catalog | None:
    """The issue's catalog of a language as written (no merge, no rules), or None."""
    from .catalog_files import read_catalog
    from .catalogs import catalog_path

    path = catalog_path(issue, language)
    return read_catalog(path) if path.is_file() else None
