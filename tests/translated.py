"""Approved German and Russian editions of the sample issues, from the hand-written catalogs in tests/translations/.

Every piece of each sample issue (and every keyword) is looked up there by its source text and
written into issues/<id>/<lang>.po of the test workspace as an approved translation, so that the
edition tests lay out real German and Russian text, not English with translated template words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_ISSUES

TRANSLATIONS = REPO / "tests" / "translations"
LANGUAGES = ("de", "ru")


def approve_translations(workspace: Path, issue_ids=SAMPLE_ISSUES, languages=LANGUAGES) -> None:
    """Write an approved catalog of each language for each issue, failing loudly on a piece with no translation."""
    from babel.messages.pofile import read_po

    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.merging import new_catalog

    for language in languages:
        with (TRANSLATIONS / f"{language}.po").open("rb") as handle:
            known = {message.id: message.string for message in read_po(handle) if message.id}
        for issue_id in issue_ids:
            issue = parse_issue(workspace / "issues" / issue_id / "issue.md")
            catalog = new_catalog(issue, language)
            for piece in pieces(issue):
                assert known.get(piece.source), f"tests/translations/{language}.po has no {piece.source[:60]!r}"
                catalog.entries.append(Entry(piece.source, known[piece.source], context=piece.context,
                                             flags=["no-python-format"]))
            write_catalog(catalog_path(issue, language), catalog)


@pytest.fixture
def translated(workspace):
    """Render an edition of a sample issue in its real language: en as written, de and ru from approved catalogs."""
    from mco_newsletter.config import load_settings

    approve_translations(workspace)

    def rendered(issue_id: str, language: str, settings=None):
        return render_translated(settings or load_settings(workspace), issue_id, language)

    return rendered


def render_translated(settings, issue_id: str, language: str):
    """The edition of a sample issue in `language` (approved, not a draft), rendered."""
    from mco_newsletter.edition import load_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    edition = load_edition(settings, load_issue(settings, issue_id), language)
    assert not edition.draft
    return render(edition, settings)
