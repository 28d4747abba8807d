"""The send loop: take open ledger rows batch by batch, send, retry what the provider did not take, record."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ..subscribers.tokens import make_token
from .backends import Backend, Recipient
from .ledger import Campaign, Ledger, Work
from .message import PreparedEdition
from .retry import PermanentError, TransientError, backoff
from .settings import SendingSettings


@dataclass
class Outcome:
    """What one run of the loop did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    resent_after_crash: int = 0
    retries: int = 0
    stopped_by: str | None = None
    errors: list[str] = field(default_factory=list)


def deliver(*, ledger: Ledger, campaign: Campaign, editions: dict[str, PreparedEdition], backend: Backend,
            secret: bytes, sending: SendingSettings, progress: Callable[[int], None] = lambda n: None,
            sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> Outcome:
    """Send every open row of the campaign; stop at a permanent error or when retries run out."""
    outcome = Outcome()
    size = backend.batch_size
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetch:
        for language in ledger.languages(campaign):
            edition = editions[language]
            upcoming = prefetch.submit(_next_batch, ledger, campaign, language, 0, size, secret)
            while outcome.stopped_by is None:
                rows, recipients = upcoming.result()
                if not rows:
                    break
                # Read the next batch while this one is on the wire. Reading marks nothing, so the crash
                # window stays one request.
                upcoming = prefetch.submit(_next_batch, ledger, campaign, language, rows[-1].row_id, size, secret)
                _drop_inactive(ledger, rows, outcome, progress)
                outcome.resent_after_crash += sum(1 for row in rows if row.state == "sending")
                if recipients:
                    _send_batch(ledger, campaign, edition, recipients, backend, sending, outcome, progress, sleep, rng)
    if outcome.stopped_by is None and not ledger.languages(campaign):
        ledger.finish(campaign)
    return outcome


def _next_batch(ledger: Ledger, campaign: Campaign, language: str, after: int, limit: int,
                secret: bytes) -> tuple[list[Work], list[Recipient]]:
    rows = ledger.work(campaign, language, after=after, limit=limit)
    return rows, [Recipient(row.row_id, row.email, make_token(secret, row.subscriber_id))
                  for row in rows if row.status == "active"]


def _drop_inactive(ledger: Ledger, rows: list[Work], outcome: Outcome, progress) -> None:
    """Readers who left (or were erased) since the campaign started get nothing."""
    gone = [row.row_id for row in rows if row.status != "active"]
    if gone:
        ledger.mark(gone, "skipped")
        outcome.skipped += len(gone)
        progress(len(gone))


def _send_batch(ledger, campaign, edition, recipients, backend, sending, outcome, progress, sleep, rng) -> None:
    remaining = {recipient.row_id: recipient for recipient in recipients}

    def accepted(pairs: list[tuple[int, str | None]]) -> None:
        ledger.mark_sent(pairs)
        for row_id, _ in pairs:
            remaining.pop(row_id, None)
        outcome.sent += len(pairs)
        progress(len(pairs))

    def failed(row_id: int, error: str) -> None:
        ledger.mark([row_id], "failed", error=error)
        remaining.pop(row_id, None)
        outcome.failed += 1
        progress(1)

    attempt = 0
    while remaining:
        batch = list(remaining.values())
        # Committed before the request: rows found in `sending` after a crash may have reached the provider.
        ledger.mark([r.row_id for r in batch], "sending")
        try:
            backend.send(edition, batch, campaign_id=campaign.id, accepted=accepted, failed=failed)
            if remaining:  # a backend that returned without a word on some readers: try those again
                raise TransientError("the backend did not report on every reader")
        except PermanentError as exc:
            ledger.mark(list(remaining), "pending")  # refused as a whole: nothing of it went out
            outcome.stopped_by = exc.message
            raise
        except TransientError as exc:
            attempt += 1
            outcome.retries += 1
            if attempt > sending.max_retries:
                ledger.mark(list(remaining), "failed", error=str(exc))
                outcome.failed += len(remaining)
                progress(len(remaining))
                outcome.errors.append(str(exc))
                outcome.stopped_by = f"gave up after {sending.max_retries} retries: {exc}"
                return
            if exc.retry_after is not None:
                delay = min(exc.retry_after, sending.rate_limit_max_wait_seconds)
            else:
                delay = backoff(attempt, sending.retry_base_seconds, sending.retry_max_seconds, rng)
            sleep(delay)
