"""Commands that send: send, send-status."""

from __future__ import annotations

import json
import sys
import threading
import time

import click

from . import cli
from .subscribers import opened

EXIT_INCOMPLETE = 3


@cli.command("send")
@click.argument("issue_id", metavar="ID")
@click.option("--segment", "-s", "segment_name", required=True, metavar="S", help="Who gets it: a segment, or 'all'.")
@click.option("--backend", "-b", type=click.Choice(["sendgrid", "smtp", "outbox"]),
              help="How to send (default: [sending] backend in newsletter.toml).")
@click.option("--dry-run", is_flag=True, help="Print the plan; send and record nothing.")
@click.option("--test-to", metavar="EMAIL", help="Send every edition once to this address, marked [TEST]; record nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def send(ctx, issue_id, segment_name, backend, dry_run, test_to, yes) -> None:
    """Send an issue to a segment: each reader once, in their language; a rerun resumes."""
    from ..delivery.backends import make_backend
    from ..delivery.campaign import edition_map, plan_send, prepare_editions, snapshot
    from ..delivery.ledger import Ledger
    from ..subscribers.segments import find_segment
    from ..subscribers.tokens import unsubscribe_secret
    from ..workspace import load_issue, require_published

    with opened(ctx) as (settings, store):
        issue = load_issue(settings, issue_id)
        segment = find_segment(settings.segments, segment_name)
        backend_name = backend or settings.sending.backend
        if test_to:
            _send_test(settings, issue, backend_name, test_to)
            return
        require_published(issue)  # a draft is never sent
        ledger = Ledger(store)
        campaign = ledger.find(issue.id, segment.name)
        if campaign is None:
            plan = plan_send(settings, store, issue, segment)
            _show_plan(plan)
            if dry_run or plan.total == 0:
                click.echo("Dry run: nothing sent, nothing recorded." if dry_run else "Nobody to send to.")
                return
            if not yes:
                click.confirm(f"Send {issue.id} to {plan.total} readers of '{segment.name}' via {backend_name}?",
                              abort=True)
            campaign = ledger.create(issue_id=issue.id, segment=segment, editions=edition_map(settings, issue),
                                     snapshot=snapshot(settings, backend_name))
        else:
            open_rows = _show_resume(ledger, campaign)
            if not open_rows:
                click.echo("Nothing left to send.")
                return
            if dry_run:
                click.echo("Dry run: nothing sent, nothing recorded.")
                return
            if not yes:
                click.confirm(f"Resume: send the {open_rows} open rows via {backend_name}?", abort=True)
        languages = ledger.languages(campaign)
        editions = prepare_editions(settings, issue, languages)
        sender = make_backend(backend_name, settings)
        secret = unsubscribe_secret(settings.private_dir)
        try:
            outcome = _run(ledger, campaign, editions, sender, secret, settings)
        finally:
            sender.close()
        counts = ledger.counts(campaign)
    _summary(outcome, counts)
    if any(states.get(s) for states in counts.values() for s in ("pending", "sending", "failed")):
        ctx.exit(EXIT_INCOMPLETE)


def _run(ledger, campaign, editions, sender, secret, settings):
    from ..delivery.run import deliver

    total = sum(n for states in ledger.counts(campaign).values()
                for state, n in states.items() if state in ("pending", "sending", "failed"))
    lock = threading.Lock()
    started = time.monotonic()
    done = [0]
    if not sys.stderr.isatty():
        return deliver(ledger=ledger, campaign=campaign, editions=editions, backend=sender, secret=secret,
                       sending=settings.sending)

    def rate(_item) -> str:
        elapsed = time.monotonic() - started
        return f"{done[0] / elapsed:,.0f}/s" if elapsed > 0 else ""

    with click.progressbar(length=total, label="Sending", show_eta=True, show_percent=True,
                           item_show_func=rate, file=sys.stderr) as bar:
        def progress(count: int) -> None:
            with lock:
                done[0] += count
                bar.update(count, done[0])

        return deliver(ledger=ledger, campaign=campaign, editions=editions, backend=sender, secret=secret,
                       sending=settings.sending, progress=progress)


def _send_test(settings, issue, backend_name, address) -> None:
    from ..delivery.backends import Recipient, make_backend
    from ..delivery.campaign import edition_map, prepare_editions
    from ..subscribers.csv_import import normalize_email

    email, problem = normalize_email(address)
    if problem:
        raise click.BadParameter(f"{address!r}: {problem}", param_hint="--test-to")
    languages = sorted(set(edition_map(settings, issue).values()))
    editions = prepare_editions(settings, issue, languages, subject_prefix="[TEST] ")
    sender = make_backend(backend_name, settings)
    sent = []
    try:
        for language, edition in editions.items():
            sender.send(edition, [Recipient(0, email, "test")], campaign_id=0,
                        accepted=lambda pairs: sent.extend(pairs), failed=lambda row, error: click.echo(error, err=True))
            click.echo(f"[TEST] {issue.id} [{language}] sent to {email} via {backend_name}")
    finally:
        sender.close()


def _show_plan(plan) -> None:
    click.echo(f"Issue {plan.issue_id} to segment '{plan.segment}': {plan.total} readers")
    for language, count in sorted(plan.counts.items()):
        extra = f" (of them {plan.fallbacks[language]} as fallback)" if plan.fallbacks.get(language) else ""
        click.echo(f"  {language} edition: {count}{extra}")
    if plan.first:
        click.echo("First readers: " + ", ".join(f"{email} [{lang}]" for email, lang in plan.first))


def _show_resume(ledger, campaign) -> int:
    counts = ledger.counts(campaign)
    click.echo(f"Resuming the campaign of {campaign.issue_id} to '{campaign.segment}' started {campaign.started_at}")
    open_rows = 0
    for language, states in sorted(counts.items()):
        click.echo(f"  {language}: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
        open_rows += sum(states.get(s, 0) for s in ("pending", "sending", "failed"))
    return open_rows


def _summary(outcome, counts) -> None:
    totals: dict[str, int] = {}
    for states in counts.values():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
    click.echo(f"This run: {outcome.sent} sent, {outcome.failed} failed, {outcome.skipped} skipped "
               f"(left the list), {outcome.retries} retries.")
    if outcome.resent_after_crash:
        click.echo(f"{outcome.resent_after_crash} readers were in a request interrupted by a crash and were sent "
                   "again: they may have it twice.", err=True)
    click.echo("Campaign: " + ", ".join(f"{n} {state}" for state, n in sorted(totals.items())))
    if outcome.stopped_by:
        click.echo(f"Stopped: {outcome.stopped_by}", err=True)
        click.echo("Run the same command again to resume.", err=True)


@cli.command("send-status")
@click.argument("issue_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def send_status(ctx, issue_id, as_json) -> None:
    """Counts per state and per edition of every campaign of an issue."""
    from ..delivery.ledger import Ledger

    with opened(ctx) as (_, store):
        ledger = Ledger(store)
        report = [{"segment": c.segment, "started_at": c.started_at, "finished_at": c.finished_at,
                   "editions": ledger.counts(c), "fallbacks": ledger.fallbacks(c)} for c in ledger.campaigns(issue_id)]
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
            click.echo(f"  {language}: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
