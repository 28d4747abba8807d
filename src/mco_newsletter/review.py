"""Reviewing one language of an issue: the pieces' state, approving under the translation rules, saving drafts.

The domain of review, apart from its faces (the terminal session in cli/reviewing.py, the browser pages
in web/review_pages.py): both make the same calls, so they never disagree. Every decision is written to
the PO file at once, atomically, with Last-Translator set to whoever decided; an approval the rules
refuse is not written, and says why. Several translators may work on one language at once (a browser
and a terminal, two browsers): each decision locks the catalog, reads what is on disk now and compares
the piece with the version the translator saw; a piece someone else changed meanwhile is a conflict
showing both texts, never a silent overwrite.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from .catalog_files import Catalog
from .catalogs import (
    APPROVED,
    CHANGED,
    CHANGED_STATE,
    DRAFT,
    MACHINE,
    UNTRANSLATED,
    PieceState,
    State,
    count_states,
    piece_states,
    save_catalog,
)
from .errors import NewsletterError
from .issue import Issue
from .merging import CLOSE_MEMORY, Merge, current_view
from .overrides import SECOND_PERSON, acceptance_comment, accepted_rules, approval_comments, is_override, read_overrides
from .translation_rules import Finding, blocking, check_translation
from .wording import N_

if TYPE_CHECKING:  # CTranslate2 is loaded only when a draft is asked for
    from .translation.engine import Engine


@dataclass(frozen=True)
class Decision:
    """What became of a decision: done (and saved), refused with the findings that stopped it, or a conflict."""

    approved: bool
    refused: tuple[Finding, ...] = ()
    conflict: PieceState | None = None  # the piece as it stands now: someone changed it since it was shown
    saved: bool = False  # a draft was written
    requested: tuple[str, ...] = ()  # approved anyway with a changed link or address: waits for the manager

    @property
    def overridable(self) -> bool:
        """True when an explicit override could approve it: every refusal is a legitimate-difference kind."""
        return bool(self.refused) and all(finding.overridable for finding in self.refused)


def translator_identity(value: str | None) -> str | None:
    """'Name <address>' as given by --translator or the setting, checked; None when not given."""
    if not value:
        return None
    name, address = parseaddr(value)
    if not name or "@" not in address or "\n" in value:
        raise NewsletterError(
            f'translator {value!r} is not written as "Name <address>"',
            hint='e.g. --translator "Anna Petrova <anna@example.org>"',
            exit_code=2,
        )
    return f"{name} <{address}>"


def version(state: PieceState) -> str:
    """A short fingerprint of what a translator was shown of a piece: its source, status and translation."""
    seen = "\0".join((state.piece.source, state.status, state.translation))
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]


def word_changes(before: str, after: str) -> list[tuple[str, str]]:
    """The change between two texts word by word, as ("same" | "removed" | "added", text) runs."""
    old, new = re.findall(r"\S+|\s+", before), re.findall(r"\S+|\s+", after)
    runs = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(old[a1:a2])))
            continue
        if a2 > a1:
            runs.append(("removed", "".join(old[a1:a2])))
        if b2 > b1:
            runs.append(("added", "".join(new[b1:b2])))
    return runs


def origin(state: PieceState) -> str | None:
    """Where a draft came from when it is not the model: the translation memory's comment, if any."""
    comments = state.entry.comments if state.entry is not None else []
    return next((comment for comment in comments if comment.startswith(CLOSE_MEMORY)), None)


@contextmanager
def catalog_lock(path: Path) -> Iterator[None]:
    """Hold the lock of the catalogs of an issue folder: one decision at a time, across threads and processes."""
    # The folder, not the file: the file is replaced by every atomic write, the folder stays.
    handle = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


class Review:
    """One language of one issue under review: its merged catalog and the state of every piece."""

    def __init__(self, issue: Issue, language: str, *, translator: str | None = None) -> None:
        from .glossary import glossary_for

        if language == issue.language:
            raise NewsletterError(
                f"issue {issue.id} is written in {language}: its {language} edition is the source, "
                "there is nothing to review",
                exit_code=2,
            )
        self.issue, self.language, self.translator = issue, language, translator
        self.glossary = glossary_for(issue, language)
        self.decided = 0
        self._load()

    def _load(self) -> None:
        path, merged, _ = current_view(self.issue, self.language)
        if merged is None:
            issue_id, language = self.issue.id, self.language
            raise NewsletterError(
                f"no {language} catalog for issue {issue_id}",
                hint=f"draft one with `mco-newsletter translate {issue_id} --lang {language}`",
            )
        self.path: Path = path
        self.merged: Merge = merged
        self._read_as = _signature(path)
        self._states: list[PieceState] | None = None

    @property
    def catalog(self) -> Catalog:
        return self.merged.catalog

    def states(self) -> list[PieceState]:
        """Every piece with its current state (what status counts)."""
        if self._states is None:
            self._states = piece_states(self.issue, self.catalog, self.glossary)
        return self._states

    def counts(self) -> State:
        """The counts status shows: approved of total, drafts, changed, untranslated."""
        return count_states(self.language, self.states(), True)

    def todo(self) -> list[PieceState]:
        """The pieces not approved yet, in reading order."""
        return [state for state in self.states() if state.status != APPROVED]

    def by_need(self) -> list[PieceState]:
        """Every piece in the order that needs a human most: untranslated and changed since approval (reading
        order), then drafts — a person's or the translation memory's first, then machine drafts from the least
        confident up — and approved pieces last."""

        def need(numbered: tuple[int, PieceState]) -> tuple:
            number, state = numbered
            if state.status in (UNTRANSLATED, CHANGED_STATE):
                return 0, 0, 0.0, number
            if state.status == DRAFT:
                return (1, 1, state.score or 0.0, number) if state.machine else (1, 0, 0.0, number)
            return 2, 0, 0.0, number

        return [state for _, state in sorted(enumerate(self.states()), key=need)]

    def state(self, context: str) -> PieceState | None:
        return next((state for state in self.states() if state.piece.context == context), None)

    def known(self, context: str) -> PieceState:
        """The state of a piece the caller knows is there (its context came from this review)."""
        state = self.state(context)
        if state is None:
            raise KeyError(context)
        return state

    def check(self, context: str, text: str) -> list[Finding]:
        """What the translation rules and the glossary say of `text` as that piece's translation, overrides applied."""
        state = self.known(context)
        comments = state.entry.comments if state.entry is not None else []
        return blocking(self._findings(context, text), accepted_rules(comments, state.piece.source, text))

    def _findings(self, context: str, text: str) -> list[Finding]:
        source = self.known(context).piece.source
        return check_translation(context, source, text) + self.glossary.findings(source, text)

    @contextmanager
    def _fresh(self):
        """The catalog locked and as it is on disk now (read again only if another hand wrote it)."""
        with catalog_lock(self.path):
            if _signature(self.path) != self._read_as:
                self._load()
            try:
                yield
            finally:
                self._states = None  # a decision changes the entries the states were made of

    def approve(
        self, context: str, text: str | None = None, *, override: bool = False, expected: str | None = None
    ) -> Decision:
        """Approve the piece's translation (or `text`); with override=True, accept the legitimate differences
        the rules find and record that in the catalog. Saved at once when approved. With `expected` (the
        version() the translator saw), a piece changed since then by someone else is a conflict."""
        with self._fresh():
            state = self.state(context)
            if state is None:
                return Decision(False, (_gone(context),))
            text = state.translation if text is None else text
            if expected is not None and version(state) != expected:
                if text != state.translation:
                    return Decision(False, conflict=state)
                if state.status == APPROVED:
                    return Decision(True)  # approved meanwhile, with the very same text
            entry = state.entry
            assert entry is not None, "the review's catalog is merged: every piece has its entry"
            if not text.strip():
                return Decision(False, (Finding.of("empty", N_("an empty translation cannot be approved")),))
            refused = self.check(context, text)
            requested: tuple[str, ...] = ()
            if refused and override and all(finding.overridable for finding in refused):
                # What this text needs, and only that: overrides of earlier texts go.
                entry.comments = [c for c in entry.comments if not is_override(c)]
                entry.comments += approval_comments(
                    [f.rule for f in refused],
                    who=self.translator or "",
                    day=dt.date.today().isoformat(),
                    source=state.piece.source,
                    translation=text,
                )
                requested = tuple(sorted({f.rule for f in refused} & SECOND_PERSON))
                refused = []
            elif not refused and not self._findings(context, text):
                entry.comments = [c for c in entry.comments if not is_override(c)]  # nothing left to accept
            if refused:
                return Decision(False, tuple(refused))
            if text != entry.string:
                entry.notes = [note for note in entry.notes if not note.startswith(MACHINE)]
            entry.string = text
            entry.fuzzy = False
            entry.previous_id = entry.previous_context = None
            entry.notes = [note for note in entry.notes if note != CHANGED]
            entry.comments = [c for c in entry.comments if not c.startswith(CLOSE_MEMORY)]
            self._save()
            return Decision(True, requested=requested)

    def requests(self) -> list[PieceState]:
        """The approved pieces whose changed link or address waits for the manager's acceptance, in reading order."""
        return [state for state in self.states() if state.status == APPROVED and state.requested]

    def accept_request(self, context: str, *, expected: str) -> bool:
        """Accept the link override a translator requested for a piece (the manager's decision), if the piece is
        still what the manager was shown (`expected`, its version()); True when accepted and saved."""
        with self._fresh():
            state = self.state(context)
            if state is None or state.status != APPROVED or not state.requested or version(state) != expected:
                return False
            entry = state.entry
            assert entry is not None, "the review's catalog is merged: every piece has its entry"
            for found in read_overrides(entry.comments):
                if found.asks(state.piece.source, state.translation):
                    entry.comments[entry.comments.index(found.comment)] = acceptance_comment(
                        found, day=dt.date.today().isoformat()
                    )
            self._save()
            return True

    def save_draft(self, context: str, text: str, *, expected: str | None = None) -> Decision:
        """Keep `text` as the piece's translation without approving it (fuzzy, no longer a machine draft)."""
        with self._fresh():
            state = self.state(context)
            if state is None:
                return Decision(False, (_gone(context),))
            if expected is not None and version(state) != expected:
                if text != state.translation:
                    return Decision(False, conflict=state)
                return Decision(False)  # someone saved or approved this very text meanwhile: nothing to add
            entry = state.entry
            assert entry is not None, "the review's catalog is merged: every piece has its entry"
            if text == entry.string and entry.fuzzy:
                return Decision(False)
            entry.string = text
            entry.fuzzy = True
            entry.notes = [note for note in entry.notes if not note.startswith(MACHINE)]
            self._save()
            return Decision(False, saved=True)

    def machine_draft(self, context: str, engine: Engine) -> str:
        """A fresh machine draft of the piece's current source (shown, not saved until approved or kept)."""
        state = self.known(context)
        return engine.translate([state.piece.source], self.issue.language, self.language, glossary=self.glossary)[0]

    def _save(self) -> None:
        save_catalog(self.path, self.catalog, translator=self.translator)
        self._read_as = _signature(self.path)
        self.decided += 1


def _gone(context: str) -> Finding:
    return Finding.of(
        "gone",
        N_("%(piece)s is no longer a piece of the issue: its source was changed since it was shown"),
        piece=context,
    )


def _signature(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return ()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
