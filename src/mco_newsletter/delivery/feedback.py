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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from ..storage.dialect import now
from ..subscribers.store import Store
from ..email_addresses import address_key
from .ledger import Ledger

BOUNCE, DROPPED, BLOCKED, SOFT_BOUNCE = "bounce", "dropped", "blocked", "soft_bounce"
COMPLAINT, UNSUBSCRIBE, DELIVERED, DEFERRED, OTHER = "complaint", "unsubscribe", "delivered", "deferred", "other"
# The reader status each kind means. DROPPED is SendGrid's "not sent: the address bounced before".
STATUS_FOR = {BOUNCE: "bounced", DROPPED: "bounced", COMPLAINT: "complained", UNSUBSCRIBE: "unsubscribed"}
# The kinds noted on the ledger row they name (the provider's last word about that message).
LEDGER_NOTES = (DELIVERED, BOUNCE, BLOCKED, SOFT_BOUNCE)
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


def apply_feedback(*, store: Store, reports: list[Feedback], dry_run: bool = False) -> Applied:
    """Apply new reports in one transaction (dry_run: count what would apply, change nothing)."""
    done = Applied()
    ledger = Ledger(store)
    at = now()
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
        statuses, notes, soft = [], [], set()
        for report in fresh:
            if report.kind not in KINDS:
                done.unknown += 1
                continue
            if report.kind not in STATUS_FOR and report.delivery is None:
                done.applied += 1  # nothing to change (a delay, an open …): counted, looked up nowhere
                done.kinds[report.kind] += 1
                continue
            subscriber_id = _reader(store, ledger, report)
            if subscriber_id is None:
                done.unmatched += 1
                continue
            if report.kind in STATUS_FOR:
                statuses.append((subscriber_id, STATUS_FOR[report.kind]))
            if report.kind in LEDGER_NOTES and report.delivery is not None:
                notes.append((report.kind, report.delivery))
                if report.kind == SOFT_BOUNCE:
                    soft.add(subscriber_id)
            done.applied += 1
            done.kinds[report.kind] += 1
        if dry_run:
            return done
        ledger.note_events(notes, at)
        if soft:
            worn_out = ledger.soft_bounced_in_a_row(sorted(soft), SOFT_BOUNCES_IN_A_ROW)
            done.worn_out = len(worn_out)
            statuses += [(subscriber_id, "bounced") for subscriber_id in worn_out]
        store.set_statuses(statuses, at)
    return done


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
