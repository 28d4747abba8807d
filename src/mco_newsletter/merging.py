"""A catalog brought up to date with its issue's source, keeping every bit of human work in front of the translator.

gettext's own convention (msgmerge): an unchanged piece keeps its entry untouched; a changed piece keeps
its previous translation in msgstr, marked fuzzy, with the source it was made for as `#| msgid`; a
removed piece becomes an obsolete `#~` entry. A piece new to this issue takes an approved translation of
the same text from another issue (translation memory), or a close one (≥ 80 % similar) as a fuzzy
draft naming its origin, and only otherwise waits for a machine draft.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from .catalog_files import Catalog, Entry, read_catalog
from .catalogs import (
    CHANGED,
    MACHINE,
    MEMORY,
    Piece,
    State,
    approved,
    catalog_path,
    count_states,
    machine_note,
    piece_states,
    pieces,
)
from .errors import NewsletterError
from .issue import Issue
from .overrides import is_override

CLOSE_MEMORY = "translation memory: "
CLOSE_MATCH = CLOSE_MEMORY + "{percent}% like a piece approved in issue {issue}"
PREVIOUS_SIMILARITY = 0.6  # msgmerge's fuzzy threshold: below it, an old translation is about something else
MEMORY_SIMILARITY = 0.8


@dataclass(frozen=True)
class Remembered:
    """An approved translation of another issue."""

    source: str
    translation: str
    issue_id: str
    overrides: tuple[str, ...] = ()  # the override comments that came with its approval


@dataclass
class Memory:
    """Approved translations of a language's other issues: exact by source, and all of them for close matches."""

    exact: dict[str, Remembered] = field(default_factory=dict)
    entries: list[Remembered] = field(default_factory=list)

    def closest(self, source: str) -> tuple[float, Remembered] | None:
        best = None
        for entry in self.entries:
            score = similarity(source, entry.source, at_least=best[0] if best else MEMORY_SIMILARITY)
            if score >= MEMORY_SIMILARITY and (best is None or score > best[0]):
                best = (score, entry)
        return best


@dataclass
class Merge:
    """The new catalog of a language, and the pieces that still need a machine draft."""

    catalog: Catalog
    needs_draft: list[Piece]
    kept: int = 0
    changed: int = 0  # previous translations kept as fuzzy drafts of a changed source
    from_memory: int = 0
    close_matches: int = 0


def similarity(a: str, b: str, at_least: float = 0.0) -> float:
    """How alike two texts are (0 to 1, difflib's ratio); 0 when cheap bounds show it is below at_least."""
    if not a or not b or 2 * min(len(a), len(b)) / (len(a) + len(b)) < at_least:
        return 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < at_least or matcher.quick_ratio() < at_least:
        return 0.0
    return matcher.ratio()


def translation_memory(issues_dir: Path, language: str, exclude: str) -> Memory:
    """Approved translations of the other issues in this language (unreadable catalogs are skipped)."""
    memory = Memory()
    for path in sorted(issues_dir.glob(f"*/{language}.po")):
        issue_id = path.parent.name
        if issue_id == exclude:
            continue
        try:
            catalog = read_catalog(path)
        except NewsletterError:
            continue
        for entry in catalog:
            if entry.id and approved(entry):
                accepted = tuple(c for c in entry.comments if is_override(c))
                remembered = Remembered(entry.id, entry.string, issue_id, accepted)
                memory.exact[entry.id] = remembered
                memory.entries.append(remembered)
    return memory


def close_match(comment: str) -> tuple[int, str] | None:
    """(percent, issue id) of a close match's comment (CLOSE_MATCH), or None for any other comment."""
    match = re.fullmatch(r"translation memory: (\d+)% like a piece approved in issue (\S+)", comment.strip())
    return (int(match[1]), match[2]) if match else None


def new_catalog(issue: Issue, language: str, contact: str = "") -> Catalog:
    """An empty catalog with the header gettext tools expect."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M+0000")
    fields = [
        ("Project-Id-Version", f"mco-newsletter issue {issue.id} {issue.date}"),
        ("Report-Msgid-Bugs-To", contact),
        ("POT-Creation-Date", now),
        ("PO-Revision-Date", now),
        ("Last-Translator", "machine translation"),
        ("Language", language),
        ("Language-Team", language),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    header = Entry(
        "",
        "".join(f"{key}: {value}\n" for key, value in fields),
        comments=[
            f"{language} translation of issues/{issue.id}/issue.md.",
            "Entries marked fuzzy are drafts: review them with "
            f"`mco-newsletter review {issue.id} --lang {language}` or in a PO editor.",
            "",
        ],
    )
    return Catalog(header)


def merge(issue: Issue, language: str, old: Catalog | None, memory: Memory | None = None, contact: str = "") -> Merge:
    """Carry over what still fits the source; list what needs a new draft; make removed pieces obsolete."""
    memory = memory or Memory()
    catalog = Catalog(old.header, ending=old.ending) if old is not None else new_catalog(issue, language, contact)
    current = [entry for entry in old if entry.id] if old is not None else []
    by_key = {entry.key: entry for entry in current}
    by_source: dict[str, Entry] = {}
    for entry in current:
        if entry.string and (entry.id not in by_source or approved(entry)):
            by_source[entry.id] = entry
    for entry in old.obsolete if old is not None else []:  # removed text that comes back
        if entry.string and not entry.opaque:
            by_source.setdefault(entry.id, entry)
    result = Merge(catalog, [])
    used: set[int] = set()
    placed: dict[int, Entry] = {}
    wanted = pieces(issue)
    for number, piece in enumerate(wanted):  # first what is unchanged …
        found = by_key.get((piece.context, piece.source))
        if found is not None:
            used.add(id(found))
            placed[number] = found
    for number, piece in enumerate(wanted):  # … or only moved (a section added before it renumbers it)
        found = by_source.get(piece.source)
        if number not in placed and found is not None and id(found) not in used:
            used.add(id(found))
            found.context, found.obsolete = piece.context, False
            placed[number] = found
    result.kept = len(placed)
    for number, piece in enumerate(wanted):
        if number in placed and not placed[number].string:  # saved untranslated (an interrupted run): draft it now
            result.needs_draft.append(piece)
            result.kept -= 1
    for number, piece in enumerate(wanted):  # then what is new or changed
        if number not in placed:
            placed[number] = _changed_or_new(piece, current, used, memory, result)
    order = {piece.context: number for number, piece in enumerate(wanted)}
    result.needs_draft.sort(key=lambda piece: order[piece.context])
    location = f"issues/{issue.id}/issue.md"
    for number, piece in enumerate(wanted):
        entry = placed[number]
        reference = [f"{location}:{piece.line}"]
        if entry.references != reference:
            entry.references = reference
        catalog.entries.append(entry)
    catalog.entries += [entry for entry in old.entries if entry.opaque] if old is not None else []  # not ours: kept
    retired = [entry for entry in current if id(entry) not in used and entry.string]
    for entry in retired + (old.obsolete if old is not None else []):
        # Removed pieces stay as obsolete entries (#~), as msgmerge keeps them, until the text comes back.
        if id(entry) not in used:
            entry.obsolete = True
            catalog.entries.append(entry)
    return result


def _changed_or_new(piece: Piece, current: list[Entry], used: set[int], memory: Memory, result: Merge) -> Entry:
    entry = Entry(piece.source, "", piece.context, flags=["no-python-format"])
    if piece.source in memory.exact:
        remembered = memory.exact[piece.source]
        entry.string, entry.notes = remembered.translation, [MEMORY + remembered.issue_id]
        entry.comments = list(remembered.overrides)  # a difference accepted there is accepted here too
        result.from_memory += 1
        return entry
    previous = _previous(piece, current, used)
    if previous is not None:
        used.add(id(previous))
        machine_only = previous.fuzzy and any(note.startswith(MACHINE) for note in previous.notes)
        if not machine_only:  # human work: it stays in front of the translator, with what changed
            entry.string, entry.comments = previous.string, list(previous.comments)
            entry.previous_id, entry.fuzzy = previous.id, True
            entry.notes = [CHANGED] if approved(previous) or CHANGED in previous.notes else []
            result.changed += 1
            return entry
    close = memory.closest(piece.source)
    if close is not None:
        score, remembered = close
        entry.string, entry.previous_id, entry.fuzzy = remembered.translation, remembered.source, True
        entry.comments = [CLOSE_MATCH.format(percent=int(score * 100), issue=remembered.issue_id)]
        result.close_matches += 1
        return entry
    result.needs_draft.append(piece)
    return entry


def _previous(piece: Piece, current: list[Entry], used: set[int]) -> Entry | None:
    """The unused old entry whose source this piece most likely is an edit of (same place first)."""
    best, best_score = None, PREVIOUS_SIMILARITY
    for entry in current:
        if id(entry) in used or not entry.string:
            continue
        score = similarity(piece.source, entry.id, at_least=best_score)
        if entry.context == piece.context:
            score = max(score, 0.0) + 0.01  # the same place wins a tie
        if score >= best_score and (best is None or score > best_score):
            best, best_score = entry, score
    return best


def fill_drafts(merged: Merge, drafts: dict, engine_note: str) -> None:
    """Put machine drafts (translation.engine.Draft, by index into needs_draft) into the merged catalog, flagged
    fuzzy and labelled with the engine and the model's score (`#. machine translation: argos … · score -0.42`)."""
    for index, draft in drafts.items():
        piece = merged.needs_draft[index]
        entry = merged.catalog.get(piece.source, piece.context)
        assert entry is not None, "the merge holds an entry for each piece that needs a draft"
        entry.string = draft.text
        entry.fuzzy = True
        entry.notes = [note for note in entry.notes if note == CHANGED] + [machine_note(engine_note, draft.score)]


def current_view(issue: Issue, language: str) -> tuple[Path, Merge | None, list]:
    """The catalog of a language as every command sees it: read, merged with the current source; its piece states."""
    from .glossary import glossary_for

    path = catalog_path(issue, language)
    if not path.is_file():
        return path, None, piece_states(issue, None)
    merged = merge(issue, language, read_catalog(path))
    return path, merged, piece_states(issue, merged.catalog, glossary_for(issue, language))


def language_state(issue: Issue, language: str) -> State:
    """The review counts of one language (what `status` shows), from the same view `review` walks."""
    _, merged, states = current_view(issue, language)
    return count_states(language, states, merged is not None)
