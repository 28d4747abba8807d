"""`check` for translations: every issue's catalogs, read strictly and held to the translation rules."""

from __future__ import annotations

from pathlib import Path

from .catalog_files import KEEP_THE_FILE, CatalogSyntaxError, read_catalog
from .catalogs import APPROVED
from .errors import NewsletterError, Problem
from .glossary import GlossaryError
from .overrides import ACCEPTED, link_changes, read_overrides, why_not
from .translation_rules import LOST

CHANGED = {"links": "link", "emails": "address"}


def catalog_problems(folder: Path, issue, languages: tuple[str, ...]) -> list[Problem]:
    """Problems of the PO files of one issue folder: broken files, approved pieces against the rules, ⁇ drafts."""
    return catalog_findings(folder, issue, languages)[0]


def catalog_findings(folder: Path, issue, languages: tuple[str, ...]) -> tuple[list[Problem], list[Problem]]:
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
                problems += [Problem(path, line, f"{state.piece.context}: {message}", hint)
                             for message, hint in (rule_problem(issue.id, language, state, finding)
                                                   for finding in state.problems)]
                warnings += [Problem(path, line, f"{state.piece.context}: {finding.message}",
                                     f"correct it with `{review}` or in a PO editor, or accept it there with "
                                     "[o] (an override)") for finding in state.terms]
                warnings += [Problem(path, line, f"{state.piece.context}: an accepted {change.kind}: {change.shown}",
                                     "an override the organisation accepted: make sure it is still meant; a clean "
                                     "approval of the piece removes it")
                             for change in link_changes([state]) if change.state == ACCEPTED]
            elif LOST in state.translation and LOST not in state.piece.source:
                problems.append(Problem(path, line, f"{state.piece.context}: the draft holds {LOST}: the model lost "
                                                    "characters here", f"compare it with the source in `{review}`"))
    return problems, warnings


def rule_problem(issue_id: str, language: str, state, finding) -> tuple[str, str]:
    """What check says of an approved piece's finding no override accepts, and its hint: awaiting the manager,
    an override given for another text, or simply against the rules."""
    review = f"mco-newsletter review {issue_id} --lang {language}"
    if finding.rule in state.requested:
        who = next((found.note for found in _requests(state)), "")
        return (f"{finding.message} — a translator approved it anyway{f' ({who})' if who else ''}: the changed "
                f"{CHANGED[finding.rule]} is waiting for the organisation's acceptance",
                f"if it is right, accept it with `mco-newsletter overrides accept {issue_id} --lang {language} "
                f"{state.piece.context}`; if not, correct it with `{review}`")
    if not finding.overridable:
        return finding.message, f"correct it with `{review}` or in a PO editor"
    stale = why_not(state.entry.comments if state.entry is not None else [], finding.rule, state.piece.source,
                    state.translation)
    if stale:
        return (f"{finding.message} ({stale})",
                f"correct it, or approve it again with [o] in `{review}`, which records an override for this text")
    return finding.message, f"correct it with `{review}`, or approve the difference there with [o] (an override)"


def link_overrides(issue, language: str) -> list:
    """The accepted link and address overrides of an edition (overrides.LinkChange): what the send plan shows."""
    from .merging import current_view

    if language == issue.language:
        return []
    _, _, states = current_view(issue, language)
    return [change for change in link_changes(states) if change.state == ACCEPTED]


def _requests(state) -> list:
    comments = state.entry.comments if state.entry is not None else []
    return [found for found in read_overrides(comments) if found.asks(state.piece.source, state.translation)]
