"""Reviewing one language of an issue: the pieces' state, approving under the translation rules, saving drafts.

The domain of review, apart from its faces (the terminal session in cli/reviewing.py; a browser page
can use the same calls). Every decision is written to the PO file at once, atomically, with
Last-Translator set to whoever decided; an approval the rules refuse is not written, and says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from .catalogs import APPROVED, CHANGED, MACHINE, PieceState, piece_states, save_catalog
from .errors import NewsletterError
from .merging import CLOSE_MEMORY, Merge, current_view
from .translation_rules import Finding, blocking, check_translation, override_comment, overrides


@dataclass(frozen=True)
class Decision:
    """What became of an approval: approved (and saved), or refused with the findings that stopped it."""

    approved: bool
    refused: tuple[Finding, ...] = ()

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
        raise NewsletterError(f"translator {value!r} is not written as \"Name <address>\"",
                              hint='e.g. --translator "Anna Petrova <anna@example.org>"', exit_code=2)
    return f"{name} <{address}>"


class Review:
    """One language of one issue under review: its merged catalog and the state of every piece."""

    def __init__(self, issue, language: str, *, translator: str | None = None):
        if language == issue.language:
            raise NewsletterError(f"issue {issue.id} is written in {language}: its {language} edition is the source, "
                                  "there is nothing to review", exit_code=2)
        path, merged, _ = current_view(issue, language)
        if merged is None:
            raise NewsletterError(f"no {language} catalog for issue {issue.id}",
                                  hint=f"draft one with `mco-newsletter translate {issue.id} --lang {language}`")
        self.issue, self.language, self.translator = issue, language, translator
        self.path: Path = path
        self.merged: Merge = merged
        self.decided = 0

    @property
    def catalog(self):
        return self.merged.catalog

    def states(self) -> list[PieceState]:
        """Every piece with its current state (what status counts)."""
        return piece_states(self.issue, self.catalog)

    def todo(self) -> list[PieceState]:
        """The pieces not approved yet, in reading order."""
        return [state for state in self.states() if state.status != APPROVED]

    def state(self, context: str) -> PieceState:
        return next(state for state in self.states() if state.piece.context == context)

    def check(self, context: str, text: str) -> list[Finding]:
        """What the translation rules say of `text` as the translation of that piece (overrides applied)."""
        state = self.state(context)
        accepted = overrides(state.entry.comments) if state.entry is not None else set()
        return blocking(check_translation(context, state.piece.source, text), accepted)

    def approve(self, context: str, text: str | None = None, *, override: bool = False) -> Decision:
        """Approve the piece's translation (or `text`); with override=True, accept the legitimate differences
        the rules find and record that in the catalog. Saved at once when approved."""
        state = self.state(context)
        entry = state.entry
        text = state.translation if text is None else text
        if not text.strip():
            return Decision(False, (Finding("empty", "an empty translation cannot be approved"),))
        refused = self.check(context, text)
        if refused and override and all(finding.overridable for finding in refused):
            entry.comments = [c for c in entry.comments if not c.lower().startswith("override:")]
            entry.comments.append(override_comment([f.rule for f in refused], self.translator or "",
                                                   dt.date.today().isoformat()))
            refused = []
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
        return Decision(True)

    def save_draft(self, context: str, text: str) -> None:
        """Keep `text` as the piece's translation without approving it (fuzzy, no longer a machine draft)."""
        entry = self.state(context).entry
        if text == entry.string and entry.fuzzy:
            return
        entry.string = text
        entry.fuzzy = True
        entry.notes = [note for note in entry.notes if not note.startswith(MACHINE)]
        self._save()

    def machine_draft(self, context: str, engine) -> str:
        """A fresh machine draft of the piece's current source (shown, not saved until approved or kept)."""
        state = self.state(context)
        return engine.translate([state.piece.source], self.issue.language, self.language)[0]

    def _save(self) -> None:
        save_catalog(self.path, self.catalog, translator=self.translator)
        self.decided += 1
