"""Sends scheduled for later: `send <id> --segment S --at "2025-06-03 08:00"`, `schedule list`, `schedule cancel`.

A schedule is checked in full when it is made, as a send is (the issue published, every edition it sends ready and
within the translation rules, link overrides accepted, each edition rendered and encoded, the backend's settings and
secrets; the preflight warnings shown), and again when it goes out (delivery/due.py).

With SendGrid, a time within its 72 hours and a campaign the schedule starts, the campaign is handed to SendGrid at
once: every request carries `send_at` and one batch id, which `schedule cancel` cancels through the Scheduled Sends
API until 10 minutes before the time (its rows go back to pending: SendGrid discards the messages). Otherwise the
schedule waits in the store, and `send --due` (a systemd timer or cron, docs/sending.md) sends it once it is due.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import NewsletterError
from ..issue import Issue
from ..storage.schedule_rows import ScheduleRow, Schedules
from ..subscribers.segments import Segment
from .campaign import Plan, edition_map
from .send_time import SendTime, send_time_of, stored

if TYPE_CHECKING:
    from ..subscribers.store import Store

# Who holds a schedule while it goes out: this host and process (shown), and a random part (never reused).
CLAIMER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Checked:
    """What a send would do, found by the same checks as a send: the plan, the warnings, the editions it sends."""

    plan: Plan
    warnings: list[str]
    editions: list[str]


def check_send(
    *, settings: Settings, store: Store, issue: Issue, segment: Segment, backend_name: str, again: bool
) -> Checked:
    """Every check `send` makes before it writes, without claiming or writing anything (NewsletterError says why)."""
    from ..workspace import require_published
    from .backends import make_backend
    from .campaign import prepare_editions, signer_for
    from .service import plan_send, preflight_warnings

    require_published(issue)
    plan = plan_send(settings=settings, store=store, issue=issue, segment=segment, again=again)
    warnings = preflight_warnings(settings=settings, issue=issue, backend_name=backend_name)
    editions = sorted(set(edition_map(settings, issue).values()))
    prepare_editions(settings, issue, editions, signer=signer_for(settings, backend_name))
    make_backend(backend_name, settings).close()
    return Checked(plan, warnings, editions)


def with_sendgrid(
    *, store: Store, issue: Issue, segment: Segment, backend_name: str, when: SendTime, now: dt.datetime
) -> tuple[bool, str]:
    """Whether SendGrid holds the send itself, and if not, why it waits here."""
    from .backends.sendgrid_batches import within_reach
    from .ledger import Ledger

    if backend_name != "sendgrid":
        return False, ""
    if Ledger(store).find(issue.id, segment.name) is not None:
        return False, (
            "the campaign exists already, and SendGrid cancels only a whole batch: it waits here, and "
            "`send --due` sends it then"
        )
    if not within_reach(when.utc, now):
        return False, "SendGrid holds a send at most 72 hours ahead: it waits here, and `send --due` sends it then"
    return True, ""


def schedule(
    *,
    settings: Settings,
    store: Store,
    issue: Issue,
    segment: Segment,
    backend_name: str,
    again: bool,
    when: SendTime,
    editions: list[str],
    batch_id: str | None,
    now: dt.datetime,
) -> ScheduleRow:
    """Record the schedule (claimed by this process when it is handed to SendGrid now); refused when the issue and
    segment have one already."""
    rows = Schedules(store.db)
    with store.transaction():
        existing = rows.open_for(issue.id, segment.name, stored(now))
        if existing is not None:
            raise NewsletterError(
                f"{issue.id} to '{segment.name}' is scheduled already (#{existing.id}, for "
                f"{send_time_of(existing.due_at, existing.time_zone).shown()})",
                hint=f"cancel it first: mco-newsletter schedule cancel {existing.id}",
            )
        schedule_id = rows.add(
            issue_id=issue.id,
            segment=segment.name,
            backend=backend_name,
            again=again,
            due_at=stored(when.utc),
            time_zone=when.zone,
            editions=editions,
            batch_id=batch_id,
            created_at=stored(now),
            claimed_by=CLAIMER if batch_id else None,
        )
    return rows.known(schedule_id)


def holding(*, store: Store, issue_id: str, segment: str, now: dt.datetime) -> ScheduleRow | None:
    """The schedule that holds this issue and segment (a plain `send` of them waits for it or its cancellation)."""
    return Schedules(store.db).open_for(issue_id, segment, stored(now))


def listed(*, store: Store, now: dt.datetime, every: bool = False) -> list[ScheduleRow]:
    return Schedules(store.db).listed(stored(now), every=every)


@dataclass(frozen=True)
class Cancelled:
    """A cancelled schedule; with SendGrid, how many readers' messages it discards (back to pending here)."""

    schedule: ScheduleRow
    discarded: int


def cancel(*, settings: Settings, store: Store, schedule_id: int, now: dt.datetime) -> Cancelled:
    """Cancel a schedule: one waiting here is simply dropped; one handed to SendGrid is cancelled there first."""
    from .backends.sendgrid_batches import LAST_CANCEL, SendGridBatches

    rows = Schedules(store.db)
    found = rows.get(schedule_id)
    if found is None:
        raise NewsletterError(f"there is no schedule #{schedule_id}", hint="mco-newsletter schedule list shows them")
    when = send_time_of(found.due_at, found.time_zone)
    if found.state == "cancelled":
        raise NewsletterError(f"schedule #{schedule_id} was cancelled already")
    if found.state == "sending":
        raise NewsletterError(
            f"schedule #{schedule_id} is going out now (since {found.claimed_at}, "
            f"{(found.claimed_by or 'another process').rsplit(':', 1)[0]})",
            hint="stop that process (Ctrl-C, or stop its timer's service): the readers not sent "
            "stay pending; then cancel",
        )
    if found.batch_id is None or (found.state == "waiting" and found.campaign_id is None):  # nothing at SendGrid
        if found.state == "done":
            raise NewsletterError(f"schedule #{schedule_id} went out already ({found.finished_at})")
        with store.transaction():
            if not rows.cancel(schedule_id, stored(now), states=("waiting",)):
                raise NewsletterError(f"schedule #{schedule_id} started going out just now", hint="see `send-status`")
        return Cancelled(rows.known(schedule_id), 0)
    if now >= when.utc:
        raise NewsletterError(
            f"schedule #{schedule_id} went out at {when.shown()}: SendGrid sent it",
            hint=f"mco-newsletter report {found.issue_id} shows how it went",
        )
    if now > when.utc - LAST_CANCEL:
        raise NewsletterError(
            f"too late to cancel schedule #{schedule_id}: SendGrid takes no cancellation later than "
            f"10 minutes before its time, and its messages go out at {when.shown()}"
        )
    batches = SendGridBatches(settings.sending.sendgrid)
    try:
        batches.cancel(found.batch_id)
    finally:
        batches.close()
    with store.transaction():
        rows.cancel(schedule_id, stored(now), states=("waiting", "done"))
        discarded = rows.reopen_batch(found.campaign_id, stored(now)) if found.campaign_id else 0
    return Cancelled(rows.known(schedule_id), discarded)
