"""The organisation's glossary: terms that must be translated one way, held by machine drafts and by review.

`glossary/<from>-<to>.csv` in the workspace, in the CSV shape Weblate imports and exports: a header
row with the columns `source`, `target` and (optionally) `note`, one term per row. A term is found in a
source in any of its forms (word_forms.py: Движения сознательных отказчиков is the organisation's name in the
genitive), whole words in any case; a translation keeps it when the target is there in any of its forms, its
words in order (службу, Kriegsdienstverweigerern count; Kriegsdienstverweigerung, another word, does not).
A translation without it breaks the rule `glossary`, which an override accepts (`# override: glossary`), as it
does a number written out in words.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path

from .config import Settings
from .errors import NewsletterError, Problem
from .issue import Issue
from .translation_rules import Finding
from .word_forms import WORD, Phrase, find, has, phrase, words
from .wording import N_

FOLDER = "glossary"
NAME = re.compile(r"^([a-z]{2,3}(?:_[A-Za-z]+)?)-([a-z]{2,3}(?:_[A-Za-z]+)?)\.csv$")
WITH_NOTE = N_("glossary: “%(source)s” is translated as “%(target)s” (%(note)s); the translation does not have it")
WITHOUT_NOTE = N_("glossary: “%(source)s” is translated as “%(target)s”; the translation does not have it")
HINT = "the file has a header row `source,target,note` and one term per row (the CSV Weblate imports)"


class GlossaryError(NewsletterError):
    """A glossary file that cannot be read as terms."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}", hint=HINT)
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class Term:
    """One required translation: `source` in the source language is always `target` in the other."""

    source: str
    target: str
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class Glossary:
    """The terms of one language pair (none when the workspace has no file for it)."""

    terms: tuple[Term, ...] = ()
    path: Path | None = None
    source_language: str = ""
    target_language: str = ""

    def __bool__(self) -> bool:
        return bool(self.terms)

    @cached_property
    def _phrases(self) -> list[tuple[Phrase, Term]]:
        # The longest term wins where two begin at the same word (the organisation's name before a word of it).
        phrases = [(phrase(term.source, self.source_language), term) for term in self.terms]
        return sorted(phrases, key=lambda pair: (len(pair[0].words), len(pair[1].source)), reverse=True)

    def matches(self, text: str) -> list[tuple[int, int, Term]]:
        """Where the text uses a term, in any of its forms: (start, end, term), in order, none overlapping."""
        if not self.terms or not WORD.search(text):
            return []
        found = words(text, self.source_language)
        spans, at = [], 0
        while at < len(found):
            for wanted, term in self._phrases:
                end = find(wanted, text, found, at)
                if end is not None:
                    spans.append((found[at].start, end, term))
                    at += len(wanted.words)
                    break
            else:
                at += 1
        return spans

    def in_source(self, text: str) -> list[Term]:
        """The terms the text uses, each once, in the order they first appear."""
        return list(dict.fromkeys(term for _, _, term in self.matches(text)))

    def findings(self, source: str, translation: str) -> list[Finding]:
        """A finding for every term of the source whose required target the translation lacks."""
        if not translation or not self.terms:
            return []
        return [
            Finding.of(
                "glossary",
                WITH_NOTE if term.note else WITHOUT_NOTE,
                source=term.source,
                target=term.target,
                note=term.note,
            )
            for term in self.in_source(source)
            if not contains(translation, term.target, self.target_language)
        ]

    def replaced(self, text: str) -> list[tuple[bool, str]]:
        """The text as (as is?, part) pairs: False for the runs between terms, True for a term's target."""
        parts: list[tuple[bool, str]] = []
        position = 0
        for start, end, term in self.matches(text):
            if start > position:
                parts.append((False, text[position:start]))
            parts.append((True, term.target))
            position = end
        if position < len(text) or not parts:
            parts.append((False, text[position:]))
        return parts


def contains(translation: str, target: str, language: str) -> bool:
    """True when the translation has the target in the language: as written, or in another form of its words
    (служба in службу, Kriegsdienstverweigerer in Kriegsdienstverweigerern), the words in the target's order."""
    as_written = r"\s+".join(map(re.escape, target.split()))
    if re.search(rf"(?<!\w){as_written}(?!\w)", translation, re.IGNORECASE):
        return True  # no dictionary needed
    return has(phrase(target, language), translation, language)


def glossary_path(root: Path, from_code: str, to_code: str) -> Path:
    return root / FOLDER / f"{from_code}-{to_code}.csv"


def load_glossary(root: Path, from_code: str, to_code: str) -> Glossary:
    """The glossary of a language pair (empty when there is none); GlossaryError when its file is broken."""
    path = glossary_path(root, from_code, to_code)
    try:
        stat = path.stat()
    except OSError:
        return Glossary()
    return _read_cached(path, stat.st_mtime_ns, stat.st_size, from_code, to_code)


def glossary_for(issue: Issue, language: str) -> Glossary:
    """The glossary from the issue's language into `language`, from the issue's workspace."""
    # issues/<id>/issue.md: the workspace is two folders up.
    return load_glossary(issue.folder.parent.parent, issue.language, language)


@lru_cache(maxsize=16)
def _read_cached(path: Path, mtime_ns: int, size: int, from_code: str, to_code: str) -> Glossary:
    return replace(read_glossary(path), source_language=from_code, target_language=to_code)


def read_glossary(path: Path) -> Glossary:
    """Every term of a glossary file, or GlossaryError naming the line."""
    if not path.is_file():
        raise GlossaryError(path, 0, "not a regular file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GlossaryError(path, 0, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    if "source" not in fields or "target" not in fields:
        raise GlossaryError(path, 1, "the header row must name the columns source and target")
    reader.fieldnames = fields
    terms: list[Term] = []
    seen: dict[str, Term] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise GlossaryError(path, line, "more values than the header has columns")
            source, target = (row.get("source") or "").strip(), (row.get("target") or "").strip()
            if not source and not target:
                continue
            if not source or not target:
                raise GlossaryError(path, line, "a term needs both a source and a target")
            term = Term(source, target, (row.get("note") or "").strip(), line)
            earlier = seen.get(source.casefold())
            if earlier is not None:
                if earlier.target != target:
                    raise GlossaryError(
                        path, line, f"“{source}” is already translated as “{earlier.target}” at line {earlier.line}"
                    )
                continue
            seen[source.casefold()] = term
            terms.append(term)
    except csv.Error as exc:
        raise GlossaryError(path, reader.line_num, f"not valid CSV: {exc}") from None
    return Glossary(tuple(terms), path)


def glossary_problems(settings: Settings) -> list[Problem]:
    """`check`: every file in glossary/, named for two of the newsletter's languages and readable as terms."""
    folder = settings.root / FOLDER
    if not folder.is_dir():
        return []
    problems = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() != ".csv":
            continue
        match = NAME.match(path.name)
        if not match or not set(match.groups()) <= set(settings.languages) or match.group(1) == match.group(2):
            problems.append(
                Problem(
                    path,
                    0,
                    "not the glossary of two of the newsletter's languages",
                    f"name it <from>-<to>.csv, e.g. {FOLDER}/en-de.csv (languages: {', '.join(settings.languages)})",
                )
            )
            continue
        try:
            read_glossary(path)
        except GlossaryError as exc:
            problems.append(Problem(path, exc.line, exc.reason, HINT))
    return problems
