"""Commands on issue files: new, check."""

from __future__ import annotations

import click

from . import cli
from .options import settings, shown, workspace_root


@cli.command("new")
@click.argument("issue_id", metavar="ID")
@click.option("--language", "-l", metavar="L", help="The language the issue is written in (default: source_language).")
@click.option("--title", "-t", required=True, help="The issue's title, e.g. 'Digest June 2024'.")
@click.pass_context
def new(ctx: click.Context, issue_id: str, language: str | None, title: str) -> None:
    """Create issues/ID/issue.md with front matter and a skeleton to fill in."""
    from ..workspace import scaffold_issue

    current = settings(ctx)
    path = scaffold_issue(current, issue_id, language=language or current.source_language, title=title)
    click.echo(f"Created {shown(path)}")
    click.echo(f"Write the digest there, then run: mco-newsletter check {issue_id}")


@cli.command("check")
@click.argument("issue_id", metavar="[ID]", required=False)
@click.pass_context
def check(ctx: click.Context, issue_id: str | None) -> None:
    """Check newsletter.toml and the issues (or one issue); report every problem at once."""
    from ..workspace import check as check_workspace

    root = workspace_root(ctx)
    problems = check_workspace(root, issue_id)
    for problem in problems:
        click.echo(problem.format(root), err=True)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.", err=True)
        ctx.exit(1)
    click.echo("No problems found." if issue_id is None else f"Issue {issue_id}: no problems found.")
