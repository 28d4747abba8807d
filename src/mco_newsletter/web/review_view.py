"""What the review pages show of a piece and of an issue: plain values for the templates, made from review.py's."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..catalogs import APPROVED, CHANGED_STATE, UNTRANSLATED, PieceState
from ..review import Decision, Review, origin, version, word_changes


@dataclass(frozen=True)
class PieceView:
    """One piece on the page: its source (or how the source changed), the text in its box, and what was said."""

    context: str
    anchor: str
    status: str  # approved | draft | changed | untranslated
    source: str
    text: str  # what the text box holds: the translation on disk, or what the translator sent
    version: str  # what they were shown, sent back with every decision
    machine: bool = False
    confidence: int | None = None  # the model's, in percent
    changes: tuple = ()  # ("same" | "removed" | "added", words) when the source changed since the translation
    previous: str = ""  # that translation, made for the earlier source
    memory: str | None = None  # where a draft from the translation memory came from
    warnings: tuple[str, ...] = ()  # in the page's language, as every message a translator reads
    refused: tuple[str, ...] = ()
    overridable: bool = False
    needs_acceptance: bool = False  # approving anyway changes a link or address: the organisation must accept it
    waiting: bool = False  # approved, with a changed link or address the organisation has not accepted yet
    conflict: dict | None = None  # {"status": …, "text": …} of the piece as someone else saved it meanwhile
    outcome: str = ""  # approved | requested | saved | unchanged, after a decision

    @property
    def rows(self) -> int:
        """A text box tall enough for the text (about 60 characters a line), 3 to 14 lines."""
        lines = sum(1 + len(line) // 60 for line in self.text.split("\n"))
        return max(3, min(14, lines + 1))


def _memory(state, gettext: Callable[[str], str]) -> str | None:
    """Where a draft from the translation memory came from, in the page's language."""
    from ..merging import close_match

    said = origin(state)
    found = close_match(said) if said else None
    if found is None:
        return said
    percent, issue_id = found
    return gettext("Translation memory: %(percent)s%% like a piece approved in issue %(issue)s") % {
        "percent": percent,
        "issue": issue_id,
    }


def anchor(context: str) -> str:
    """The element id of a piece: its context with the slashes made safe."""
    return "piece-" + context.replace("/", "_")


def english(message: str) -> str:
    return message


def piece_view(
    state: PieceState,
    *,
    text: str | None = None,
    decision: Decision | None = None,
    gettext: Callable[[str], str] = english,
) -> PieceView:
    """A piece as its state says, or as a decision left it (the text sent stays in the box when not approved);
    `gettext` (of the page's language, ReviewSite.gettext) says the rules' findings and the rest in its words."""
    entry = state.entry
    changed = entry is not None and bool(entry.previous_id) and state.status != APPROVED
    score = state.score if state.machine else None
    shown_state, conflict, outcome = state, None, ""
    if decision is not None and decision.conflict is not None:
        shown_state = decision.conflict
        conflict = {"status": decision.conflict.status, "text": decision.conflict.translation}
    elif decision is not None:
        outcome = (
            ("requested" if decision.requested else "approved")
            if decision.approved
            else "saved"
            if decision.saved
            else ""
            if decision.refused
            else "unchanged"
        )
    return PieceView(
        context=state.piece.context,
        anchor=anchor(state.piece.context),
        status=shown_state.status,
        source=state.piece.source,
        text=state.translation if text is None else text,
        version=version(shown_state),
        machine=state.machine,
        confidence=None if score is None else round(100 * math.exp(score)),
        changes=tuple(word_changes(entry.previous_id, state.piece.source))
        if entry is not None and entry.previous_id and changed
        else (),
        previous=state.translation if changed else "",
        memory=_memory(state, gettext),
        warnings=tuple(finding.said(gettext) for finding in shown_state.problems + shown_state.terms),
        refused=tuple(finding.said(gettext) for finding in decision.refused) if decision is not None else (),
        overridable=decision.overridable if decision is not None else False,
        needs_acceptance=decision is not None
        and decision.overridable
        and any(finding.rule in ("links", "emails") for finding in decision.refused),
        waiting=bool(shown_state.requested),
        conflict=conflict,
        outcome=outcome,
    )


@dataclass(frozen=True)
class IssueView:
    """The pieces of one language of an issue in the order that needs a human most, in three groups."""

    needs: list[PieceView]  # untranslated, and changed since approval
    drafts: list[PieceView]  # a person's or the memory's first, then the machine's from the least confident up
    approved: list[PieceView]
    approved_count: int
    total: int

    @property
    def pieces(self) -> list[PieceView]:
        return self.needs + self.drafts + self.approved


def issue_view(
    review: Review, replaced: dict[str, PieceView] | None = None, *, gettext: Callable[[str], str] = english
) -> IssueView:
    """Every piece of the review by need; `replaced` puts a piece as a decision left it in its place."""
    replaced = replaced or {}
    groups: dict[str, list[PieceView]] = {"needs": [], "drafts": [], "approved": []}
    for state in review.by_need():
        view = replaced.get(state.piece.context) or piece_view(state, gettext=gettext)
        group = (
            "needs"
            if state.status in (UNTRANSLATED, CHANGED_STATE)
            else "approved"
            if state.status == APPROVED
            else "drafts"
        )
        groups[group].append(view)
    counts = review.counts()
    return IssueView(groups["needs"], groups["drafts"], groups["approved"], counts.approved, counts.total)


def next_piece(order: list[str], context: str, review: Review) -> str | None:
    """The piece to go on with after `context`: the next in `order` still to approve, else the first such."""
    waiting = {state.piece.context for state in review.states() if state.status != APPROVED}
    after = order[order.index(context) + 1 :] if context in order else order
    return next((c for c in after if c in waiting), next((c for c in order if c in waiting), None))
