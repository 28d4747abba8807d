"""`translate`: merge each language's catalog with the current source, draft what is new, save.

A changed piece keeps its human translation (fuzzy, with the previous source): it costs no model call.
If the engine fails on a piece, everything drafted before it is saved and the error names the piece;
running translate again continues from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..catalog_files import read_catalog
from ..catalogs import catalog_path, save_catalog
from ..config import Settings
from ..errors import NewsletterError
from ..glossary import glossary_for
from ..issue import Issue
from ..merging import fill_drafts, merge, translation_memory
from .engine import Engine, TranslationFailed, TranslationInterrupted


@dataclass(frozen=True)
class DraftReport:
    """What translate did for one language."""

    language: str
    path: Path
    kept: int
    changed: int
    from_memory: int
    close_matches: int
    drafted: int
    written: bool


def draft_catalogs(
    settings: Settings,
    issue: Issue,
    targets: tuple[str, ...],
    engine: Engine,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[DraftReport]:
    """Bring every target language's catalog up to date; progress(language, done, total) after each group."""
    for language in targets:
        if language not in settings.languages:
            raise NewsletterError(
                f"{language!r} is not one of the newsletter's languages",
                hint=f"choose from {', '.join(settings.languages)}",
                exit_code=2,
            )
        if language == issue.language:
            raise NewsletterError(
                f"issue {issue.id} is written in {language}: there is nothing to translate into it", exit_code=2
            )
    merged = {}
    for language in targets:
        path = catalog_path(issue, language)
        old = read_catalog(path) if path.is_file() else None
        merged[language] = merge(
            issue,
            language,
            old,
            translation_memory(settings.issues_dir, language, issue.id),
            contact=settings.sender.reply_to,
        )
    reports = []
    for language, result in merged.items():
        path = catalog_path(issue, language)
        if result.needs_draft:
            note = f"{engine.name} {engine.describe(issue.language, language)}"
            report = None
            if progress is not None:
                progress(language, 0, len(result.needs_draft))
                report = lambda done, total, language=language: progress(language, done, total)  # noqa: E731
            try:
                drafts = engine.drafts(
                    [piece.source for piece in result.needs_draft],
                    issue.language,
                    language,
                    progress=report,
                    glossary=glossary_for(issue, language),
                )
            except TranslationFailed as failed:
                fill_drafts(result, failed.done, note)
                save_catalog(path, result.catalog)
                raise _failure(issue, language, path, result, failed) from None
            except TranslationInterrupted as stopped:  # Ctrl-C: what was drafted is kept
                fill_drafts(result, stopped.done, note)
                save_catalog(path, result.catalog)
                raise
            fill_drafts(result, dict(enumerate(drafts)), note)
        written = save_catalog(path, result.catalog)
        reports.append(
            DraftReport(
                language,
                path,
                result.kept,
                result.changed,
                result.from_memory,
                result.close_matches,
                len(result.needs_draft),
                written,
            )
        )
    return reports


def _failure(issue, language: str, path: Path, result, failed: TranslationFailed) -> NewsletterError:
    piece = result.needs_draft[failed.index]
    done = len(failed.done)
    return NewsletterError(
        f"issues/{issue.id}/issue.md:{piece.line}: the translation engine failed on {piece.context} "
        f"({issue.language}→{language}): {failed.cause}",
        hint=f"the {done} {'draft' if done == 1 else 'drafts'} made before it {'is' if done == 1 else 'are'} "
        f"saved in {path.name}; running translate again continues from there (check [translation] in "
        "newsletter.toml, or shorten that piece)",
    )
