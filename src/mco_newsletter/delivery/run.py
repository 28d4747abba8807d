"""The send loop: take open ledger rows batch by batch, check each reader just before their batch goes
out, send, retry what the provider did not take, record every reader's outcome as it is known."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import groupby

from ..email_addresses import ascii_address
from ..errors import NewsletterError
from ..subscribers.tokens import make_token
from .backends import Backend, Recipient
from .inflight import InFlight
from .ledger import Campaign, Ledger, Work
from .message import PreparedEdition
from .retry import PermanentError, TransientError, backoff
from .return_path import ReturnPaths
from .settings import SendingSettings


@dataclass
class Outcome:
    """What one run of the loop did."""

    sent: int = 0
    refused: int = 0
    failed: int = 0
    skipped: int = 0
    retries: int = 0
    resent_after_crash: int = 0
    resent_unanswered: int = 0
    stopped_by: str | None = None
    error: NewsletterError | None = None
    interrupted: bool = False


@dataclass(frozen=True)
class Retry:
    """A retry about to happen, for the person watching: number `attempt` of `limit`, after `delay` seconds."""

    attempt: int
    limit: int
    readers: int
    reason: str
    delay: float
    deferred: bool = False


class BatchReport:
    """The Report a backend fills in for one attempt at one batch (several SMTP threads at once)."""

    def __init__(self, loop: SendLoop, recipients: list[Recipient]) -> None:
        self.loop = loop
        self.ledger = loop.ledger
        self.stop = loop.stop
        self.remaining = {recipient.row_id: recipient for recipient in recipients}
        self.started: set[int] = set()
        self.deferrals: dict[int, str] = {}
        self.lock = threading.Lock()

    def starting(self, recipients: list[Recipient]) -> None:
        ids = [recipient.row_id for recipient in recipients]
        self.ledger.mark(ids, "sending")
        with self.lock:
            self.started.update(ids)

    def accepted(self, pairs: Sequence[tuple[int, str | None]]) -> None:
        self.ledger.mark_sent(pairs, twice=self.loop.in_doubt(pairs))
        self._count_accepted(pairs)

    def transmitting(self, recipient: Recipient) -> None:
        self.loop.in_flight.mark(recipient.row_id)
        with self.lock:
            self.started.add(recipient.row_id)

    def taken(self, recipient: Recipient) -> None:
        # Noted beside the in-flight note at once (a killed process leaves the note for the next run),
        # committed as `sent` a region full at a time, and after the batch.
        in_flight = self.loop.in_flight
        if in_flight.take(recipient.row_id):
            taken = [(row_id, None) for row_id in in_flight.taken()]
            self.ledger.mark_sent(taken, twice=self.loop.in_doubt(taken), attempt=1)
            in_flight.committed()
        self._count_accepted([(recipient.row_id, None)])

    def _count_accepted(self, pairs) -> None:
        # The slot keeps this row until the thread's next message: a row found there later is ignored
        # once the ledger says `sent`.
        with self.lock:
            for row_id, _ in pairs:
                self.remaining.pop(row_id, None)
            self.loop.accepted([row_id for row_id, _ in pairs])

    def refused(self, row_id: int, error: str, *, bounce: bool = True) -> None:
        self.ledger.refuse(row_id, error, bounce=bounce)
        self.loop.in_flight.clear()
        with self.lock:
            self.remaining.pop(row_id, None)
            self.loop.finished(row_id, "refused")

    def deferred(self, row_id: int, error: str) -> None:
        self.ledger.mark([row_id], "failed", error=error, attempt=1)  # open: tried again later, or by a rerun
        self.loop.in_flight.clear()
        with self.lock:
            self.remaining.pop(row_id, None)
            self.deferrals[row_id] = error


class SendLoop:
    """Sends every open row of a campaign; stops at a permanent error, when retries run out, or on `stop`."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        campaign: Campaign,
        editions: dict[str, PreparedEdition],
        backend: Backend,
        secret: bytes,
        sending: SendingSettings,
        stop: threading.Event | None = None,
        window: Callable[[], AbstractContextManager[object]] = nullcontext,
        progress: Callable[[int], None] = lambda n: None,
        on_retry: Callable[[Retry], None] = lambda retry: None,
        rng: random.Random | None = None,
        in_flight: InFlight | None = None,
        return_paths: ReturnPaths | None = None,
    ) -> None:
        self.ledger, self.campaign, self.editions, self.backend = ledger, campaign, editions, backend
        self.return_paths = return_paths
        self.in_flight = in_flight or InFlight(None)
        self.secret, self.sending, self.window = secret, sending, window
        self.stop = stop or threading.Event()
        self.progress, self.on_retry, self.rng = progress, on_retry, rng
        self.outcome = Outcome()
        self.deferred: dict[int, str] = {}
        # Rows whose earlier transmission may have been accepted: a dead process's `sending` rows, and
        # rows of a request that got no answer. Sent again, they are counted as "may have it twice" (`resent`
        # until the ledger records them, which flags them so for good).
        self.doubtful: dict[int, str] = {}
        self.resent: set[int] = set()

    @property
    def halted(self) -> bool:
        return self.outcome.stopped_by is not None or self.stop.is_set()

    def run(self) -> Outcome:
        on_wire, taken = self.in_flight.left_behind()
        if taken:  # messages the server took from a killed sender before it recorded them
            self.ledger.record_taken(taken)
        if on_wire - taken:  # messages a killed sender had on the wire: from now on the ledger holds them as `sending`
            self.ledger.mark_in_flight(on_wire - taken)
        self.in_flight.reset()
        self.doubtful = dict.fromkeys(self.ledger.in_flight(self.campaign), "crash")
        size = self.backend.batch_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetch:
            for language in self.ledger.languages(self.campaign):
                if self.halted:
                    break
                upcoming = prefetch.submit(self._read, language, 0, size)
                while not self.halted:
                    rows, recipients = upcoming.result()
                    if not rows:
                        break
                    # Read the next batch (and make its links) while this one is on the wire; reading marks
                    # nothing, and each reader's state is checked again just before their batch goes out.
                    upcoming = prefetch.submit(self._read, language, rows[-1].row_id, size)
                    self._batch(self.editions[language], rows, recipients)
        self._retry_deferred()
        # Every answer is in the ledger now, and every message without one is `sending` there: the notes of
        # what was on the wire are for a process that dies, not for the next run after this one.
        self.in_flight.reset()
        self.outcome.interrupted = self.stop.is_set()
        if not self.halted and not self.ledger.languages(self.campaign):
            self.ledger.finish(self.campaign)
        return self.outcome

    def _read(self, language: str, after: int, size: int) -> tuple[list[Work], dict[int, Recipient]]:
        rows = self.ledger.work(self.campaign, language, after=after, limit=size)
        return rows, {row.row_id: self._recipient(row) for row in rows if row.status == "active"}

    def _recipient(self, row: Work) -> Recipient:
        assert row.email is not None and row.nonce is not None, "an active reader's row names them"
        token = make_token(self.secret, row.subscriber_id, row.nonce)
        if self.return_paths is None:
            return Recipient(row.row_id, ascii_address(row.email), token)
        return Recipient(
            row.row_id, ascii_address(row.email), token, self.return_paths.for_delivery(row.row_id, row.email)
        )

    def in_doubt(self, pairs: Sequence[tuple[int, str | None]]) -> set[int]:
        """Of these accepted rows, those that were in doubt before: their readers may have it twice."""
        return {row_id for row_id, _ in pairs if row_id in self.doubtful or row_id in self.resent}

    def accepted(self, row_ids: list[int]) -> None:
        """Called (under the report's lock) for rows the provider took."""
        self.outcome.sent += len(row_ids)
        for row_id in row_ids:
            reason = self.doubtful.pop(row_id, None)
            if reason is not None:
                self.resent.add(row_id)
            if reason == "crash":
                self.outcome.resent_after_crash += 1
            elif reason == "unanswered":
                self.outcome.resent_unanswered += 1
        self.progress(len(row_ids))

    def finished(self, row_id: int, state: str) -> None:
        self.doubtful.pop(row_id, None)
        if state == "refused":
            self.outcome.refused += 1
        self.progress(1)

    def _batch(self, edition: PreparedEdition, rows: list[Work], made: dict[int, Recipient] | None = None) -> None:
        made = made or {}
        attempt = 0
        while rows and not self.halted:
            report = None
            error: TransientError | None = None
            with self.window():
                rows = self._still_active(rows)
                if not rows:
                    return
                recipients = [made.get(row.row_id) or self._recipient(row) for row in rows]
                report = BatchReport(self, recipients)
                self.in_flight.batch([recipient.row_id for recipient in recipients], in_doubt=self.doubtful.keys())
                try:
                    try:
                        self.backend.send(edition, recipients, campaign_id=self.campaign.id, report=report)
                    finally:
                        self._commit_taken()
                        self.in_flight.settle()
                    if report.remaining and not self.stop.is_set():
                        error = TransientError("the backend did not report on every reader")
                except PermanentError as exc:
                    # Refused as a whole: none of it went out (rows already in doubt stay so).
                    self.ledger.mark(report.remaining.keys() - self.doubtful.keys(), "pending")
                    self.outcome.error, self.outcome.stopped_by = exc, exc.message
                except TransientError as exc:
                    error = exc
            self.deferred.update(report.deferrals)
            if error is None:
                return
            unanswered = error.unanswered & report.remaining.keys()
            if unanswered:  # recorded as possibly received, should this run die before sending them again
                self.ledger.mark(unanswered, "sending")
            self.doubtful.update(dict.fromkeys(unanswered, "unanswered"))
            answered = (report.started & report.remaining.keys()) - unanswered - self.doubtful.keys()
            if answered:  # the provider's answer says these were not taken
                self.ledger.mark(answered, "pending")
            # The readers the server never answered go first on the retry: a reader it keeps closing the
            # connection on (421 at their message's end) must not take the readers behind them down with it.
            left = sorted(
                (row for row in rows if row.row_id in report.remaining), key=lambda row: row.row_id in report.started
            )
            if not left:  # the other connections carried everyone: nothing to try again
                return
            attempt += 1
            if attempt > self.sending.max_retries:
                # Rows in doubt (no answer, or left by a crash) stay `sending`: a rerun counts them as
                # possibly received.
                self.ledger.mark(
                    [row.row_id for row in left if row.row_id not in self.doubtful], "failed", error=str(error)
                )
                self.outcome.failed += len(left)
                self.progress(len(left))
                self.outcome.stopped_by = f"gave up after {self.sending.max_retries} retries: {error}"
                return
            delay = (
                min(error.retry_after, self.sending.rate_limit_max_wait_seconds)
                if error.retry_after is not None
                else backoff(attempt, self.sending.retry_base_seconds, self.sending.retry_max_seconds, self.rng)
            )
            self.outcome.retries += 1
            self.on_retry(Retry(attempt, self.sending.max_retries, len(left), str(error), delay))
            if self.stop.wait(delay):
                return
            rows = left

    def _commit_taken(self) -> None:
        """Record as sent what the connections noted as taken (no connection is sending now)."""
        taken = [(row_id, None) for row_id in self.in_flight.taken(every_thread=True)]
        if taken:
            self.ledger.mark_sent(taken, twice=self.in_doubt(taken), attempt=1)
            self.in_flight.committed(every_thread=True)

    def _still_active(self, rows: list[Work]) -> list[Work]:
        """The rows whose reader is still on the list and active now; the others are left out (`skipped`, or
        `maybe_sent` when their message may have reached them before they left)."""
        active = self.ledger.still_active([row.row_id for row in rows])
        gone = [row.row_id for row in rows if row.row_id not in active]
        if gone:
            self.ledger.leave_out(gone, in_doubt=set(self.doubtful))
            self.outcome.skipped += len(gone)
            for row_id in gone:
                self.doubtful.pop(row_id, None)
            self.progress(len(gone))
        return [row for row in rows if row.row_id in active] if gone else rows

    def _retry_deferred(self) -> None:
        """Readers the server put off (4xx for them alone) get their own retries, after everyone else."""
        attempt = 0
        while self.deferred and not self.halted:
            attempt += 1
            if attempt > self.sending.max_retries:
                self.outcome.failed += len(self.deferred)
                self.progress(len(self.deferred))
                self.outcome.stopped_by = (
                    f"{len(self.deferred)} readers still deferred by the server after "
                    f"{self.sending.max_retries} retries: {next(reversed(self.deferred.values()))}"
                )
                return
            delay = backoff(attempt, self.sending.retry_base_seconds, self.sending.retry_max_seconds, self.rng)
            self.outcome.retries += 1
            self.on_retry(
                Retry(
                    attempt,
                    self.sending.max_retries,
                    len(self.deferred),
                    next(reversed(self.deferred.values())),
                    delay,
                    deferred=True,
                )
            )
            if self.stop.wait(delay):
                return
            rows = sorted(self.ledger.rows(list(self.deferred)), key=lambda pair: pair[0])
            self.deferred.clear()
            for language, group in groupby(rows, key=lambda pair: pair[0]):
                self._batch(self.editions[language], [work for _, work in group])
