"""The terminal face of review: one piece at a time, and the status lines; the decisions live in review.py."""

from __future__ import annotations

import os
import shutil
import sys

import click

from ..catalog_checks import link_changes
from ..catalogs import APPROVED, CHANGED_STATE, DRAFT, UNTRANSLATED, count_states
from ..errors import NewsletterError
from ..overrides import ACCEPTED, REQUESTED
from ..review import origin, version, word_changes
from ..wording import counted

CHOICES = {"a": "approve", "e": "edit in $EDITOR", "i": "edit here", "m": "machine draft", "s": "skip", "q": "quit"}
EDITORS = ("editor", "nano", "vi")  # Debian's `editor` alternative never asks; `sensible-editor` does
COMMENT = "#"


def status_rows(issue, languages) -> list[dict]:
    """Per language, the counts `status` shows (JSON-ready)."""
    from ..merging import current_view

    rows = []
    for language in languages:
        if language == issue.language:
            rows.append({"language": language, "source": True, "ready": True})
            continue
        _, merged, states = current_view(issue, language)
        review = count_states(language, states, merged is not None)
        changed = {(change.piece, change.state): change for change in link_changes(states)}
        rows.append(
            {
                "language": language,
                "source": False,
                "exists": review.exists,
                "total": review.total,
                "approved": review.approved,
                "machine_drafts": review.drafts,
                "changed": review.changed,
                "untranslated": review.untranslated,
                "broken": review.broken,
                "lost": review.lost,
                "glossary": review.terms,
                "overrides": [
                    {
                        "piece": s.piece.context,
                        "rules": list(s.overridden),
                        **_targets(changed.get((s.piece.context, ACCEPTED))),
                    }
                    for s in states
                    if s.status == APPROVED and s.overridden and not s.problems
                ],
                "requests": [
                    {"piece": change.piece, "rules": list(change.rules), **_targets(change)}
                    for change in changed.values()
                    if change.state == REQUESTED
                ],
                "ready": review.ready,
            }
        )
    return rows


def _targets(change) -> dict:
    """The source's link targets and addresses a piece's override lets the translation change, and the new ones."""
    return {"source": list(change.source) if change else [], "translation": list(change.translation) if change else []}


def _shown(item: dict) -> str:
    return f"{', '.join(item['source']) or '(none)'} → {', '.join(item['translation']) or '(none)'}"


def status_line(row: dict, short: bool = False) -> str:
    """One language of the status, in words."""
    if row["source"]:
        return f"{row['language']} (source)" if short else f"{row['language']}: source language, ready"
    if short:
        return f"{row['language']} {row['approved']}/{row['total']}" + (" ready" if row["ready"] else "")
    if not row["exists"]:
        return f"{row['language']}: no translation yet ({counted(row['total'], 'piece')}) — not ready"
    text = (
        f"{row['language']}: {row['approved']}/{row['total']} approved, "
        f"{counted(row['machine_drafts'], 'draft')}, {row['changed']} changed since approval, "
        f"{row['untranslated']} untranslated — {'ready' if row['ready'] else 'not ready'}"
    )
    if row["broken"]:
        text += (
            f"; {counted(row['broken'], 'approved piece breaks', 'approved pieces break')} the translation rules "
            "(`mco-newsletter check` says where)"
        )
    if row["glossary"]:
        text += (
            f"; {counted(row['glossary'], 'approved piece lacks', 'approved pieces lack')} a glossary term "
            "(`mco-newsletter check` says where)"
        )
    if row["overrides"]:
        text += f"; {counted(len(row['overrides']), 'override')}: " + ", ".join(
            f"{item['piece']} ({', '.join(item['rules'])}"
            + (f": {_shown(item)})" if item["source"] or item["translation"] else ")")
            for item in row["overrides"]
        )
    if row["requests"]:
        text += (
            f"; {counted(len(row['requests']), 'link override waits', 'link overrides wait')} for the "
            "organisation's acceptance (`mco-newsletter overrides list`): "
            + ", ".join(f"{item['piece']} ({_shown(item)})" for item in row["requests"])
        )
    if row["lost"]:
        text += f"; {counted(row['lost'], 'draft holds', 'drafts hold')} ⁇ (characters the model lost)"
    return text


def run_session(session, settings) -> None:
    """Walk the unapproved pieces in reading order; every decision is written at once."""
    todo = session.todo()
    issue, language = session.issue, session.language
    if not todo:
        click.echo(f"Nothing to review: every {language} piece of {issue.id} is approved.")
        return
    if not session.translator:
        click.echo(
            'Approvals are recorded without a name: pass --translator "Name <email>" or set [translation] translator.',
            err=True,
        )
    engines: list = []
    pending: dict = {}
    interrupted = False
    say = findings_in(settings, language)
    try:
        for number, state in enumerate(todo, 1):
            if _piece(session, state, number, len(todo), settings, engines, pending, say) == "q":
                break
    except (KeyboardInterrupt, click.Abort):  # click turns Ctrl-C (and the end of input) into Abort
        interrupted = True
        click.echo("")
    finally:
        for context, (text, seen) in pending.items():  # an edit never approved is kept as a draft, not lost
            if session.save_draft(context, text, expected=seen).conflict is not None:
                click.echo(f"Not kept as a draft: {context} was changed by someone else meanwhile. Your text:\n{text}")
    click.echo(f"{counted(session.decided, 'decision')} saved to {session.path}.")
    if interrupted:
        raise KeyboardInterrupt  # exit 130, after saying what was kept


def terminal_language() -> str:
    """The language the terminal's messages are asked in, as gettext reads it (LANGUAGE, LC_ALL, LC_MESSAGES,
    LANG): 'de' for de_DE.UTF-8; '' when none is set."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return value.split(":")[0].split(".")[0].split("_")[0].lower()
    return ""


def findings_in(settings, language: str):
    """How the session says a finding of the rules: in the language under review when the terminal speaks it (the
    words of the review pages, locales/<lang>/LC_MESSAGES/messages.po), else in English; the prompts stay English."""
    if terminal_language() != language:
        return lambda finding: finding.message
    from ..render.locale import translations

    try:
        gettext = translations(settings.locales_dir, language).gettext
    except NewsletterError:
        return lambda finding: finding.message
    return lambda finding: finding.said(gettext)


def _piece(session, state, number: int, total: int, settings, engines: list, pending: dict, say) -> str:
    context = state.piece.context
    text, label = state.translation, None
    refused = None
    seen = version(state)  # what this translator was shown: a change by someone else is a conflict
    while True:
        current = session.state(context)
        _show(current, number, total, text, label, refused, say)
        choices = dict(CHOICES)
        if refused is not None and refused.overridable:
            second = {finding.rule for finding in refused.refused} & {"links", "emails"}
            choices["o"] = (
                "approve anyway (the changed link or address then waits for the organisation's acceptance)"
                if second
                else "approve anyway (the override is recorded)"
            )
        choice = click.prompt(
            " / ".join(f"[{key}] {name}" for key, name in choices.items()),
            type=click.Choice(list(choices)),
            show_choices=False,
            default="s",
        )
        if choice in ("q", "s"):
            return choice
        if choice == "m":
            if not engines:
                from ..translation.engine import Engine

                engines.append(Engine(settings.translation))
            text, label = session.machine_draft(context, engines[0]), "Machine draft"
            pending[context] = (text, seen)
            continue
        if choice in ("e", "i"):
            edited = _edit_in_editor(session, current, text) if choice == "e" else _edit_here(text)
            if edited is None:
                continue
            text, label = edited, "Your text"
            pending[context] = (text, seen)
        decision = session.approve(context, text, override=choice == "o", expected=seen)
        if decision.approved:
            pending.pop(context, None)
            if decision.requested:
                changed = " and ".join({"links": "link", "emails": "address"}[rule] for rule in decision.requested)
                click.secho(
                    f"  Approved; the changed {changed} waits for the organisation "
                    "to accept it (`mco-newsletter overrides`): until then the edition is not sent.",
                    fg="yellow",
                )
            return choice
        if decision.conflict is not None:
            _conflict(decision.conflict, text)
            seen, refused = version(decision.conflict), None  # approving again takes this text over theirs
            continue
        refused = decision


def _conflict(theirs, text: str) -> None:
    click.secho(
        "  ! Someone else changed this piece since it was shown "
        f"({theirs.status}): {theirs.translation or '(untranslated)'}",
        fg="yellow",
    )
    click.echo(f"  Your text: {text or '(empty)'}\n  [a] approves your text over theirs; [s] leaves theirs.")


def _show(state, number: int, total: int, text: str, label: str | None, refused, say) -> None:
    entry = state.entry
    status = {UNTRANSLATED: "untranslated", DRAFT: "draft", CHANGED_STATE: "changed since approval"}.get(
        state.status, ""
    )
    click.echo("")
    click.secho(f"[{number}/{total}] {state.piece.context} · {status}", bold=True)
    if entry is not None and entry.previous_id:
        click.echo("Source changed: " + word_diff(entry.previous_id, state.piece.source))
    else:
        click.echo(f"Source:  {state.piece.source}")
    if label is None:
        memory = origin(state)
        label = (
            "Previous translation"
            if entry is not None and entry.previous_id and not memory
            else f"Draft ({memory})"
            if memory
            else "Machine draft"
            if state.machine
            else "Draft"
        )
    click.echo(f"{label}: {text or '(untranslated)'}")
    for finding in refused.refused if refused is not None else state.findings:
        click.secho(f"  ! {say(finding)}", fg="yellow")
    if refused is not None:
        click.echo("  Not approved." + (" [o] approves it anyway and records that." if refused.overridable else ""))


def word_diff(before: str, after: str) -> str:
    """The change between two texts, word by word: 'Enjoy [-reading!-]{+reading, friends!+}'."""
    shown = {
        "same": lambda text: text,
        "removed": lambda text: click.style(f"[-{text}-]", fg="red"),
        "added": lambda text: click.style(f"{{+{text}+}}", fg="green"),
    }
    return "".join(shown[kind](text) for kind, text in word_changes(before, after))


def _edit_here(text: str) -> str | None:
    """One line, prefilled with the current text (readline on a terminal, so it is edited, not retyped)."""
    if sys.stdin.isatty():
        try:
            import readline
        except ImportError:  # pragma: no cover — Windows
            pass
        else:
            readline.set_startup_hook(lambda: readline.insert_text(text))
            try:
                answer = input("Translation: ")
            finally:
                readline.set_startup_hook(None)
            return answer.strip() or None
    return click.prompt("Translation", default=text or None, show_default=False).strip() or None


def _edit_in_editor(session, state, text: str) -> str | None:
    """The text in $EDITOR, with the source above it as comments; None when closed without saving."""
    piece = state.piece
    head = [
        f"{session.issue.language} source of {piece.context} (issues/{session.issue.id}/issue.md:{piece.line}):",
        *piece.source.split("\n"),
    ]
    if state.entry is not None and state.entry.previous_id:
        head += ["", "The translation below was made for this earlier source:", *state.entry.previous_id.split("\n")]
    head += [
        "",
        f"Write the {session.language} translation below. Lines starting with {COMMENT} at the top are "
        "ignored; save and close to approve.",
    ]
    edited = click.edit(
        "\n".join(f"{COMMENT} {line}".rstrip() for line in head) + "\n\n" + text + "\n",
        editor=editor_command(),
        extension=".md",
        require_save=True,
    )
    if edited is None:
        return None
    lines = edited.split("\n")
    while lines and lines[0].startswith(COMMENT):
        lines.pop(0)
    return "\n".join(lines).strip("\n").strip() or None


def editor_command() -> str:
    """$VISUAL or $EDITOR, else the first of `editor`, nano, vi: never a program that asks which editor to use."""
    for variable in ("VISUAL", "EDITOR"):
        if os.environ.get(variable, "").strip():
            return os.environ[variable]
    for name in EDITORS:
        if shutil.which(name):
            return name
    raise NewsletterError("no text editor found", hint="set $EDITOR, e.g. EDITOR=nano, or use [i] to edit here")
