"""What providers and mailboxes report about readers, applied to their status and the ledger: one set of rules
for SendGrid's event webhook (web/events.py) and the bounce mailbox (bounces/), each report applied once.

- A bounce (the address is gone) bounces the reader; a complaint (they marked the digest as spam) makes them
  `complained`, which nothing later softens; an unsubscribe request unsubscribes them.
- A block (the receiving provider refusing the sender for now: its reputation, a policy) is not the reader's
  doing: it is noted on the ledger row and changes nothing about the reader.
- A soft bounce (a full mailbox, a server that stayed unreachable until the message expired) is noted on its
  ledger row; only a reader whose last SOFT_BOUNCES_IN_A_ROW messages all soft-bounced is marked bounced.
  SendGrid never reports one: it retries deferred mail itself for 72 hours and reports the end as a bounce
  or a block.
- A delay or a deferral (the server still tries) changes nothing.

A report that names a ledger row applies only when that row exists, belongs to the report's campaign and was
sent to the report's address, so a late report can never reach another reader; one without a row is matched
by address. Report ids already applied (SendGrid's sg_event_id, a mail's digest) change nothing.

What `report` shows comes from here too, as counts that name nobody (storage/report_rows.py): a complaint or an
unsubscribe naming a ledger row is tallied for that row's campaign and edition when it changes the reader (a second
report about the same reader counts once); a report that names no row of ours, matched to a reader by address or to
nobody, is counted per day, source and kind instead of being dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from ..email_addresses import address_key
from ..storage.dialect import now
from ..storage.report_rows import Tallies
from ..subscribers.store import Store
from .ledger import Ledger

BOUNCE, DROPPED, BLOCKED, SOFT_BOUNCE = "bounce", "dropped", "blocked", "soft_bounce"
COMPLAINT, UNSUBSCRIBE, DELIVERED, DEFERRED, OTHER = "complaint", "unsubscribe", "delivered", "deferred", "other"
# The reader status each kind means. DROPPED is SendGrid's "not sent: the address bounced before".
STATUS_FOR = {BOUNCE: "bounced", DROPPED: "bounced", COMPLAINT: "complained", UNSUBSCRIBE: "unsubscribed"}
# The kinds noted on the ledger row they name (the provider's last word about that message). A deferral is noted
# too, but only on a row with no later word (Tallies.note_deferred): events may arrive out of order.
LEDGER_NOTES = (DELIVERED, BOUNCE, BLOCKED, SOFT_BOUNCE, DROPPED)
# The reader actions tallied for the campaign whose message they name, and the status each one leaves behind.
TALLIED = {COMPLAINT: "complained", UNSUBSCRIBE: "unsubscribed"}
KINDS = set(STATUS_FOR) | set(LEDGER_NOTES) | {DEFERRED, OTHER}
# One soft bounce is a full mailbox that may empty; the same answer to three issues in a row is a dead one.
SOFT_BOUNCES_IN_A_ROW = 3


class Feedback(NamedTuple):
    """One report about one reader: `kind` one of KINDS (anything else is counted as unknown)."""

    report_id: str
    kind: str
    email: str | None
    campaign: int | None
    delivery: int | None


@dataclass
class Applied:
    """What became of a list of reports: `kinds` counts those applied, by kind."""

    applied: int = 0
    duplicates: int = 0
    unknown: int = 0
    unmatched: int = 0
    kinds: Counter = field(default_factory=Counter)
    worn_out: int = 0  # readers marked bounced because their last messages all soft-bounced


def apply_feedback(
    *, store: Store, reports: list[Feedback], dry_run: bool = False, source: str = "webhook", malformed: int = 0
) -> Applied:
    """Apply new reports in one transaction (dry_run: count what would apply, change nothing). `source` ("webhook",
    "mailbox") and `malformed` (reports of the batch that could not be read) go into the counts of unmatched reports."""
    done = Applied()
    ledger = Ledger(store)
    tallies = Tallies(store.db)
    at = now()
    unmatched: Counter = Counter()
    if malformed:
        unmatched[at[:10], source, "malformed", False] += malformed
    with store.transaction():
        ids = [report.report_id for report in reports]
        if dry_run:
            new = set(ids) - ledger.seen_events(ids)
        else:  # claimed first: another replica applying the same reports at once gets none of them
            new = ledger.claim_events(ids, at)
        fresh = []
        for report in reports:
            if report.report_id not in new:
                done.duplicates += 1
                continue
            new.discard(report.report_id)
            fresh.append(report)
        statuses, notes, soft, deferred, tallied = [], [], set(), [], []
        changed: dict = {}
        for report in fresh:
            if report.kind not in KINDS:
                done.unknown += 1
                unmatched[at[:10], source, "unknown", False] += 1
                continue
            if report.kind not in STATUS_FOR and report.delivery is None:
                done.applied += 1  # nothing to change (a delay, an open …): counted, looked up nowhere
                done.kinds[report.kind] += 1
                unmatched[at[:10], source, report.kind, False] += 1
                continue
            subscriber_id = _reader(store, ledger, report)
            if subscriber_id is None:
                done.unmatched += 1
                unmatched[at[:10], source, report.kind, False] += 1
                continue
            if report.delivery is None:  # applied to the reader the address names; no campaign to count it for
                unmatched[at[:10], source, report.kind, True] += 1
            if report.kind in STATUS_FOR:
                statuses.append((subscriber_id, STATUS_FOR[report.kind]))
            if report.kind in TALLIED and report.delivery is not None:
                before = changed.get(subscriber_id) or _status(store, subscriber_id)
                if _changes(before, report.kind):
                    tallied.append((report.delivery, report.kind))
                    changed[subscriber_id] = TALLIED[report.kind]
            if report.kind in LEDGER_NOTES and report.delivery is not None:
                notes.append((report.kind, report.delivery))
                if report.kind == SOFT_BOUNCE:
                    soft.add(subscriber_id)
            elif report.kind == DEFERRED and report.delivery is not None:
                deferred.append(report.delivery)
            done.applied += 1
            done.kinds[report.kind] += 1
        if dry_run:
            return done
        ledger.note_events(notes, at)
        tallies.note_deferred(deferred, at)
        tallies.add_for_delivery(tallied)
        tallies.add_unmatched(unmatched)
        if soft:
            worn_out = ledger.soft_bounced_in_a_row(sorted(soft), SOFT_BOUNCES_IN_A_ROW)
            done.worn_out = len(worn_out)
            statuses += [(subscriber_id, "bounced") for subscriber_id in worn_out]
        store.set_statuses(statuses, at)
    return done


def _status(store: Store, subscriber_id: int) -> str | None:
    contact = store.contact(subscriber_id=subscriber_id)
    return contact.status if contact else None


def _changes(status: str | None, kind: str) -> bool:
    """Whether a report of this kind changes a reader of this status (set_statuses' rules): a complaint changes
    anyone not complained yet; an unsubscribe only an active reader (the same reader's second report counts once)."""
    if kind == COMPLAINT:
        return status != "complained"
    return status == "active"


def _reader(store: Store, ledger: Ledger, report: Feedback) -> int | None:
    """The subscriber the report is about: by its ledger row when it names one (row, campaign and address
    must agree), otherwise by its address."""
    if report.delivery is not None:
        owner = ledger.row_owner(report.delivery)
        if owner is None or owner[0] != report.campaign or report.email is None:
            return None
        email = store.email_of(owner[1])
        return owner[1] if email is not None and address_key(email) == address_key(report.email) else None
    return store.id_of(report.email) if report.email else None
