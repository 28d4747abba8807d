"""What an SMTP sender has on the wire, kept in the ledger itself on a PostgreSQL store, where the next sender may
run on another host and so cannot read a file this one left (delivery/inflight.py, the SQLite store's way).

A message's row must say `sending` before its body goes: the row is then "may have it twice" should this process
die. Rather than a commit per message, the rows are marked in runs of AHEAD, in the order the connections take
them, one statement a run; the connection that finds fewer than AHEAD/2 marked rows left ahead of it marks the next
run while the others go on sending (a connection waits only when none is left). The rows the server took are
recorded as `sent` TAKEN at a time per connection, and the rest after each attempt at the batch; rows marked ahead
whose message never went (the batch stopped, the server refused a reader) are made `pending` again after it.

A killed sender leaves at most most_in_doubt(connections) rows in `sending`: the next sender sends them again and
says they may have it twice (a reader the server took twice is always among them). bench/RESULTS.md has what the
statements cost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .inflight import InFlight
from .ledger import Ledger

AHEAD = 16
TAKEN = 8


def most_in_doubt(connections: int) -> int:
    """The most rows a killed sender of so many connections leaves in `sending`: a run marked ahead and what was left
    of the run before (fewer than AHEAD/2: the next is marked then), and per connection the message on the wire, the
    next one's commands (PIPELINING) and the taken ones not yet recorded."""
    return AHEAD + AHEAD // 2 - 1 + connections * (TAKEN + 1)


class InFlightRows(InFlight):
    """The notes of InFlight, made as ledger rows: the same calls, nothing left in a file."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(None)
        self.ledger = ledger
        self.order: list[int] = []
        self.position: dict[int, int] = {}
        self.eligible: set[int] = set()
        self.marked: set[int] = set()  # marked `sending` ahead by this batch (not rows in doubt before)
        self.transmitted: set[int] = set()
        self.marked_to = 0  # the batch's rows before this index have been marked (or were in doubt already)
        self.extending = False  # a thread is marking the next rows
        self.changed = threading.Condition()

    def left_behind(self) -> tuple[set[int], set[int]]:
        """Nothing outside the ledger: a dead sender's rows are its `sending` rows, which the send loop reads."""
        return set(), set()

    def batch(self, row_ids: list[int], *, in_doubt: Iterable[int] = ()) -> None:
        """The rows the connections will send, in the order they take them; rows `in_doubt` are `sending` already
        and stay so."""
        with self.changed:
            self.order = list(row_ids)
            self.position = {row_id: index for index, row_id in enumerate(self.order)}
            self.eligible = set(self.order).difference(in_doubt)
            self.marked, self.transmitted = set(), set()
            self.marked_to = 0
            self.extending = False

    def mark(self, row_id: int) -> None:
        """This thread is about to transmit `row_id`: it is `sending` in the ledger when this returns. When fewer than
        AHEAD/2 marked rows are left ahead, this thread marks the next AHEAD while the others go on sending."""
        with self.changed:
            self.transmitted.add(row_id)
            index = self.position.get(row_id)
            if index is None:
                return
            while index >= self.marked_to and self.extending:
                self.changed.wait()
            if index < self.marked_to and (
                self.extending or self.marked_to - index > AHEAD // 2 or self.marked_to >= len(self.order)
            ):
                return
            self.extending = True
            start = self.marked_to
            end = min(max(index + 1, start) + AHEAD, len(self.order))
            ahead = [row for row in self.order[start:end] if row in self.eligible]
        done = False
        try:
            if ahead:
                self.ledger.mark_in_flight(ahead)
            done = True
        finally:
            with self.changed:
                if done:
                    self.marked.update(ahead)
                    self.marked_to = end
                self.extending = False
                self.changed.notify_all()

    def clear(self) -> None:
        """An answer was recorded for this thread's message (refused or deferred): the ledger says so already."""

    def take(self, row_id: int) -> bool:
        region = self._region()
        taken = self.regions[region]
        taken.append(row_id)
        return len(taken) >= TAKEN

    def committed(self, *, every_thread: bool = False) -> None:
        for region in range(len(self.regions)) if every_thread else [self._region()]:
            self.regions[region].clear()

    def settle(self) -> None:
        """After an attempt at the batch (no connection is sending): rows marked ahead whose message never went are
        `pending` again, not in doubt."""
        with self.changed:
            never_sent = self.marked - self.transmitted
            if never_sent:
                self.ledger.unmark_in_flight(never_sent)
            self.marked.clear()
            self.marked_to = len(self.order)  # nothing more is sent in this attempt

    def reset(self) -> None:
        for taken in self.regions:
            taken.clear()
