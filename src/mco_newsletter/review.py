"""The terminal review session: one piece at a time, each decision written to the PO file at once."""

from __future__ import annotations

import difflib

import click

from .catalogs import CHANGED, approved, catalog_path, pieces, read_catalog, write_catalog
from .errors import NewsletterError

CHOICES = {"a": "accept", "e": "edit in $EDITOR", "i": "edit here", "s": "skip", "q": "quit"}


def run_review(issue, language: str) -> None:
    """Review the entries of `language` that are not approved, in reading order."""
    path = catalog_path(issue, language)
    if not path.is_file():
        raise NewsletterError(f"no {language} catalog for issue {issue.id}",
                              hint=f"draft one with `mco-newsletter translate {issue.id} --to {language}`")
    catalog = read_catalog(path)
    todo = [catalog.get(p.source, p.context) for p in pieces(issue)]
    todo = [message for message in todo if message is not None and not approved(message)]
    if not todo:
        click.echo(f"Nothing to review: every {language} piece of {issue.id} is approved.")
        return
    decided = 0
    interrupted = False
    try:
        for number, message in enumerate(todo, 1):
            _show(message, number, len(todo))
            choice = click.prompt(" / ".join(f"[{key}] {label}" for key, label in CHOICES.items()),
                                  type=click.Choice(list(CHOICES)), show_choices=False, default="s")
            if choice == "q":
                break
            if choice == "s":
                continue
            if choice == "e":
                edited = click.edit(message.string or message.id, extension=".md")
                if edited is None:  # editor closed without saving: nothing decided
                    continue
                message.string = edited.strip("\n")
            elif choice == "i":
                message.string = click.prompt("Translation", default=message.string or message.id)
            if not message.string.strip():
                click.echo("An empty translation cannot be approved; skipped.")
                continue
            message.flags.discard("fuzzy")
            message.previous_id = []
            message.auto_comments = [c for c in message.auto_comments if c != CHANGED]
            write_catalog(path, catalog)  # saved now: Ctrl-C later loses nothing decided
            decided += 1
    except (KeyboardInterrupt, click.Abort):
        click.echo("")
        interrupted = True
    click.echo(f"{decided} decision{'s' if decided != 1 else ''} saved to {path}.")
    if interrupted:
        raise KeyboardInterrupt  # the command ends as interrupted (exit 130), its decisions kept


def _show(message, number: int, total: int) -> None:
    click.echo("")
    click.secho(f"[{number}/{total}] {message.context}", bold=True)
    if message.previous_id:
        previous = message.previous_id if isinstance(message.previous_id, str) else " ".join(message.previous_id)
        click.echo("Source changed:")
        for line in difflib.ndiff([previous], [message.id]):
            if line[:1] in "-+?":
                click.echo("  " + line.rstrip())
    else:
        click.echo(f"Source:  {message.id}")
    label = "Draft:  " if message.fuzzy else "Current:"
    click.echo(f"{label} {message.string or '(untranslated)'}")
