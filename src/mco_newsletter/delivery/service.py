"""The delivery service: everything `send` does apart from asking and printing.

`plan_send` reads; `start_or_resume` checks everything that can be checked (the editions rendered and
encoded, every reader resolved to an edition, the backend's settings and secrets), then claims the
issue, and only then writes: the campaign and its rows, or rows for readers who joined since.
`Sending.run` sends and returns the Outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config import Settings
from ..email_addresses import ascii_address
from ..errors import NewsletterError
from ..issue import Issue
from ..subscribers.segments import Segment
from ..subscribers.store import Store
from .backends import Backend, Recipient, make_backend
from .campaign import Plan, edition_map, fallback_of, plan_from, prepare_editions, signer_for, snapshot
from .inflight import InFlight
from .ledger import OPEN_STATES, Campaign, Ledger
from .locks import LOCKS, Claim, Transmissions
from .message import PreparedEdition
from .preflight import require_https
from .retry import TransientError
from .return_path import ReturnPaths
from .run import Outcome, Retry, SendLoop

if TYPE_CHECKING:
    from .shared_locks import SharedClaim, SharedTransmissions


def preflight_warnings(*, settings: Settings, issue: Issue, backend_name: str) -> list[str]:
    """What mail providers would hold against this send (delivery/preflight.py): shown with the plan."""
    from .preflight import send_warnings

    languages = sorted(set(edition_map(settings, issue).values()))
    return send_warnings(settings=settings, issue=issue, languages=languages, backend_name=backend_name)


def plan_send(*, settings: Settings, store: Store, issue: Issue, segment: Segment, again: bool = False) -> Plan:
    """What `send` would do now: readers to add per edition, rows still open, readers who already got it."""
    from ..subscribers.keys import shared
    from ..subscribers.tokens import unsubscribe_secret

    require_https(settings)
    if shared(store):  # a host without the shared store's keys stops before anything is planned or asked
        unsubscribe_secret(settings.private_dir, store=store)
    ledger = Ledger(store)
    campaign = ledger.find(issue.id, segment.name)
    audience = ledger.audience(issue_id=issue.id, segment=segment, campaign=campaign, again=again)
    open_rows = {}
    if campaign is not None:
        open_rows = {
            language: {state: n for state, n in states.items() if state in OPEN_STATES}
            for language, states in ledger.counts(campaign).items()
        }
        open_rows = {language: states for language, states in open_rows.items() if states}
    return plan_from(settings, issue, segment.name, campaign, audience, open_rows)


@dataclass
class Sending:
    """A claimed campaign, ready to run; close() releases the claim and the backend's connections."""

    ledger: Ledger
    campaign: Campaign
    editions: dict[str, PreparedEdition]
    backend: Backend
    secret: bytes
    settings: Settings
    claim: Claim | SharedClaim  # a SharedClaim on a PostgreSQL store
    transmissions: Transmissions | SharedTransmissions
    added: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    return_paths: ReturnPaths | None = None  # VERP over SMTP with [bounces]

    def run(
        self,
        *,
        progress: Callable[[int], None] = lambda n: None,
        on_retry: Callable[[Retry], None] = lambda retry: None,
    ) -> Outcome:
        if self.ledger.db.kind == "postgresql":  # the next sender may run on another host: notes in the ledger
            from .inflight_rows import InFlightRows

            in_flight: InFlight = InFlightRows(self.ledger)
        else:
            in_flight = InFlight(self.settings.private_dir / LOCKS / f"in-flight-{self.campaign.id}")
        try:
            loop = SendLoop(
                ledger=self.ledger,
                campaign=self.campaign,
                editions=self.editions,
                backend=self.backend,
                secret=self.secret,
                sending=self.settings.sending,
                stop=self.stop,
                window=self.transmissions.window,
                progress=progress,
                on_retry=on_retry,
                in_flight=in_flight,
                return_paths=self.return_paths,
            )
            return loop.run()
        finally:
            in_flight.close()

    def open_rows(self) -> int:
        return sum(
            n
            for states in self.ledger.counts(self.campaign).values()
            for state, n in states.items()
            if state in OPEN_STATES
        )

    def counts(self) -> dict[str, dict[str, int]]:
        return self.ledger.counts(self.campaign)

    def close(self) -> None:
        try:
            self.backend.close()
        finally:
            self.transmissions.close()
            self.claim.release()


def start_or_resume(
    *,
    settings: Settings,
    store: Store,
    issue: Issue,
    segment: Segment,
    backend_name: str,
    again: bool = False,
    wait: bool = False,
    waiting: Callable[[str], None] = lambda holder: None,
) -> Sending:
    """Check everything, claim the issue, then create the campaign or add the readers who joined since."""
    from ..subscribers.tokens import unsubscribe_secret

    require_https(settings)
    ledger = Ledger(store)
    editions = edition_map(settings, issue)  # refuses when the fallback edition is not approved
    fallback = fallback_of(settings, issue)
    found = ledger.find(issue.id, segment.name)
    needed = set(editions.values()) | set(ledger.languages(found) if found else ())
    signer = signer_for(settings, backend_name)
    prepared = prepare_editions(settings, issue, sorted(needed), signer=signer)
    secret = unsubscribe_secret(settings.private_dir, store=store)
    backend = make_backend(backend_name, settings)
    claim = transmissions = None
    try:
        claim = Claim.take(
            settings.private_dir, issue.id, segment=segment.name, wait=wait, waiting=waiting, store=store
        )
        transmissions = claim.transmissions()
        campaign = ledger.find(issue.id, segment.name)  # again: another sender may have made it while we waited
        added = 0
        if campaign is None:
            campaign = ledger.create(
                issue_id=issue.id,
                segment=segment,
                editions=editions,
                fallback=fallback,
                snapshot=snapshot(settings, backend_name),
                again=again,
            )
        else:
            added = ledger.add_readers(campaign, segment=segment, editions=editions, fallback=fallback, again=again)
        missing = set(ledger.languages(campaign)) - prepared.keys()
        if missing:  # rows made by a sender of another version of the settings: render those too
            prepared.update(prepare_editions(settings, issue, sorted(missing), signer=signer))
        backend.expect(prepared.values())
    except BaseException:
        backend.close()
        if transmissions is not None:
            transmissions.close()
        if claim is not None:
            claim.release()
        raise
    # SendGrid handles bounces itself (its own return path and the event webhook); the outbox has no envelope.
    return_paths = (
        ReturnPaths(secret=secret, address=settings.bounces.address, delimiter=settings.bounces.delimiter)
        if settings.bounces is not None and backend_name == "smtp"
        else None
    )
    return Sending(
        ledger, campaign, prepared, backend, secret, settings, claim, transmissions, added, return_paths=return_paths
    )


class _TestReport:
    """What a test send hears back: nothing is recorded."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.accepted_count = 0

    def starting(self, recipients) -> None:
        pass

    def accepted(self, pairs) -> None:
        self.accepted_count += len(pairs)

    def transmitting(self, recipient) -> None:
        pass

    def taken(self, recipient) -> None:
        self.accepted_count += 1

    def refused(self, row_id, error, *, bounce: bool = True) -> None:
        self.problems.append(error)

    def deferred(self, row_id, error) -> None:
        self.problems.append(error)


def send_test(
    *,
    settings: Settings,
    issue: Issue,
    backend_name: str,
    addresses: tuple[str, ...],
    sent: Callable[[str, str], None] = lambda language, address: None,
) -> list[tuple[str, str]]:
    """Send every edition once to each address, marked [TEST]; record nothing. `sent(language, address)` as each
    is accepted (an error after the first still leaves those said); all of them, in that order."""
    require_https(settings)
    languages = sorted(set(edition_map(settings, issue).values()))
    prepared = prepare_editions(
        settings, issue, languages, subject_prefix="[TEST] ", signer=signer_for(settings, backend_name)
    )
    backend = make_backend(backend_name, settings)
    backend.expect(prepared.values())
    done = []
    try:
        for language, edition in prepared.items():
            for address in addresses:
                report = _TestReport()
                try:
                    backend.send(edition, [Recipient(0, ascii_address(address), "test")], campaign_id=0, report=report)
                except TransientError as exc:
                    raise NewsletterError(
                        f"the [{language}] test message could not be sent via {backend_name}: {exc}",
                        hint="check that the server is reachable and its settings are right; nothing was recorded",
                    ) from None
                if report.problems or not report.accepted_count:
                    reason = report.problems[0] if report.problems else "no answer about the message"
                    raise NewsletterError(f"the [{language}] test message to {address} was not accepted: {reason}")
                sent(language, address)
                done.append((language, address))
    finally:
        backend.close()
    return done
