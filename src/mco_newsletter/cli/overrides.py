"""`overrides`: the changed links and addresses translators approved anyway, listed, and accepted by a second person."""

from __future__ import annotations

import json

import click

from ..wording import counted
from . import cli
from .options import json_option, yes_option
from .options import settings as load_settings
from .translation import checked_languages


@cli.group("overrides")
def overrides() -> None:
    """Changed links and addresses translators approved anyway: an edition with one waits until you accept it.

    \b
    Examples:
      mco-newsletter overrides list 2024-05
      mco-newsletter overrides accept 2024-05 --lang de intro/1
    """


@overrides.command("list")
@click.argument("issue_id", metavar="[ID]", required=False)
@click.option("--lang", "languages", multiple=True, metavar="L", help="Only this language (repeatable).")
@json_option
@click.pass_context
def list_overrides(ctx, issue_id, languages, as_json) -> None:
    """Every link and address override, waiting for acceptance or accepted: the source's target beside the new one.
    Without ID: every issue.

    \b
    Example:
      mco-newsletter overrides list 2024-05 --lang de
    """
    from ..errors import NewsletterError
    from ..workspace import issue_ids, load_issue

    settings = load_settings(ctx)
    languages = checked_languages(settings, languages) or settings.languages
    rows = []
    for one in [issue_id] if issue_id else issue_ids(settings):
        try:
            issue = load_issue(settings, one)
            found = [(one, language, change) for language in languages for change in _changes(issue, language)]
        except NewsletterError as exc:
            if issue_id:
                raise
            # One broken issue or catalog does not hide the others' overrides.
            click.echo(f"{one}: cannot be read ({exc.message}); `mco-newsletter check` says more", err=True)
            continue
        rows += found
    if as_json:
        click.echo(
            json.dumps(
                {
                    "overrides": [
                        {
                            "issue": one,
                            "language": language,
                            "piece": change.piece,
                            "state": change.state,
                            "rules": list(change.rules),
                            "source": list(change.source),
                            "translation": list(change.translation),
                            "note": change.note,
                            "line": change.line,
                        }
                        for one, language, change in rows
                    ]
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        return
    if not rows:
        click.echo("No overrides of links or addresses.")
    for one, language, change in rows:
        _show(one, language, change)


@overrides.command("accept")
@click.argument("issue_id", metavar="ID")
@click.option("--lang", "language", required=True, metavar="L", help="The language of the edition.")
@click.argument("pieces", nargs=-1, metavar="[PIECE]...")
@click.option("--all", "every", is_flag=True, help="Every override of the language that waits for acceptance.")
@yes_option
@click.pass_context
def accept(ctx, issue_id, language, pieces, every, yes) -> None:
    """Accept a changed link or address a translator approved anyway (PIECE: e.g. intro/1), after seeing the
    source's target and the new one; the edition can then be sent. To refuse one, correct the piece with `review`.

    \b
    Examples:
      mco-newsletter overrides accept 2024-05 --lang de intro/1
      mco-newsletter overrides accept 2024-05 --lang ru --all --yes
    """
    from ..catalog_checks import link_changes
    from ..errors import NewsletterError
    from ..overrides import REQUESTED
    from ..review import Review, version
    from ..workspace import load_issue

    settings = load_settings(ctx)
    checked_languages(settings, (language,))
    if bool(pieces) == every:
        raise click.UsageError("name the pieces to accept (e.g. intro/1), or give --all")
    issue = load_issue(settings, issue_id)
    session = Review(issue, language)
    waiting = {change.piece: change for change in link_changes(session.states()) if change.state == REQUESTED}
    # What the manager is shown is what they accept: a piece changed before they answer is not accepted.
    shown = {piece: version(session.known(piece)) for piece in waiting}
    for piece in pieces:
        if piece not in waiting:
            raise NewsletterError(
                f"{piece} has no override waiting for acceptance in {issue_id} [{language}]",
                hint=f"`mco-newsletter overrides list {issue_id}` shows what waits",
            )
    chosen = [waiting[piece] for piece in dict.fromkeys(pieces)] if pieces else list(waiting.values())
    if not chosen:
        click.echo(f"No link or address override waits for acceptance in {issue_id} [{language}].")
        return
    done = 0
    for change in chosen:
        _show(issue_id, language, change)
        if not yes and not click.confirm(
            f"Accept this {change.kind} for the readers of the {language} edition?", default=False
        ):
            click.echo(f"Not accepted: {issue_id} [{language}] {change.piece}.")
            continue
        if not session.accept_request(change.piece, expected=shown[change.piece]):
            raise NewsletterError(
                f"{change.piece} was changed while you looked at it: nothing accepted for it",
                hint=f"look again with `mco-newsletter overrides list {issue_id}`",
            )
        done += 1
        click.echo(f"Accepted: {issue_id} [{language}] {change.piece} ({change.shown}).")
    if done:
        click.echo(f"{counted(done, 'override')} accepted in {session.path}.")


def _changes(issue, language: str) -> list:
    from ..catalog_checks import link_changes
    from ..merging import current_view

    if language == issue.language:
        return []
    return link_changes(current_view(issue, language)[2])


def _show(issue_id: str, language: str, change) -> None:
    """One override: the piece, where it stands, who asked, and the source's targets beside the new ones."""
    state = "waiting for acceptance" if change.state == "requested" else "accepted"
    click.echo(
        f"{issue_id} [{language}] {change.piece} — {change.kind}, {state} "
        f"(issues/{issue_id}/{language}.po:{change.line})"
    )
    if change.note:
        click.echo(f"  {change.note}")
    click.echo(f"  source:      {', '.join(change.source) or '(none)'}")
    click.echo(f"  translation: {', '.join(change.translation) or '(none)'}")
