"""Scheduled sends: `send --at`, `send --due`, `schedule list`, `schedule cancel` (delivery/schedule.py, due.py)."""

from __future__ import annotations

import datetime as dt
import json

import click

from ..wording import counted as plural
from . import cli
from .options import json_option, yes_option
from .options import settings as load_settings
from .send_progress import EXIT_INCOMPLETE, _retry_line, _run, _show_plan, _show_warnings, _stop_on_interrupt

AFTER = (
    "Readers who leave before then still get it: SendGrid holds their messages from now on (--keep-here keeps "
    "the schedule here instead, where each reader is checked just before their message goes)."
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def send_at(
    ctx,
    *,
    issue_id: str,
    segment_name: str,
    backend: str | None,
    at: str,
    again: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    keep_here: bool,
) -> None:
    """`send ID --segment S --at WHEN`: checked now as a send is, then kept here or handed to SendGrid."""
    from ..delivery.schedule import check_send, holding, schedule, with_sendgrid
    from ..delivery.send_time import read_send_time
    from ..subscribers.segments import find_segment
    from ..subscribers.store import open_store
    from ..workspace import load_issue
    from .send_json import plan_json

    settings = load_settings(ctx)
    now = _now()
    when = read_send_time(at, zone=settings.time_zone, now=now)
    store = open_store(settings.store, durable_commits=False)
    try:
        issue = load_issue(settings, issue_id)
        segment = find_segment(settings.segments, segment_name)
        backend_name = backend or settings.sending.backend
        checked = check_send(
            settings=settings, store=store, issue=issue, segment=segment, backend_name=backend_name, again=again
        )
        handed, why_here = with_sendgrid(
            store=store, issue=issue, segment=segment, backend_name=backend_name, when=when, now=now
        )
        handed = handed and not keep_here
        how = (
            "handed to SendGrid now, which sends it then"
            if handed
            else "kept here: `mco-newsletter send --due` (a systemd timer or cron) sends it then"
        )
        planned = {
            **plan_json(checked.plan, backend=backend_name, again=again),
            "warnings": checked.warnings,
            "at": {"local": when.local.isoformat(), "utc": when.utc.isoformat(), "time_zone": when.zone},
            "with_sendgrid": handed,
        }
        if not as_json:
            _show_plan(checked.plan, again)
            click.echo(f"At {when.shown()}: {how}.")
            if why_here and not keep_here:
                click.echo(f"Not with SendGrid: {why_here}.")
            click.echo(
                AFTER
                if handed
                else "Readers are those of the segment at that time; each is checked just before their message goes."
            )
        _show_warnings(checked.warnings)
        holder = holding(store=store, issue_id=issue.id, segment=segment.name, now=now)
        if holder is not None:
            from ..errors import NewsletterError

            raise NewsletterError(
                f"{issue.id} to '{segment.name}' is scheduled already (#{holder.id})",
                hint=f"cancel it first: mco-newsletter schedule cancel {holder.id}",
            )
        if dry_run:
            click.echo(
                json.dumps({"dry_run": True, "plan": planned, "schedule": None}, indent=1, ensure_ascii=False)
                if as_json
                else "Dry run: nothing scheduled, nothing recorded."
            )
            return
        if not yes and not click.confirm(f"Schedule {issue.id} for '{segment.name}' at {when.shown()}?"):
            click.echo("Nothing scheduled. Nothing changed.")
            return
        batch_id = _new_batch(settings) if handed else None
        row = schedule(
            settings=settings,
            store=store,
            issue=issue,
            segment=segment,
            backend_name=backend_name,
            again=again,
            when=when,
            editions=checked.editions,
            batch_id=batch_id,
            now=now,
        )
        if not handed:
            if as_json:
                click.echo(
                    json.dumps(
                        {"dry_run": False, "plan": planned, "schedule": _row_json(row)}, indent=1, ensure_ascii=False
                    )
                )
            else:
                click.echo(f"Scheduled #{row.id}: {issue.id} to '{segment.name}' at {when.shown()}.")
            return
        gone = _hand_over(settings, store, row, bar=not as_json)
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": False,
                    "plan": planned,
                    "schedule": _row_json(gone.schedule),
                    "handed_over": _states(gone.counts),
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    else:
        sent = _states(gone.counts).get("sent", 0)
        click.echo(
            f"Scheduled #{row.id} with SendGrid (batch {row.batch_id}): {plural(sent, 'message')} handed "
            f"over; SendGrid sends them at {when.shown()}."
        )
        click.echo(f"Cancel until 10 minutes before: mco-newsletter schedule cancel {row.id}")
    if gone.problem:
        click.echo(
            f"Not all handed over: {gone.problem}; run `mco-newsletter send --due` (or this command) again "
            "to hand over the rest.",
            err=True,
        )
        ctx.exit(EXIT_INCOMPLETE)


def _new_batch(settings) -> str:
    from ..delivery.backends.sendgrid_batches import SendGridBatches

    batches = SendGridBatches(settings.sending.sendgrid)
    try:
        return batches.new_batch()
    finally:
        batches.close()


def _hand_over(settings, store, row, *, bar: bool):
    """Send the new schedule's campaign to SendGrid now, with its send_at and batch id."""
    from ..delivery.due import GoneOut, begin, settle

    sending, problem = begin(
        settings=settings,
        store=store,
        schedule=row,
        recheck=False,
        waiting=lambda holder: click.echo(f"Waiting for the send of {row.issue_id} ({holder}) to end…", err=True),
    )
    if sending is None:
        from ..errors import NewsletterError

        raise NewsletterError(
            f"schedule #{row.id} was not handed over: {problem}",
            hint="it stays waiting; `send --due` hands it over once the problem is fixed, or "
            f"`schedule cancel {row.id}` drops it",
        )
    try:
        with _stop_on_interrupt(sending.stop):
            outcome = _run(sending, bar=bar)
    finally:
        sending.close()
    gone: GoneOut = settle(store=store, schedule=row, sending=sending, outcome=outcome)
    return gone


def _states(counts: dict) -> dict[str, int]:
    totals: dict[str, int] = {}
    for states in counts.values():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
    return totals


def send_due(ctx, *, as_json: bool) -> None:
    """`send --due`: every schedule whose time came, once; exit 1 if one was held back, 3 if one was left open."""
    from ..delivery.due import claim_next, go_out
    from ..subscribers.store import open_store

    settings = load_settings(ctx)
    store = open_store(settings.store, durable_commits=False)
    gone = []
    handled: set[int] = set()
    try:
        while (row := claim_next(store=store, now=_now(), handled=handled)) is not None:
            if not as_json:
                click.echo(f"#{row.id} {row.issue_id} to '{row.segment}' via {row.backend}, due {_shown(row)}:")
            gone.append(
                go_out(
                    settings=settings,
                    store=store,
                    schedule=row,
                    on_retry=lambda retry: click.echo(_retry_line(retry), err=True),
                    warnings=_show_warnings,
                    waiting=lambda holder: click.echo(f"  waiting for another send ({holder}) to end…", err=True),
                )
            )
            if not as_json:
                click.echo("  " + _gone_line(gone[-1]), err=gone[-1].problem is not None)
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "due": [
                        {
                            "schedule": _row_json(g.schedule),
                            "sent": g.complete,
                            "passed_by": g.passed_by,
                            "problem": g.problem,
                            "campaign": _states(g.counts),
                        }
                        for g in gone
                    ]
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    if any(g.problem and g.outcome is None for g in gone):
        ctx.exit(1)
    if any(g.problem for g in gone):
        ctx.exit(EXIT_INCOMPLETE)


def _gone_line(gone) -> str:
    totals = ", ".join(f"{n:,} {state}" for state, n in sorted(_states(gone.counts).items()))
    if gone.passed_by:
        return "still being sent by another process: left to it."
    if gone.outcome is None:
        return f"not sent: {gone.problem}. It stays scheduled (schedule list); fix that, or cancel it."
    if gone.problem:
        return f"not finished: {gone.problem}; campaign: {totals}. The next `send --due` resumes it."
    return f"sent; campaign: {totals}."


def _shown(row) -> str:
    from ..delivery.send_time import send_time_of

    return send_time_of(row.due_at, row.time_zone).shown()


def _row_json(row) -> dict:
    from ..delivery.send_time import send_time_of

    when = send_time_of(row.due_at, row.time_zone)
    return {
        "id": row.id,
        "issue": row.issue_id,
        "segment": row.segment,
        "backend": row.backend,
        "again": row.again,
        "at": {"local": when.local.isoformat(), "utc": when.utc.isoformat(), "time_zone": row.time_zone},
        "editions": list(row.editions),
        "with_sendgrid": row.batch_id is not None,
        "batch_id": row.batch_id,
        "state": row.state,
        "problem": row.problem,
        "problem_at": row.problem_at,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
    }


@cli.group("schedule")
def schedule_group() -> None:
    """Sends scheduled with `send --at`: list them, cancel one.

    \b
    Examples:
      mco-newsletter schedule list
      mco-newsletter schedule cancel 3
    """


@schedule_group.command("list")
@click.option("--all", "every", is_flag=True, help="Also those sent and cancelled.")
@json_option
@click.pass_context
def schedule_list(ctx, every: bool, as_json: bool) -> None:
    """The scheduled sends still to go, soonest first, each with why it did not go out when it was due.

    \b
    Examples:
      mco-newsletter schedule list
      mco-newsletter schedule list --all --json
    """
    from ..delivery.schedule import listed
    from .subscribers import opened

    with opened(ctx) as (_, store):
        rows = listed(store=store, now=_now(), every=every)
    if as_json:
        click.echo(json.dumps({"schedules": [_row_json(row) for row in rows]}, indent=1, ensure_ascii=False))
        return
    if not rows:
        click.echo("Nothing is scheduled.")
        return
    for row in rows:
        how = f"with SendGrid (batch {row.batch_id})" if row.batch_id else "kept here (send --due)"
        state = {
            "waiting": "waiting",
            "sending": f"going out now ({row.claimed_by.rsplit(':', 1)[0]})" if row.claimed_by else "going out now",
            "done": "handed over" if row.batch_id else "sent",
            "cancelled": "cancelled",
        }[row.state]
        click.echo(
            f"#{row.id}  {row.issue_id} to '{row.segment}' via {row.backend}, {_shown(row)}: {how}, {state}"
            f" [{', '.join(row.editions)}]"
        )
        if row.problem:
            click.echo(f"      not sent at {row.problem_at}: {row.problem}")


@schedule_group.command("cancel")
@click.argument("schedule_id", metavar="ID", type=int)
@yes_option
@click.pass_context
def schedule_cancel(ctx, schedule_id: int, yes: bool) -> None:
    """Cancel a scheduled send (one handed to SendGrid through its Scheduled Sends API, until 10 minutes before).

    \b
    Example:
      mco-newsletter schedule cancel 3 --yes
    """
    from ..delivery.schedule import cancel
    from .subscribers import opened

    with opened(ctx) as (settings, store):
        if not yes and not click.confirm(f"Cancel schedule #{schedule_id}?"):
            click.echo("Nothing cancelled. Nothing changed.")
            return
        done = cancel(settings=settings, store=store, schedule_id=schedule_id, now=_now())
    row = done.schedule
    click.echo(f"Cancelled #{row.id}: {row.issue_id} to '{row.segment}' at {_shown(row)}.")
    if row.batch_id is not None:
        click.echo(
            f"SendGrid discards the {plural(done.discarded, 'message')} of batch {row.batch_id} it holds, at "
            "their time; those readers are pending again here (a later send of the issue reaches them)."
        )
