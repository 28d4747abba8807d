"""Commands on issue files: new, check."""

from __future__ import annotations

import json

import click

from ..wording import counted
from . import cli
from .options import json_option, one_language_option, require_languages, settings, shown, workspace_root


@cli.command("new")
@click.argument("issue_id", metavar="ID")
@one_language_option("The language the issue is written in (default: source_language).", short=True)
@click.option("--title", "-t", required=True, help="The issue's title, e.g. 'Digest June 2024'.")
@click.pass_context
def new(ctx: click.Context, issue_id: str, language: str | None, title: str) -> None:
    """Create issues/ID/issue.md as a draft, with placeholders in its language to replace.

    \b
    Example:
      mco-newsletter new 2024-06 --lang en --title "Digest June 2024"
    """
    from ..scaffold import scaffold_issue

    current = settings(ctx)
    require_languages(current, [language])
    path = scaffold_issue(current, issue_id, language=language or current.source_language, title=title)
    click.echo(f"Created {shown(path)} (status: draft)")
    click.echo(f"Write the digest there, then run: mco-newsletter check {issue_id}")
    click.echo("When it is ready to send, change `status: draft` to `status: published`.")


@cli.command("check")
@click.argument("issue_id", metavar="[ID]", required=False)
@click.option(
    "--dns",
    "with_dns",
    is_flag=True,
    help="Also ask the DNS for the sender's SPF, DKIM, DMARC and MX records (docs/deliverability.md).",
)
@click.option(
    "--nameserver",
    metavar="HOST[:PORT]",
    envvar="MCO_NEWSLETTER_DNS",
    help="The resolver --dns asks (default: the system's; or set MCO_NEWSLETTER_DNS).",
)
@json_option
@click.pass_context
def check(ctx: click.Context, issue_id: str | None, with_dns: bool, nameserver: str | None, as_json: bool) -> None:
    """Check newsletter.toml and the issues (or one issue); report every problem at once.

    Also notes, without failing, each template and catalog of the workspace that overrides the tool's own.

    \b
    Examples:
      mco-newsletter check
      mco-newsletter check 2024-05 --json
      mco-newsletter check --dns
    """
    from ..workspace_check import check_all

    root = workspace_root(ctx)
    found = check_all(root, issue_id)
    dns = _dns_findings(root, nameserver) if with_dns and not found.problems else []
    failed = bool(found.problems) or any(finding.level == "problem" for finding in dns)
    if as_json:
        report = {
            "problems": [_row(p, root) for p in found.problems],
            "warnings": [_row(p, root) for p in found.warnings],
            "notes": [_row(p, root) for p in found.notes],
        }
        if with_dns:
            report["dns"] = [finding.__dict__ for finding in dns]
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        ctx.exit(1 if failed else 0)
    if dns:
        _show_dns(dns)
    for note in found.notes:  # what the workspace overrides of the tool's templates and words: nothing to fix
        click.echo(f"{note.location(root)}: note: {note.message}")
    for problem in found.problems:
        click.echo(problem.format(root), err=True)
    for warning in found.warnings:
        click.echo(
            f"{warning.location(root)}: warning: {warning.message}"
            + (f"\n    hint: {warning.hint}" if warning.hint else ""),
            err=True,
        )
    if found.problems:
        click.echo(f"{counted(len(found.problems), 'problem')} found.", err=True)
        if with_dns:
            click.echo("The DNS was not asked: fix these first, then run check --dns again.", err=True)
        ctx.exit(1)
    if failed:
        problems = sum(finding.level == "problem" for finding in dns)
        click.echo(f"DNS: {counted(problems, 'problem')} found; publish the records shown.", err=True)
        ctx.exit(1)
    clean = "No problems found." if issue_id is None else f"Issue {issue_id}: no problems found."
    if found.warnings:
        clean = clean[:-1] + f" ({counted(len(found.warnings), 'warning')})."
    click.echo(clean)


def _dns_findings(root, nameserver: str | None) -> list:
    from ..config import load_settings
    from ..delivery.dns_checks import check_dns, resolver_for

    settings = load_settings(root)
    return check_dns(settings=settings, backend_name=settings.sending.backend, resolver=resolver_for(nameserver))


def _show_dns(findings) -> None:
    for finding in findings:
        stream = finding.level != "ok"
        click.echo(f"{finding.level:<8} {finding.topic}: {finding.message}", err=stream)
        if finding.publish:
            click.echo(f"         publish: {finding.publish}", err=stream)


def _row(problem, root) -> dict:
    path = problem.path
    try:
        path = path.resolve().relative_to(root.resolve())
    except ValueError:
        pass
    return {"path": str(path), "line": problem.line, "message": problem.message, "hint": problem.hint}
