"""`check` for translations: every issue's catalogs, read strictly and held to the translation rules; the approved
pieces whose links or addresses differ under an override (link_changes, for status, overrides and check)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .catalog_files import KEEP_THE_FILE, CatalogSyntaxError, read_catalog
from .catalogs import APPROVED, PieceState
from .errors import NewsletterError, Problem
from .glossary import GlossaryError
from .issue import Issue
from .overrides import ACCEPTED, REQUESTED, SECOND_PERSON, read_overrides, why_not
from .translation_rules import LOST, Finding

CHANGED = {"links": "link", "emails": "address"}


def catalog_problems(folder: Path, issue: Issue | None, languages: tuple[str, ...]) -> list[Problem]:
    """Problems of the PO files of one issue folder: broken files, approved pieces against the rules, ⁇ drafts."""
    return catalog_findings(folder, issue, languages)[0]


def catalog_findings(
    folder: Path, issue: Issue | None, languages: tuple[str, ...]
) -> tuple[list[Problem], list[Problem]]:
    """Problems (as catalog_problems) and warnings of the PO files of one issue folder: the warnings are approved
    pieces lacking a glossary term, which hold nothing back.

    `issue` may be None (its issue.md is broken): the files are still read, so a broken catalog is named.
    """
    from .merging import current_view

    problems: list[Problem] = []
    warnings: list[Problem] = []
    for path in sorted(folder.glob("*.po")):
        language = path.stem
        try:
            if issue is None or language not in languages or language == issue.language:
                read_catalog(path)  # not a translation of this issue's: still a file translators may break
                continue
            _, _, states = current_view(issue, language)
        except GlossaryError:
            continue  # said once, at the glossary's own line (glossary_problems)
        except CatalogSyntaxError as exc:
            problems.append(Problem(path, exc.line, f"not a valid PO file: {exc.reason}", KEEP_THE_FILE))
            continue
        except NewsletterError as exc:
            problems.append(Problem(path, 0, exc.message.removeprefix(f"{path}: "), exc.hint))
            continue
        review = f"mco-newsletter review {issue.id} --lang {language}"
        for state in states:
            line = state.entry.string_line if state.entry is not None else 0
            if state.status == APPROVED:
                problems += [
                    Problem(path, line, f"{state.piece.context}: {message}", hint)
                    for message, hint in (
                        rule_problem(issue.id, language, state, finding) for finding in state.problems
                    )
                ]
                warnings += [
                    Problem(
                        path,
                        line,
                        f"{state.piece.context}: {finding.message}",
                        f"correct it with `{review}` or in a PO editor, or accept it there with [o] (an override)",
                    )
                    for finding in state.terms
                ]
                warnings += [
                    Problem(
                        path,
                        line,
                        f"{state.piece.context}: an accepted {change.kind}: {change.shown}",
                        "an override the organisation accepted: make sure it is still meant; a clean "
                        "approval of the piece removes it",
                    )
                    for change in link_changes([state])
                    if change.state == ACCEPTED
                ]
            elif LOST in state.translation and LOST not in state.piece.source:
                problems.append(
                    Problem(
                        path,
                        line,
                        f"{state.piece.context}: the draft holds {LOST}: the model lost characters here",
                        f"compare it with the source in `{review}`",
                    )
                )
    return problems, warnings


def rule_problem(issue_id: str, language: str, state: PieceState, finding: Finding) -> tuple[str, str]:
    """What check says of an approved piece's finding no override accepts, and its hint: awaiting the manager,
    an override given for another text, or simply against the rules."""
    review = f"mco-newsletter review {issue_id} --lang {language}"
    if finding.rule in state.requested:
        who = next((found.note for found in _requests(state)), "")
        return (
            f"{finding.message} — a translator approved it anyway{f' ({who})' if who else ''}: the changed "
            f"{CHANGED[finding.rule]} is waiting for the organisation's acceptance",
            f"if it is right, accept it with `mco-newsletter overrides accept {issue_id} --lang {language} "
            f"{state.piece.context}`; if not, correct it with `{review}`",
        )
    if not finding.overridable:
        return finding.message, f"correct it with `{review}` or in a PO editor"
    stale = why_not(
        state.entry.comments if state.entry is not None else [], finding.rule, state.piece.source, state.translation
    )
    if stale:
        return (
            f"{finding.message} ({stale})",
            f"correct it, or approve it again with [o] in `{review}`, which records an override for this text",
        )
    return finding.message, f"correct it with `{review}`, or approve the difference there with [o] (an override)"


def link_overrides(issue: Issue, language: str) -> list:
    """The accepted link and address overrides of an edition (overrides.LinkChange): what the send plan shows."""
    from .merging import current_view

    if language == issue.language:
        return []
    _, _, states = current_view(issue, language)
    return [change for change in link_changes(states) if change.state == ACCEPTED]


def _requests(state) -> list:
    comments = state.entry.comments if state.entry is not None else []
    return [found for found in read_overrides(comments) if found.asks(state.piece.source, state.translation)]


@dataclass(frozen=True)
class LinkChange:
    """The changed or added links and addresses of one approved piece, and where their override stands."""

    piece: str
    line: int  # of its msgstr in the catalog
    state: str  # requested (waits for the manager) | accepted
    rules: tuple[str, ...]
    source: tuple[str, ...]  # the source's targets the translation lacks
    translation: tuple[str, ...]  # the translation's targets the source lacks
    note: str  # who asked, who accepted, when

    @property
    def kind(self) -> str:
        names: dict[tuple[str, ...], str] = {("links",): "link override", ("emails",): "address override"}
        return names.get(self.rules, "link and address override")

    @property
    def shown(self) -> str:
        """The source's targets and the translation's, side by side: 'https://a → https://b'."""
        return f"{', '.join(self.source) or '(none)'} → {', '.join(self.translation) or '(none)'}"


def link_changes(states: list[PieceState]) -> list[LinkChange]:
    """Every approved piece (catalogs.PieceState) whose links or addresses differ from the source's under an override:
    requested by a translator, or accepted by the manager; in reading order."""
    found = []
    for state in states:
        if state.status != "approved" or state.entry is None:
            continue
        source, translation = state.piece.source, state.translation
        accepted = set(state.overridden) & SECOND_PERSON
        for kind, rules, findings in (
            (REQUESTED, set(state.requested), [f for f in state.problems if f.rule in state.requested]),
            (ACCEPTED, accepted, [f for f in state.findings if f.rule in accepted and f not in state.problems]),
        ):
            if not findings:
                continue
            notes = [
                o.note
                for o in read_overrides(state.entry.comments)
                if o.covers(source, translation)
                and (o.asks(source, translation) if kind == REQUESTED else o.kind == ACCEPTED)
                and o.rules & rules
            ]
            found.append(
                LinkChange(
                    state.piece.context,
                    state.entry.string_line,
                    kind,
                    tuple(sorted(rules)),
                    tuple(t for f in findings for t in f.missing),
                    tuple(t for f in findings for t in f.added),
                    "; ".join(notes),
                )
            )
    return found
