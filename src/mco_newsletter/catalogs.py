"""Issue ↔ PO catalogs: the pieces translators work on, their review state, and the merge after a source edit.

One entry per piece: msgctxt says where it stands (title, preheader, intro/2, section-3/heading,
section-3/4/item-2, intro/1/alt …), msgid is the source Markdown, msgstr the translation. A machine
draft is `fuzzy`; an approved entry is one without `fuzzy` and with a translation.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import NewsletterError
from .issue import Image, ItemList, Paragraph, Quote, Section

MACHINE = "machine translation: "
MEMORY = "translation memory: approved in issue "
CHANGED = "changed since approval"
WIDTH = 76


@dataclass(frozen=True)
class Piece:
    """One translatable piece of an issue."""

    context: str
    source: str
    line: int


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

    @property
    def ready(self) -> bool:
        return self.exists and self.approved == self.total


def catalog_path(issue, language: str) -> Path:
    return issue.folder / f"{language}.po"


def _walk(issue, visit: Callable[[str, str, int], str]):
    """Visit every piece in order; return the issue's parts with each piece replaced by visit()'s answer."""

    def blocks(where: str, items) -> tuple:
        out = []
        for number, block in enumerate(items, 1):
            at = f"{where}/{number}"
            if isinstance(block, Paragraph):
                out.append(Paragraph(visit(at, block.text, block.line), block.line))
            elif isinstance(block, Image):
                alt = visit(f"{at}/alt", block.alt, block.line)
                title = visit(f"{at}/caption", block.title, block.line) if block.title else block.title
                out.append(Image(block.src, alt, title, block.line))
            elif isinstance(block, ItemList):
                items_out = tuple(Paragraph(visit(f"{at}/item-{n}", item.text, item.line), item.line)
                                  for n, item in enumerate(block.items, 1))
                out.append(ItemList(items_out, block.ordered, block.start, block.line))
            elif isinstance(block, Quote):
                out.append(Quote(blocks(f"{at}/quote", block.blocks), block.line))
        return tuple(out)

    lines = issue.lines
    title = visit("title", issue.title, lines.get("title", 1))
    preheader = visit("preheader", issue.preheader, lines.get("preheader", 1))
    intro = blocks("intro", issue.intro)
    sections = tuple(Section(visit(f"section-{n}/heading", s.heading, s.line), blocks(f"section-{n}", s.blocks), s.line)
                     for n, s in enumerate(issue.sections, 1))
    closing = visit("closing", issue.closing, lines.get("closing", 1)) if issue.closing else None
    return title, preheader, intro, sections, closing


def pieces(issue) -> list[Piece]:
    """Every translatable piece of the issue, in reading order."""
    found: list[Piece] = []

    def record(context: str, source: str, line: int) -> str:
        found.append(Piece(context, source, line))
        return source

    _walk(issue, record)
    return found


def translate_issue(issue, lookup: Callable[[str, str], str | None]):
    """The issue's parts in another language: lookup(context, source) gives a translation or None (source kept)."""
    return _walk(issue, lambda context, source, line: lookup(context, source) or source)


def read_catalog(path: Path):
    """A PO file as a babel Catalog, or an error naming file and line."""
    from babel.messages.pofile import PoFileError, read_po

    try:
        data = path.read_bytes()
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
        # babel does not read "#| msgid" (the previous source): it keeps those lines as translator
        # comments. Drop them there and take the previous source from the text.
        for message in catalog:
            message.user_comments = [c for c in message.user_comments if not c.startswith("|")]
        for (context, source), previous in _previous_sources(data.decode("utf-8")).items():
            message = catalog.get(source, context)
            if message is not None:
                message.previous_id = [previous]
        return catalog
    except PoFileError as exc:
        reason = str(exc.args[0] if exc.args else exc).rsplit(" on ", 1)[0]
        where = f"{path}:{exc.lineno + 1}" if isinstance(getattr(exc, "lineno", None), int) else str(path)
        raise NewsletterError(f"{where}: not a valid PO file: {reason}",
                              hint="fix it in a PO editor, or delete it and run translate again") from None
    except UnicodeDecodeError as exc:
        raise NewsletterError(f"{path}: not UTF-8 ({exc.reason})") from None


def po_bytes(catalog) -> bytes:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, include_previous=False, sort_output=False)
    return _with_previous(buffer.getvalue().decode("utf-8"), catalog).encode("utf-8")


def _entry(block: list[str]) -> tuple[str | None, str | None]:
    """(msgctxt, msgid) of one entry's lines."""
    from babel.messages.pofile import denormalize

    found: dict[str, list[str]] = {}
    key = None
    for line in block:
        if line.startswith(("msgctxt ", "msgid ", "msgstr ")):
            key, _, rest = line.partition(" ")
            found[key] = [rest]
        elif line.startswith('"') and key:
            found[key].append(line)
        elif not line.startswith('"'):
            key = None
    context = denormalize("\n".join(found["msgctxt"])) if "msgctxt" in found else None
    source = denormalize("\n".join(found["msgid"])) if "msgid" in found else None
    return context, source


def _previous_sources(text: str) -> dict[tuple[str | None, str], str]:
    from babel.messages.pofile import denormalize

    previous = {}
    for block in text.split("\n\n"):
        lines = block.splitlines()
        kept = [line[3:] for line in lines if line.startswith("#| ")]
        if kept and kept[0].startswith("msgid "):
            kept[0] = kept[0][len("msgid "):]
            context, source = _entry(lines)
            if source:
                previous[(context, source)] = denormalize("\n".join(kept))
    return previous


def _with_previous(text: str, catalog) -> str:
    """Write each changed entry's previous source as `#| msgid` lines, formatted like msgid itself."""
    from babel.messages.pofile import normalize

    blocks = text.split("\n\n")
    for number, block in enumerate(blocks):
        lines = block.splitlines()
        context, source = _entry(lines)
        message = catalog.get(source, context) if source else None
        if message is None or not message.previous_id:
            continue
        formatted = normalize(message.previous_id[0], width=WIDTH).splitlines()
        comment = ["#| msgid " + formatted[0]] + ["#| " + line for line in formatted[1:]]
        at = next(i for i, line in enumerate(lines) if line.startswith(("msgctxt ", "msgid ")))
        blocks[number] = "\n".join(lines[:at] + comment + lines[at:])
    return "\n\n".join(blocks)


def write_catalog(path: Path, catalog) -> None:
    """Write atomically: a crash leaves the old file or the new one."""
    from .files import write_atomically

    write_atomically(path, po_bytes(catalog))


def approved(message) -> bool:
    return bool(message.string) and not message.fuzzy


def lookup_in(catalog, *, approved_only: bool) -> Callable[[str, str], str | None]:
    """A lookup of translations in a catalog by (context, source)."""
    entries = {(m.context, m.id): m for m in catalog if m.id} if catalog is not None else {}

    def lookup(context: str, source: str) -> str | None:
        message = entries.get((context, source))
        if message is None or not message.string or (approved_only and message.fuzzy):
            return None
        return message.string

    return lookup


def state(issue, language: str) -> State:
    """Review counts of one language: approved, machine drafts, changed since approval, untranslated."""
    path = catalog_path(issue, language)
    catalog = read_catalog(path) if path.is_file() else None
    entries = {(m.context, m.id): m for m in catalog if m.id} if catalog else {}
    approved_count = drafts = changed = untranslated = 0
    wanted = pieces(issue)
    for piece in wanted:
        message = entries.get((piece.context, piece.source))
        if message is None or not message.string:
            untranslated += 1
        elif not message.fuzzy:
            approved_count += 1
        elif CHANGED in message.auto_comments:
            changed += 1
        else:
            drafts += 1
    return State(language, len(wanted), approved_count, drafts, changed, untranslated, catalog is not None)


def translation_memory(issues_dir: Path, language: str, exclude: str) -> dict[str, tuple[str, str]]:
    """Approved translations of other issues in this language: source → (translation, issue id)."""
    memory: dict[str, tuple[str, str]] = {}
    for path in sorted(issues_dir.glob(f"*/{language}.po")):
        issue_id = path.parent.name
        if issue_id == exclude:
            continue
        try:
            catalog = read_catalog(path)
        except NewsletterError:
            continue
        for message in catalog:
            if message.id and approved(message):
                memory[message.id] = (message.string, issue_id)
    return memory


@dataclass
class Merge:
    """The new catalog of a language, and the pieces that still need a machine draft."""

    catalog: object
    needs_draft: list[Piece]
    kept: int = 0
    from_memory: int = 0


def merge(issue, language: str, old, memory: dict[str, tuple[str, str]], contact: str = "") -> Merge:
    """Carry over what still fits the source; list what needs a new draft; make removed pieces obsolete."""
    from babel.messages.catalog import Catalog

    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    catalog = Catalog(
        locale=language, project=f"mco-newsletter issue {issue.id}", version=str(issue.date),
        msgid_bugs_address=contact, creation_date=old.creation_date if old is not None else now, revision_date=now,
        last_translator=(old.last_translator if old is not None else "machine translation"),
        language_team=f"{language}", fuzzy=False,
        header_comment=f"# {language} translation of issues/{issue.id}/issue.md.\n"
                       "# Entries marked fuzzy are machine drafts: review them with "
                       f"`mco-newsletter review {issue.id} --lang {language}` or in a PO editor.\n#")
    old_entries = [m for m in old if m.id] if old is not None else []
    by_key = {(m.context, m.id): m for m in old_entries}
    by_context = {m.context: m for m in old_entries}
    by_source: dict[str, object] = {}
    for message in old_entries:
        if message.string and (message.id not in by_source or approved(message)):
            by_source[message.id] = message
    result = Merge(catalog, [])
    used: set = set()
    location = f"issues/{issue.id}/issue.md"
    for piece in pieces(issue):
        entry = catalog.add(piece.source, "", locations=[(location, piece.line)], context=piece.context)
        found = by_key.get((piece.context, piece.source)) or by_source.get(piece.source)
        if found is not None:
            used.add((found.context, found.id))
            entry.string, entry.flags = found.string, set(found.flags)
            entry.auto_comments, entry.user_comments = list(found.auto_comments), list(found.user_comments)
            entry.previous_id = list(found.previous_id) if found.context == piece.context else []
            result.kept += 1
        elif piece.source in memory:
            entry.string = memory[piece.source][0]
            entry.auto_comments = [MEMORY + memory[piece.source][1]]
            result.from_memory += 1
        else:
            before = by_context.get(piece.context)
            if before is not None:
                entry.previous_id = [before.id]
                if approved(before):
                    entry.auto_comments = [CHANGED]
            result.needs_draft.append(piece)
        _plain_text(entry)
    retired = [m for m in old_entries if (m.context, m.id) not in used and m.string]
    retired += list(old.obsolete.values()) if old is not None else []
    for message in retired:
        # Removed pieces stay as obsolete entries (#~), as msgmerge keeps them, until the text comes back.
        if catalog.get(message.id, message.context) is None:
            message.obsolete = True
            catalog.obsolete[(message.id, message.context) if message.context else message.id] = message
    return result


def _plain_text(message) -> None:
    # Issue text is prose: a "%" in it is not a format directive, whatever babel guesses.
    message.flags.discard("python-format")
    message.flags.add("no-python-format")


def fill_drafts(merged: Merge, drafts: list[str], engine_note: str) -> None:
    """Put machine drafts into the merged catalog, flagged fuzzy and labelled with the engine."""
    for piece, draft in zip(merged.needs_draft, drafts):
        message = merged.catalog.get(piece.source, piece.context)
        message.string = draft
        message.flags = {"fuzzy", "no-python-format"}
        message.auto_comments = [c for c in message.auto_comments if c == CHANGED] + [MACHINE + engine_note]
