"""Commands on issue files: new, check."""

from __future__ import annotations

import json

import click

from . import cli
from .options import counted, json_option, one_language_option, require_languages, settings, shown, workspace_root


@cli.command("new")
@click.argument("issue_id", metavar="ID")
@one_language_option("The language the issue is written in (default: source_language).", short=True)
@click.option("--title", "-t", required=True, help="The issue's title, e.g. 'Digest June 2024'.")
@click.pass_context
def new(ctx: click.Context, issue_id: str, language: str | None, title: str) -> None:
    """Create issues/ID/issue.md as a draft, with placeholders in its language to replace."""
    from ..workspace import scaffold_issue

    current = settings(ctx)
    require_languages(current, [language])
    path = scaffold_issue(current, issue_id, language=language or current.source_language, title=title)
    click.echo(f"Created {shown(path)} (status: draft)")
    click.echo(f"Write the digest there, then run: mco-newsletter check {issue_id}")
    click.echo("When it is ready to send, change `status: draft` to `status: published`.")


@cli.command("check")
@click.argument("issue_id", metavar="[ID]", required=False)
@json_option
@click.pass_context
def check(ctx: click.Context, issue_id: str | None, as_json: bool) -> None:
    """Check newsletter.toml and the issues (or one issue); report every problem at once."""
    from ..workspace import check_all

    root = workspace_root(ctx)
    found = check_all(root, issue_id)
    if as_json:
        click.echo(json.dumps({"problems": [_row(p, root) for p in found.problems],
                               "warnings": [_row(p, root) for p in found.warnings]}, ensure_ascii=False, indent=1))
        ctx.exit(1 if found.problems else 0)
    for problem in found.problems:
        click.echo(problem.format(root), err=True)
    for warning in found.warnings:
        click.echo(f"{warning.location(root)}: warning: {warning.message}"
                   + (f"\n    hint: {warning.hint}" if warning.hint else ""), err=True)
    if found.problems:
        click.echo(f"{counted(len(found.problems), 'problem')} found.", err=True)
        ctx.exit(1)
    clean = "No problems found." if issue_id is None else f"Issue {issue_id}: no problems found."
    if found.warnings:
        clean = clean[:-1] + f" ({counted(len(found.warnings), 'warning')})."
    click.echo(clean)


def _row(problem, root) -> dict:
    path = problem.path
    try:
        path = path.resolve().relative_to(root.resolve())
    except ValueError:
        pass
    return {"path": str(path), "line": problem.line, "message": problem.message, "hint": problem.hint}
