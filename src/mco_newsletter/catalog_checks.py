"""`check` for translations: every issue's catalogs, read strictly and held to the translation rules."""

from __future__ import annotations

from pathlib import Path

from .catalog_files import KEEP_THE_FILE, CatalogSyntaxError, read_catalog
from .catalogs import APPROVED
from .errors import NewsletterError, Problem
from .glossary import GlossaryError
from .translation_rules import LOST


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
                for finding in state.problems:
                    hint = (f"correct it with `{review}`, or approve the difference there with [o] (an override)"
                            if finding.overridable else f"correct it with `{review}` or in a PO editor")
                    problems.append(Problem(path, line, f"{state.piece.context}: {finding.message}", hint))
                warnings += [Problem(path, line, f"{state.piece.context}: {finding.message}",
                                     f"correct it with `{review}` or in a PO editor, or accept it there with "
                                     "[o] (an override)") for finding in state.terms]
            elif LOST in state.translation and LOST not in state.piece.source:
                problems.append(Problem(path, line, f"{state.piece.context}: the draft holds {LOST}: the model lost "
                                                    "characters here", f"compare it with the source in `{review}`"))
    return problems, warnings
