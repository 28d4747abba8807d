"""`report`: how a send went (reporting/), as a table, as JSON, or as a self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from .options import json_option, shown


@cli.command("report")
@click.argument("issue_id", metavar="[ID]", required=False)
@json_option
@click.option(
    "--html",
    "html_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as one self-contained HTML page (charts inline; it loads nothing).",
)
@click.pass_context
def report(ctx, issue_id: str | None, as_json: bool, html_file: Path | None) -> None:
    """How an issue's send went, per edition and in total: delivered, bounced, blocked, complaints, unsubscribes,
    readers still open, with rates and a warning beside any past the limits mail providers publish. Without an ID,
    every campaign, newest first. Counts only: no opens, no clicks, nothing per person.

    \b
    Examples:
      mco-newsletter report
      mco-newsletter report 2024-05
      mco-newsletter report 2024-05 --html report.html
    """
    from ..reporting.lines import issue_lines, overview_lines
    from ..reporting.measures import issue_json, overview_json
    from ..reporting.report import IssueReport, issue_report, overview
    from .subscribers import opened

    with opened(ctx) as (settings, store):
        found = issue_report(store=store, issue_id=issue_id) if issue_id else overview(store=store)
    if found is None:
        if as_json:
            click.echo(json.dumps({"issue": issue_id, "campaigns": []}, indent=1))
        else:
            click.echo(f"Issue {issue_id} has not been sent.")
        return
    if html_file is not None:
        from ..files import write_atomically
        from ..reporting.page import report_page

        newsletter = settings.name_for(settings.source_language)
        page = (
            report_page(newsletter=newsletter, report=found)
            if isinstance(found, IssueReport)
            else report_page(newsletter=newsletter, overview=found)
        )
        write_atomically(html_file, page.encode("utf-8"))
    if as_json:
        shape = issue_json(found) if isinstance(found, IssueReport) else overview_json(found)
        click.echo(json.dumps(shape, indent=1, ensure_ascii=False))
    else:
        for line in issue_lines(found) if isinstance(found, IssueReport) else overview_lines(found):
            click.echo(line)
    if html_file is not None:
        click.echo(f"Wrote {shown(html_file)}", err=as_json)
