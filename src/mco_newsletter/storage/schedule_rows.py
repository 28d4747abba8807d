"""The statements of scheduled sends (delivery/schedule.py, delivery/due.py): one row per `send --at`.

A row is `waiting` (for its time, or, handed to SendGrid in part, for the rest of its hand-over), `sending` (a
process works on it: claimed by one conditional update, so two `send --due` started together never both take it),
`done` or `cancelled`. At most one waiting or sending row per issue and segment (a unique index).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from .database import Database

COLUMNS = (
    "id, issue_id, segment, backend, again, due_at, time_zone, editions, batch_id, state, problem, problem_at,"
    " campaign_id, claimed_by, claimed_at, created_at, finished_at"
)


class ScheduleRow(NamedTuple):
    id: int
    issue_id: str
    segment: str
    backend: str
    again: bool
    due_at: str  # UTC, as the store keeps times
    time_zone: str
    editions: tuple[str, ...]  # the edition languages checked when it was scheduled
    batch_id: str | None  # SendGrid's batch: handed to SendGrid with send_at
    state: str
    problem: str | None  # why it did not go out when it was due (the schedule stays)
    problem_at: str | None
    campaign_id: int | None
    claimed_by: str | None
    claimed_at: str | None
    created_at: str
    finished_at: str | None


def _maybe_row(found) -> ScheduleRow | None:
    return None if found is None else _row(found)


def _row(found) -> ScheduleRow:
    values = list(found)
    values[4] = bool(values[4])
    values[7] = tuple(json.loads(values[7]))
    return ScheduleRow(*values)


class Schedules:
    """schedules: sends waiting for their time."""

    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        *,
        issue_id: str,
        segment: str,
        backend: str,
        again: bool,
        due_at: str,
        time_zone: str,
        editions: list[str],
        batch_id: str | None,
        created_at: str,
        claimed_by: str | None = None,
    ) -> int:
        """A new schedule (claimed by `claimed_by` at once when it is handed over now); its id."""
        return self.db.value(
            "INSERT INTO schedules (issue_id, segment, backend, again, due_at, time_zone, editions, batch_id, state,"
            " claimed_by, claimed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                issue_id,
                segment,
                backend,
                int(again),
                due_at,
                time_zone,
                json.dumps(sorted(editions)),
                batch_id,
                "sending" if claimed_by else "waiting",
                claimed_by,
                created_at if claimed_by else None,
                created_at,
            ),
        )

    def get(self, schedule_id: int) -> ScheduleRow | None:
        return _maybe_row(self.db.one(f"SELECT {COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)))

    def known(self, schedule_id: int) -> ScheduleRow:
        """A schedule that is there (one this process added or holds): a missing one is a bug, not a user's error."""
        found = self.get(schedule_id)
        if found is None:
            raise LookupError(f"schedule #{schedule_id} is not in the store")
        return found

    def open_for(self, issue_id: str, segment: str, now: str) -> ScheduleRow | None:
        """The schedule that holds this issue and segment: waiting, being sent, or handed to SendGrid for a time still
        ahead."""
        return _maybe_row(
            self.db.one(
                f"SELECT {COLUMNS} FROM schedules WHERE issue_id = ? AND segment = ?"
                " AND (state IN ('waiting', 'sending')"
                " OR (state = 'done' AND batch_id IS NOT NULL AND due_at > ?)) ORDER BY id DESC LIMIT 1",
                (issue_id, segment, now),
            )
        )

    def listed(self, now: str, *, every: bool = False) -> list[ScheduleRow]:
        """The schedules still to go, handed to SendGrid ones included until their time (every one, with `every`),
        soonest first."""
        if every:
            return [_row(found) for found in self.db.all(f"SELECT {COLUMNS} FROM schedules ORDER BY due_at, id")]
        return [
            _row(found)
            for found in self.db.all(
                f"SELECT {COLUMNS} FROM schedules WHERE state IN ('waiting', 'sending') OR (state = 'done' AND batch_id"
                " IS NOT NULL AND due_at > ?) ORDER BY due_at, id",
                (now,),
            )
        ]

    def due(self, now: str, stale_before: str) -> list[ScheduleRow]:
        """What `send --due` takes: waiting ones whose time came (or with a hand-over to SendGrid to finish), and
        ones left `sending` by a process that has not been heard of since `stale_before`."""
        return [
            _row(found)
            for found in self.db.all(
                f"SELECT {COLUMNS} FROM schedules WHERE (state = 'waiting' AND (due_at <= ? OR batch_id IS NOT NULL))"
                " OR (state = 'sending' AND claimed_at <= ?) ORDER BY due_at, id",
                (now, stale_before),
            )
        ]

    def claim(self, schedule: ScheduleRow, claimer: str, at: str) -> bool:
        """Take the schedule for this process; False when another took it first (one conditional update)."""
        if schedule.state == "waiting":
            found = self.db.one(
                "UPDATE schedules SET state = 'sending', claimed_by = ?, claimed_at = ?"
                " WHERE id = ? AND state = 'waiting' RETURNING id",
                (claimer, at, schedule.id),
            )
        else:  # taken over from a process gone quiet: only if nobody else took it over since
            found = self.db.one(
                "UPDATE schedules SET claimed_by = ?, claimed_at = ? WHERE id = ? AND state ="
                " 'sending' AND claimed_by = ? RETURNING id",
                (claimer, at, schedule.id, schedule.claimed_by),
            )
        return found is not None

    def release(self, schedule_id: int, *, problem: str | None, at: str) -> None:
        """Back to waiting, with why it did not go out (or was not finished)."""
        self.db.execute(
            "UPDATE schedules SET state = 'waiting', problem = ?, problem_at = ?, claimed_by = NULL,"
            " claimed_at = NULL WHERE id = ? AND state = 'sending'",
            (problem, at, schedule_id),
        )

    def finish(self, schedule_id: int, *, campaign_id: int, at: str) -> None:
        self.db.execute(
            "UPDATE schedules SET state = 'done', campaign_id = ?, finished_at = ?, problem = NULL,"
            " problem_at = NULL, claimed_by = NULL, claimed_at = NULL WHERE id = ?",
            (campaign_id, at, schedule_id),
        )

    def set_campaign(self, schedule_id: int, campaign_id: int) -> None:
        self.db.execute("UPDATE schedules SET campaign_id = ? WHERE id = ?", (campaign_id, schedule_id))

    def cancel(self, schedule_id: int, at: str, *, states: tuple[str, ...]) -> bool:
        """Cancelled, when it is in one of `states`; False when it was not (another process moved it)."""
        marks = ", ".join("?" * len(states))
        return (
            self.db.one(
                f"UPDATE schedules SET state = 'cancelled', finished_at = ?, claimed_by = NULL WHERE id = ?"
                f" AND state IN ({marks}) RETURNING id",
                (at, schedule_id, *states),
            )
            is not None
        )

    def reopen_batch(self, campaign_id: int, at: str) -> int:
        """A cancelled SendGrid batch: the rows of its campaign that were handed over (all of them went in that batch:
        a campaign is handed to SendGrid only when the schedule made it) go back to `pending`, since SendGrid discards
        a cancelled batch's messages at its time; how many."""
        self.db.execute("UPDATE campaigns SET finished_at = NULL WHERE id = ?", (campaign_id,))
        return self.db.execute(
            "UPDATE deliveries SET state = 'pending', provider_id = NULL, updated_at = ?"
            " WHERE campaign_id = ? AND state = 'sent'",
            (at, campaign_id),
        ).rowcount
