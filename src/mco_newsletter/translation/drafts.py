"""`translate`: merge each language's catalog with the current source, draft what is new or changed, save."""

from __future__ import annotations

from dataclasses import dataclass

from ..catalogs import catalog_path, fill_drafts, merge, po_bytes, read_catalog, translation_memory, write_catalog
from ..errors import NewsletterError
from .engine import Engine


@dataclass(frozen=True)
class DraftReport:
    """What translate did for one language."""

    language: str
    path: object
    kept: int
    from_memory: int
    drafted: int
    written: bool


def draft_catalogs(settings, issue, targets: tuple[str, ...], engine: Engine) -> list[DraftReport]:
    """Bring every target language's catalog up to date; one batched model call per language pair."""
    for language in targets:
        if language not in settings.languages:
            raise NewsletterError(f"{language!r} is not one of the newsletter's languages",
                                  hint=f"choose from {', '.join(settings.languages)}")
        if language == issue.language:
            raise NewsletterError(f"issue {issue.id} is written in {language}: there is nothing to translate into it")
    merged = {}
    for language in targets:
        path = catalog_path(issue, language)
        old = read_catalog(path) if path.is_file() else None
        merged[language] = merge(issue, language, old, translation_memory(settings.issues_dir, language, issue.id),
                                 contact=settings.sender.reply_to)
    reports = []
    for language, result in merged.items():
        if result.needs_draft:
            drafts = engine.translate([piece.source for piece in result.needs_draft], issue.language, language)
            fill_drafts(result, drafts, f"{engine.name} {engine.describe(issue.language, language)}")
        path = catalog_path(issue, language)
        new = po_bytes(result.catalog)
        # An unchanged catalog is not rewritten: its file, and its revision date, stay as they were.
        changed = not path.is_file() or _without_revision(path.read_bytes()) != _without_revision(new)
        if changed:
            write_catalog(path, result.catalog)
        reports.append(DraftReport(language, path, result.kept, result.from_memory, len(result.needs_draft), changed))
    return reports


def _without_revision(data: bytes) -> bytes:
    return b"\n".join(line for line in data.split(b"\n") if not line.startswith(b'"PO-Revision-Date:'))
