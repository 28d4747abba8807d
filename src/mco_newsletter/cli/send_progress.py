"""What a send shows while it runs, for `send` and for scheduled sends (cli/schedule.py): the plan and its warnings,
the progress bar, each retry, and Ctrl-C's two steps."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

import click

from ..wording import counted

EXIT_INCOMPLETE = 3


@contextmanager
def _stop_on_interrupt(stop: threading.Event):
    """Ctrl-C asks the send to stop after the messages or request on the wire; a second one stops at once."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("\nStopping after what is on the wire (Ctrl-C again to stop at once)…", err=True)

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _retry_line(retry) -> str:
    who = counted(retry.readers, "reader") + (" the server put off" if retry.deferred else "")
    return f"Retry {retry.attempt} of {retry.limit} in {retry.delay:.1f} s for {who}: {retry.reason}"


def _run(sending, *, bar: bool = True):
    total = sending.open_rows()
    on_retry = lambda retry: click.echo(_retry_line(retry), err=True)  # noqa: E731
    if not bar or not sys.stderr.isatty():
        return sending.run(on_retry=on_retry)
    lock = threading.Lock()
    started = time.monotonic()
    done = [0]

    def rate(_item) -> str:
        elapsed = time.monotonic() - started
        return f"{done[0] / elapsed:,.0f}/s" if elapsed > 0 else ""

    with click.progressbar(
        length=total, label="Sending", show_eta=True, show_percent=True, item_show_func=rate, file=sys.stderr
    ) as shown_bar:

        def progress(count: int) -> None:
            with lock:
                done[0] += count
                shown_bar.update(count, done[0])

        return sending.run(progress=progress, on_retry=on_retry)


def _show_plan(plan, again: bool) -> None:
    if plan.campaign is None:
        click.echo(f"Issue {plan.issue_id} to segment '{plan.segment}': {counted(plan.total, 'reader')}")
    else:
        click.echo(f"Resuming the campaign of {plan.issue_id} to '{plan.segment}' started {plan.campaign.started_at}")
        for language, states in sorted(plan.open_rows.items()):
            click.echo(
                f"  {language} edition, still open: "
                + ", ".join(f"{n:,} {state}" for state, n in sorted(states.items()))
            )
        if plan.total:
            click.echo(f"Joined the segment since: {counted(plan.total, 'reader')}")
    for language, count in sorted(plan.counts.items()):
        extra = f" (of them {plan.fallbacks[language]:,} as fallback)" if plan.fallbacks.get(language) else ""
        click.echo(f"  {language} edition: {count:,}{extra}")
    for language, changes in sorted(plan.link_overrides.items()):
        for change in changes:
            click.echo(f"  {language} edition: accepted {change.kind} {change.piece}: {change.shown}")
    if plan.already_sent:
        note = "sent again with --again" if again else "not sent again; --again would"
        click.echo(
            f"Already sent: {counted(plan.already_sent, 'reader')} got {plan.issue_id} in another campaign ({note})"
        )
    if plan.first:
        click.echo("First readers: " + ", ".join(f"{email} [{lang}]" for email, lang in plan.first))


def _show_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
