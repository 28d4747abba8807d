"""Issue ↔ PO catalogs: the pieces translators work on and the state of each, one answer for every command.

One entry per piece: msgctxt says where it stands (title, preheader, keywords/1, intro/2,
section-3/heading, section-3/4/item-2, intro/1/alt …), msgid is the source Markdown, msgstr the
translation. A draft is `fuzzy`; an approved entry is one without `fuzzy` and with a translation.
`review`, `status`, `check`, `render` and `send` all see a catalog through piece_states() of its merged
view (merging.py), so they never disagree about a piece.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .catalog_files import Catalog, Entry, po_text, write_catalog
from .glossary import Glossary
from .issue import Issue
from .issue_blocks import Block, Image, ItemList, Paragraph, Quote, Section
from .overrides import accepted_rules, requested_rules
from .translation_rules import Finding, blocking, check_translation

MACHINE = "machine translation: "
SCORE = re.compile(r" · score (-?\d+(?:\.\d+)?)$")
MEMORY = "translation memory: approved in issue "
CHANGED = "changed since approval"
APPROVED, DRAFT, CHANGED_STATE, UNTRANSLATED = "approved", "draft", "changed", "untranslated"


@dataclass(frozen=True)
class Piece:
    """One translatable piece of an issue."""

    context: str
    source: str
    line: int


@dataclass(frozen=True)
class PieceState:
    """Where one piece stands in one language: its status, translation and what the rules say of it."""

    piece: Piece
    status: str  # approved | draft | changed | untranslated
    translation: str
    entry: Entry | None = field(compare=False, repr=False)
    findings: tuple[Finding, ...] = ()
    problems: tuple[Finding, ...] = ()  # findings of the translation rules no override accepts
    overridden: tuple[str, ...] = ()
    # Glossary terms missing and not accepted: a flag (check warns, review refuses to approve without an
    # override), never a reason to hold an edition back, as a changed link or number is.
    terms: tuple[Finding, ...] = ()
    requested: tuple[str, ...] = ()  # links/emails a translator approved anyway, waiting for the manager (overrides.py)

    @property
    def machine(self) -> bool:
        return self.entry is not None and any(note.startswith(MACHINE) for note in self.entry.notes)

    @property
    def score(self) -> float | None:
        """How sure the model was of this machine draft (0 is certain, lower is less sure); None if not said."""
        for note in self.entry.notes if self.entry is not None else ():
            match = SCORE.search(note) if note.startswith(MACHINE) else None
            if match:
                return float(match.group(1))
        return None


@dataclass(frozen=True)
class State:
    """Review counts of one language of an issue."""

    language: str
    total: int
    approved: int
    drafts: int
    changed: int
    untranslated: int
    exists: bool
    broken: int = 0  # approved pieces that break the translation rules
    terms: int = 0  # approved pieces lacking a glossary term (no override)
    overridden: int = 0  # approved pieces whose differences an override accepts
    lost: int = 0  # drafts that still hold ⁇

    @property
    def complete(self) -> bool:
        return self.exists and self.approved == self.total

    @property
    def ready(self) -> bool:
        return self.complete and self.broken == 0


def catalog_path(issue: Issue, language: str) -> Path:
    return issue.folder / f"{language}.po"


def _walk(issue, visit: Callable[[str, str, int], str]):
    """Visit every piece in order; return the issue's parts with each piece replaced by visit()'s answer."""

    def blocks(where: str, items: tuple[Block, ...]) -> tuple[Block, ...]:
        out: list[Block] = []
        for number, block in enumerate(items, 1):
            at = f"{where}/{number}"
            if isinstance(block, Paragraph):
                out.append(Paragraph(visit(at, block.text, block.line), block.line))
            elif isinstance(block, Image):
                alt = visit(f"{at}/alt", block.alt, block.line)
                title = visit(f"{at}/caption", block.title, block.line) if block.title else block.title
                out.append(Image(block.src, alt, title, block.line))
            elif isinstance(block, ItemList):
                items_out = tuple(
                    Paragraph(visit(f"{at}/item-{n}", item.text, item.line), item.line)
                    for n, item in enumerate(block.items, 1)
                )
                out.append(ItemList(items_out, block.ordered, block.start, block.line))
            elif isinstance(block, Quote):
                out.append(Quote(blocks(f"{at}/quote", block.blocks), block.line))
        return tuple(out)

    lines = issue.lines
    title = visit("title", issue.title, lines.get("title", 1))
    preheader = visit("preheader", issue.preheader, lines.get("preheader", 1))
    # One piece per keyword, so that translation memory carries each from month to month.
    keywords = tuple(
        visit(f"keywords/{n}", keyword, lines.get("keywords", 1)) for n, keyword in enumerate(issue.keywords, 1)
    )
    intro = blocks("intro", issue.intro)
    sections = tuple(
        Section(visit(f"section-{n}/heading", s.heading, s.line), blocks(f"section-{n}", s.blocks), s.line)
        for n, s in enumerate(issue.sections, 1)
    )
    closing = visit("closing", issue.closing, lines.get("closing", 1)) if issue.closing else None
    return title, preheader, keywords, intro, sections, closing


def pieces(issue: Issue) -> list[Piece]:
    """Every translatable piece of the issue, in reading order."""
    found: list[Piece] = []

    def record(context: str, source: str, line: int) -> str:
        found.append(Piece(context, source, line))
        return source

    _walk(issue, record)
    return found


def translate_issue(
    issue: Issue, lookup: Callable[[str, str], str | None]
) -> tuple[str, str, tuple[str, ...], tuple[Block, ...], tuple[Section, ...], str | None]:
    """The issue's parts in another language: lookup(context, source) gives a translation or None (source kept)."""
    return _walk(issue, lambda context, source, line: lookup(context, source) or source)


def approved(entry: Entry | None) -> bool:
    return entry is not None and bool(entry.string) and not entry.fuzzy


def piece_states(issue: Issue, catalog: Catalog | None, glossary: Glossary | None = None) -> list[PieceState]:
    """Every piece of the issue with its state in the catalog (best given merged: see merging.current_view);
    with a glossary (glossary.py), a translation lacking a required term is a finding too."""
    entries = {entry.key: entry for entry in catalog} if catalog is not None else {}
    states = []
    for piece in pieces(issue):
        entry = entries.get((piece.context, piece.source))
        translation = entry.string if entry is not None else ""
        if entry is None or not translation:
            status = UNTRANSLATED
        elif not entry.fuzzy:
            status = APPROVED
        elif CHANGED in entry.notes:
            status = CHANGED_STATE
        else:
            status = DRAFT
        rules = check_translation(piece.context, piece.source, translation)
        missing = glossary.findings(piece.source, translation) if glossary else []
        comments = entry.comments if entry is not None else []
        accepted = accepted_rules(comments, piece.source, translation)
        problems, terms = tuple(blocking(rules, accepted)), tuple(blocking(missing, accepted))
        overridden = tuple(sorted({f.rule for f in rules + missing if f not in problems + terms}))
        requested = tuple(sorted(requested_rules(comments, piece.source, translation) & {f.rule for f in problems}))
        states.append(
            PieceState(
                piece, status, translation, entry, tuple(rules + missing), problems, overridden, terms, requested
            )
        )
    return states


def machine_note(engine: str, score: float | None) -> str:
    """The extracted comment of a machine draft: which engine, and the model's score when it gave one."""
    return MACHINE + engine + ("" if score is None else f" · score {score:.2f}".replace("-0.00", "0.00"))


def count_states(language: str, states: list[PieceState], exists: bool) -> State:
    """The counts status shows, from the same states review walks."""
    by_status = {status: 0 for status in (APPROVED, DRAFT, CHANGED_STATE, UNTRANSLATED)}
    for state in states:
        by_status[state.status] += 1
    approved_states = [state for state in states if state.status == APPROVED]
    return State(
        language,
        len(states),
        by_status[APPROVED],
        by_status[DRAFT],
        by_status[CHANGED_STATE],
        by_status[UNTRANSLATED],
        exists,
        broken=sum(1 for state in approved_states if state.problems),
        terms=sum(1 for state in approved_states if state.terms),
        overridden=sum(1 for state in approved_states if state.overridden and not state.problems),
        lost=sum(
            1
            for state in states
            if state.status != APPROVED and "⁇" in state.translation and "⁇" not in state.piece.source
        ),
    )


def lookup_states(states: list[PieceState], *, approved_only: bool) -> Callable[[str, str], str | None]:
    """A lookup of translations by (context, source) over piece states."""
    found = {
        (s.piece.context, s.piece.source): s.translation
        for s in states
        if s.translation and (s.status == APPROVED or not approved_only)
    }
    return lambda context, source: found.get((context, source))


def now_stamp() -> str:
    """The time as PO headers write it: 2024-06-01 12:30+0000."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M+0000")


def save_catalog(path: Path, catalog: Catalog, *, translator: str | None = None) -> bool:
    """Write the catalog if anything in it changed, stamping PO-Revision-Date (and Last-Translator); True if written.

    An unchanged catalog is not rewritten: its file, and its revision date, stay as they were.
    """
    if path.is_file():
        before = path.read_bytes().decode("utf-8", "replace")
        if _without_revision(before) == _without_revision(po_text(catalog)):
            return False
    catalog.set_header("PO-Revision-Date", now_stamp())
    if translator:
        catalog.set_header("Last-Translator", translator)
    write_catalog(path, catalog)
    return True


def _without_revision(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith('"PO-Revision-Date:'))
