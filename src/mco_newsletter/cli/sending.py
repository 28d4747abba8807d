"""Commands that send: send, send-status. They ask and print; delivery/service.py does the work."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import NewsletterError
from ..wording import counted
from . import cli
from .options import settings as load_settings
from .send_progress import EXIT_INCOMPLETE, _run, _show_plan, _show_warnings, _stop_on_interrupt

EXIT_INTERRUPTED = 130


@cli.command("send")
@click.argument("issue_id", metavar="ID", required=False)
@click.option("--segment", "-s", "segment_name", metavar="S", help="Who gets it: a segment, or 'all' (required).")
@click.option(
    "--backend",
    "-b",
    type=click.Choice(["sendgrid", "smtp", "outbox"]),
    help="How to send (default: [sending] backend in newsletter.toml).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; send and record nothing.")
@click.option(
    "--test-to",
    metavar="EMAIL",
    multiple=True,
    help="Send every edition once to this address, marked [TEST]; record nothing (repeatable).",
)
@click.option("--again", is_flag=True, help="Also send to readers who got this issue in another campaign (segment).")
@click.option(
    "--wait", is_flag=True, help="If another send of this issue is running, wait for it to end instead of refusing."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the plan and the outcome as JSON; asks nothing, so it needs --yes or --dry-run.",
)
@click.option(
    "--at",
    "at",
    metavar="WHEN",
    help='Send later: "2025-06-03 08:00" in newsletter.toml\'s time_zone '
    "(checked now and again then; docs/sending.md).",
)
@click.option(
    "--keep-here",
    is_flag=True,
    help="With --at and SendGrid: keep the schedule here for `send --due` rather than hand it to SendGrid now.",
)
@click.option("--due", is_flag=True, help="Send every scheduled send whose time came (for a systemd timer or cron).")
@click.pass_context
def send(ctx, issue_id, segment_name, backend, dry_run, test_to, again, wait, yes, as_json, at, keep_here, due) -> None:
    """Send an issue to a segment: each reader once, in their language; a rerun resumes. With --at, later.

    \b
    Examples:
      mco-newsletter send 2024-05 --segment all --dry-run
      mco-newsletter send 2024-05 --segment all --test-to me@example.org
      mco-newsletter send 2024-05 --segment all --yes
      mco-newsletter send 2024-05 --segment all --at "2025-06-03 08:00" --yes
      mco-newsletter send --due
    """
    from ..delivery.service import plan_send, preflight_warnings, send_test, start_or_resume
    from ..subscribers.segments import find_segment
    from ..subscribers.store import open_store
    from ..workspace import load_issue, require_published
    from .send_json import outcome_json, plan_json

    if due:
        if issue_id or segment_name or at or test_to or dry_run or again or wait or keep_here:
            raise click.UsageError("--due sends what was scheduled: give it no ID, --segment or other option")
        from .schedule import send_due

        return send_due(ctx, as_json=as_json)
    if not issue_id or not segment_name:
        raise click.UsageError("give the issue's ID and --segment S (or --due)")
    if as_json and not (yes or dry_run or test_to):
        raise click.UsageError("--json asks no question: add --yes to send, or --dry-run to see the plan")
    if at or keep_here:
        if test_to or wait or not at:
            raise click.UsageError("--at schedules the send (--keep-here goes with it); --test-to and --wait send now")
        from .schedule import send_at

        return send_at(
            ctx,
            issue_id=issue_id,
            segment_name=segment_name,
            backend=backend,
            at=at,
            again=again,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
            keep_here=keep_here,
        )

    from ..storage.postgresql import name_program

    name_program(f"mco-newsletter send {issue_id}")  # how another program waiting for this one names it
    settings = load_settings(ctx)
    # Each accepted message is a commit of its own: synced by the OS, not waited for (see open_store).
    store = open_store(settings.store, durable_commits=False)
    try:
        issue = load_issue(settings, issue_id)
        segment = find_segment(settings.segments, segment_name)
        backend_name = backend or settings.sending.backend
        if test_to:
            _show_warnings(preflight_warnings(settings=settings, issue=issue, backend_name=backend_name))
            _send_tests(send_test, settings, issue, backend_name, test_to, as_json)
            return
        require_published(issue)  # a draft is never sent
        _refuse_scheduled(store, issue.id, segment.name, dry_run)
        plan = plan_send(settings=settings, store=store, issue=issue, segment=segment, again=again)
        warnings = preflight_warnings(settings=settings, issue=issue, backend_name=backend_name)
        planned = {**plan_json(plan, backend=backend_name, again=again), "warnings": warnings}
        if not as_json:
            _show_plan(plan, again)
        _show_warnings(warnings)
        if dry_run or plan.total + plan.open_total == 0:
            if as_json:
                click.echo(
                    json.dumps({"dry_run": dry_run, "plan": planned, "outcome": None}, indent=1, ensure_ascii=False)
                )
            elif dry_run:
                click.echo("Dry run: nothing sent, nothing recorded.")
            else:
                click.echo("Nothing left to send." if plan.campaign else "Nobody to send to.")
            return
        if not yes:
            what = (
                f"Send {issue.id} to {counted(plan.total, 'reader')} of '{segment.name}'"
                if plan.campaign is None
                else f"Resume: send {counted(plan.total + plan.open_total, 'open row')}"
            )
            if not click.confirm(f"{what} via {backend_name}?"):
                click.echo("Nothing sent. Nothing changed.")
                return
        sending = start_or_resume(
            settings=settings,
            store=store,
            issue=issue,
            segment=segment,
            backend_name=backend_name,
            again=again,
            wait=wait,
            waiting=lambda holder: click.echo(f"Waiting for the send of {issue.id} ({holder}) to end…", err=True),
        )
        try:
            with _stop_on_interrupt(sending.stop):
                outcome = _run(sending, bar=not as_json)
            counts = sending.counts()
        finally:
            sending.close()
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                {"dry_run": False, "plan": planned, "outcome": outcome_json(outcome, counts)},
                indent=1,
                ensure_ascii=False,
            )
        )
    else:
        _summary(outcome, counts)
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        click.echo("Interrupted: the rest is pending; run the same command again to resume.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if any(states.get(s) for states in counts.values() for s in ("pending", "sending", "failed")):
        ctx.exit(EXIT_INCOMPLETE)


def _refuse_scheduled(store, issue_id: str, segment: str, dry_run: bool) -> None:
    """A send of what is scheduled (or held by SendGrid for its time) would race the schedule: refused."""
    import datetime as dt

    from ..delivery.schedule import holding

    held = holding(store=store, issue_id=issue_id, segment=segment, now=dt.datetime.now(dt.UTC))
    if held is not None:
        error = NewsletterError(
            f"{issue_id} to '{segment}' is scheduled (#{held.id}, `schedule list`)",
            hint=f"let it go out at its time, or cancel it first: mco-newsletter schedule cancel {held.id}",
        )
        if not dry_run:
            raise error
        click.echo(f"Note: {error.message}; sending it now would need it cancelled first.", err=True)


def _send_tests(send_test, settings, issue, backend_name: str, given: tuple[str, ...], as_json: bool) -> None:
    """Every edition to each --test-to address, each said as it is accepted (or, with --json, all at the end)."""
    addresses = tuple(dict.fromkeys(_test_address(address) for address in given))
    done: list[tuple[str, str]] = []

    def sent(language: str, address: str) -> None:
        done.append((language, address))
        if not as_json:
            click.echo(f"[TEST] {issue.id} [{language}] sent to {address} via {backend_name}")

    error = None
    try:
        send_test(settings=settings, issue=issue, backend_name=backend_name, addresses=addresses, sent=sent)
    except NewsletterError as exc:
        error = exc
    if as_json:
        click.echo(
            json.dumps(
                {
                    "issue": issue.id,
                    "backend": backend_name,
                    "test": [{"language": language, "address": address} for language, address in done],
                    "error": None if error is None else error.message,
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    if error is not None:
        raise error


def _test_address(address: str) -> str:
    from ..subscribers.csv_import import normalize_email

    email, problem = normalize_email(address)
    if problem:
        raise click.BadParameter(f"{address!r}: {problem}", param_hint="--test-to")
    return email


def _summary(outcome, counts) -> None:
    totals: dict[str, int] = {}
    for states in counts.values():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
    click.echo(
        f"This run: {outcome.sent:,} sent, {outcome.failed:,} failed, {outcome.skipped:,} skipped "
        f"(left the list), {outcome.refused:,} refused by the server, {counted(outcome.retries, 'retry', 'retries')}."
    )
    if outcome.resent_after_crash:
        click.echo(
            f"{counted(outcome.resent_after_crash, 'reader was', 'readers were')} in flight when an earlier run "
            "stopped without an answer (a crash or a kill) and got it again: they may have it twice.",
            err=True,
        )
    if outcome.resent_unanswered:
        click.echo(
            f"{counted(outcome.resent_unanswered, 'reader was', 'readers were')} in a request that got no answer "
            "(it may have been accepted) and got it again: they may have it twice.",
            err=True,
        )
    click.echo("Campaign: " + ", ".join(f"{n:,} {state}" for state, n in sorted(totals.items())))
    if outcome.stopped_by and outcome.error is None:
        click.echo(f"Stopped: {outcome.stopped_by}", err=True)
        click.echo("Run the same command again to resume.", err=True)


@cli.command("send-status")
@click.argument("issue_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def send_status(ctx, issue_id, as_json) -> None:
    """Counts per state and per edition of every campaign of an issue.

    \b
    Example:
      mco-newsletter send-status 2024-05
    """
    from ..delivery.ledger import Ledger
    from .subscribers import opened

    with opened(ctx) as (_, store):
        ledger = Ledger(store)
        report: list[dict[str, Any]] = [
            {
                "segment": c.segment,
                "started_at": c.started_at,
                "finished_at": c.finished_at,
                "editions": ledger.counts(c),
                "fallbacks": ledger.fallbacks(c),
                "may_have_it_twice": ledger.twice(c),
            }
            for c in ledger.campaigns(issue_id)
        ]
    if as_json:
        click.echo(json.dumps({"issue": issue_id, "campaigns": report}, indent=1))
        return
    if not report:
        click.echo(f"Issue {issue_id} has not been sent.")
        return
    for campaign in report:
        state = "finished " + campaign["finished_at"] if campaign["finished_at"] else "open"
        click.echo(f"{issue_id} → {campaign['segment']} (started {campaign['started_at']}, {state})")
        for language, states in sorted(campaign["editions"].items()):
            click.echo(f"  {language}: " + ", ".join(f"{n:,} {s}" for s, n in sorted(states.items())))
        if campaign["may_have_it_twice"]:
            click.echo(
                f"  {campaign['may_have_it_twice']:,} may have it twice (sent again after a send was stopped "
                "or a request went unanswered while their message may already have been accepted)"
            )
