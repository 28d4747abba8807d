"""`send --due`: the schedules whose time came, each sent once, however many timers fire together.

Each due schedule is claimed with one conditional update (waiting → sending) in a transaction: of two processes
started together, one takes it and the other passes it by. The send itself then runs as `send` does, under the
issue's claim and the ledger's exactly-once rows. A process that dies while sending leaves its schedule `sending`;
after STALE without a word, the next `send --due` takes it over and resumes it (the issue's claim keeps it from a
sender still alive: the takeover passes it by). Two due schedules of one issue (two segments) go one after the
other: the second waits for the issue's claim.

Before a schedule goes out it is checked again, as when it was made: an edition it was checked with that is no longer
ready (a translation reopened, a rule broken, a link override not accepted) keeps it from going out; it stays waiting,
listed with the reason, and goes out at the first `send --due` after the problem is fixed (or is cancelled).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import NewsletterError
from ..storage.schedule_rows import ScheduleRow, Schedules
from .ledger import OPEN_STATES
from .schedule import CLAIMER, check_send
from .send_time import stored

if TYPE_CHECKING:
    from ..issue import Issue
    from ..subscribers.store import Store
    from .run import Outcome, Retry
    from .service import Sending

STALE = dt.timedelta(minutes=10)  # a schedule `sending` this long without its process finishing it is taken over


@dataclass(frozen=True)
class GoneOut:
    """What became of one due schedule: sent in full, left incomplete (`problem` says how many are open), or held
    back (`problem` says why)."""

    schedule: ScheduleRow
    outcome: object | None  # run.Outcome of the send, when it ran
    counts: dict
    problem: str | None
    passed_by: bool = False  # taken over from a quiet process that turned out to be still sending it

    @property
    def complete(self) -> bool:
        return self.problem is None and not self.passed_by


class _StillSending(Exception):
    """The issue's claim is held by the process a takeover took the schedule from: it is alive."""


def claim_next(*, store: Store, now: dt.datetime, handled: set[int]) -> ScheduleRow | None:
    """The next due schedule, taken by this process (one process only takes each), as it was before it was taken;
    None when none is left. `handled`: those this run went through already (one held back stays due)."""
    rows = Schedules(store.db)
    for found in rows.due(stored(now), stored(now - STALE)):
        if found.id in handled:
            continue
        with store.transaction():
            if rows.claim(found, CLAIMER, stored(now)):
                handled.add(found.id)
                return found
    return None


def still_ready(settings: Settings, issue: Issue, editions: tuple[str, ...]) -> str | None:
    """Why an edition the schedule was checked with can no longer go out, or None."""
    from ..edition import skipped_languages
    from .campaign import edition_map

    current = set(edition_map(settings, issue).values())
    lost = [language for language in editions if language not in current]
    if not lost:
        return None
    why = dict(skipped_languages(issue, settings.languages))
    return "; ".join(
        f"the {language} edition is no longer ready ({why.get(language, 'not approved')}): its readers "
        "would get another edition than the one checked"
        for language in lost
    )


def begin(
    *,
    settings: Settings,
    store: Store,
    schedule: ScheduleRow,
    recheck: bool = True,
    warnings: Callable[[list[str]], None] = lambda w: None,
    waiting: Callable[[str], None] = lambda holder: None,
    taken_over: bool = False,
) -> tuple[Sending | None, str | None]:
    """Check the claimed schedule again and start its send: (Sending, None), or (None, why it does not go out) with the
    schedule back to waiting and the reason kept on it, or (None, None) when it was taken over from a process that is
    still sending it (left to that process)."""
    from ..subscribers.segments import find_segment
    from ..workspace import load_issue
    from .service import start_or_resume

    rows = Schedules(store.db)
    try:
        issue = load_issue(settings, schedule.issue_id)
        segment = find_segment(settings.segments, schedule.segment)
        if recheck:
            problem = still_ready(settings, issue, schedule.editions)
            if problem:
                raise NewsletterError(problem)
            checked = check_send(
                settings=settings,
                store=store,
                issue=issue,
                segment=segment,
                backend_name=schedule.backend,
                again=schedule.again,
            )
            warnings(checked.warnings)
        sending = start_or_resume(
            settings=_for_batch(settings, schedule),
            store=store,
            issue=issue,
            segment=segment,
            backend_name=schedule.backend,
            again=schedule.again,
            wait=True,
            waiting=lambda holder: _wait(taken_over, holder, waiting),
        )
    except _StillSending:
        return None, None
    except NewsletterError as exc:
        with store.transaction():
            rows.release(schedule.id, problem=exc.message, at=_now())
        return None, exc.message
    with store.transaction():
        rows.set_campaign(schedule.id, sending.campaign.id)
    return sending, None


def settle(*, store: Store, schedule: ScheduleRow, sending: Sending, outcome: Outcome) -> GoneOut:
    """After the send: done when no reader is left open; otherwise waiting again, saying how many are open (the next
    `send --due` resumes it)."""
    counts = sending.counts()
    still = sum(n for states in counts.values() for state, n in states.items() if state in OPEN_STATES)
    problem = None
    if outcome.error is not None:
        problem = outcome.error.message
    elif still or outcome.interrupted:
        problem = f"{still:,} readers still open" + (f" ({outcome.stopped_by})" if outcome.stopped_by else "")
    rows = Schedules(store.db)
    with store.transaction():
        if problem is None:
            rows.finish(schedule.id, campaign_id=sending.campaign.id, at=_now())
        else:
            rows.release(schedule.id, problem=problem, at=_now())
    return GoneOut(rows.known(schedule.id), outcome, counts, problem)


def go_out(
    *,
    settings: Settings,
    store: Store,
    schedule: ScheduleRow,
    on_retry: Callable[[Retry], None] = lambda retry: None,
    warnings: Callable[[list[str]], None] = lambda w: None,
    waiting: Callable[[str], None] = lambda holder: None,
) -> GoneOut:
    """Check a schedule claim_due took again, and send it."""
    sending, problem = begin(
        settings=settings,
        store=store,
        schedule=schedule,
        warnings=warnings,
        waiting=waiting,
        taken_over=schedule.state == "sending",
    )
    if sending is None:
        return GoneOut(Schedules(store.db).known(schedule.id), None, {}, problem, passed_by=problem is None)
    try:
        outcome = sending.run(on_retry=on_retry)
    finally:
        sending.close()
    return settle(store=store, schedule=schedule, sending=sending, outcome=outcome)


def _wait(taken_over: bool, holder: str, waiting: Callable[[str], None]) -> None:
    """The issue's claim is held: a schedule taken over is left to its holder; any other waits for it."""
    if taken_over:
        raise _StillSending(holder)
    waiting(holder)


def _for_batch(settings: Settings, schedule: ScheduleRow) -> Settings:
    """Settings whose SendGrid requests carry the schedule's batch id, and its send_at while that is still ahead."""
    if schedule.batch_id is None:
        return settings
    due = dt.datetime.fromisoformat(schedule.due_at)
    grid = dataclasses.replace(
        settings.sending.sendgrid,
        batch_id=schedule.batch_id,
        send_at=int(due.timestamp()) if due > dt.datetime.now(dt.UTC) else None,
    )
    return dataclasses.replace(settings, sending=dataclasses.replace(settings.sending, sendgrid=grid))


def _now() -> str:
    return stored(dt.datetime.now(dt.UTC))
