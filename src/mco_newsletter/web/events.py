"""SendGrid event webhook payloads → the reports delivery/feedback.py applies (its rules, each event once).

Each event is checked on its own and put in the tool's words: a `bounce` of type `blocked` is a block, a
`spamreport` a complaint. An event that names a ledger row (the `delivery` custom argument `send` attached)
applies only when that row exists, belongs to the event's campaign and was sent to the event's address. A
malformed event in a signed batch is counted and skipped; it, and every event that names no delivery of ours, is
counted per day for `report` (delivery/feedback.py).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple

from ..delivery import feedback
from ..delivery.feedback import Feedback, apply_feedback
from ..subscribers.store import Store

# SendGrid's event types in the tool's words (feedback.py); a `bounce` of type `blocked` is a block.
KIND_OF = {
    "bounce": feedback.BOUNCE,
    "dropped": feedback.DROPPED,
    "spamreport": feedback.COMPLAINT,
    "unsubscribe": feedback.UNSUBSCRIBE,
    "group_unsubscribe": feedback.UNSUBSCRIBE,
    "delivered": feedback.DELIVERED,
    "deferred": feedback.DEFERRED,
    "processed": feedback.OTHER,
    "open": feedback.OTHER,
    "click": feedback.OTHER,
    "group_resubscribe": feedback.OTHER,
}
log = logging.getLogger("mco_newsletter.web")
_ID = re.compile(r"[0-9]{1,18}")  # SQLite integers; anything longer names no row of ours
MAX_TEXT = 512
MAX_DIGITS = 40  # no number SendGrid sends is longer; a longer one makes its event malformed
MAX_DEPTH = 20  # an event nested deeper than this is not SendGrid's


class MalformedEvents(ValueError):
    """The payload is not a JSON list."""


class _Unreadable:
    """A number in an event that no event of ours holds (longer than Python reads by default): the event that
    holds it is malformed, the batch around it is not."""


@dataclass
class EventReport:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    unknown: int = 0
    unmatched: int = 0
    invalid: int = 0


class Event(NamedTuple):
    """The parts of one event that are used, each checked."""

    event_id: str
    kind: str
    email: str | None
    campaign: int | None
    delivery: int | None
    blocked: bool


def parse_events(body: bytes) -> list:
    """The items of a webhook body, or MalformedEvents (whose words are ours: the parser's are not shown)."""
    try:
        events = json.loads(body, parse_int=_integer)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedEvents("not a JSON list of events") from None
    if not isinstance(events, list):
        raise MalformedEvents("not a JSON list of events")
    return events


def _integer(digits: str) -> int | _Unreadable:
    # int() refuses more than 4,300 digits (CVE-2020-10735); SendGrid's numbers are timestamps and ids.
    return int(digits) if len(digits) <= MAX_DIGITS else _Unreadable()


def _holds_unreadable(value, depth: int = 0) -> bool:
    if isinstance(value, _Unreadable):
        return True
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return False
    return any(_holds_unreadable(item, depth + 1) for item in value) if depth < MAX_DEPTH else True


def checked(item: object) -> Event | None:
    """The event, or None when a value it needs is missing or malformed."""
    if not isinstance(item, dict) or _holds_unreadable(item):
        return None
    event_id, kind, email = item.get("sg_event_id"), item.get("event"), item.get("email")
    if not (
        isinstance(event_id, str)
        and 0 < len(event_id) <= MAX_TEXT
        and isinstance(kind, str)
        and len(kind) <= MAX_TEXT
        and (email is None or (isinstance(email, str) and len(email) <= MAX_TEXT))
    ):
        return None
    numbers: list[int | None] = []
    for key in ("campaign", "delivery"):
        value = item.get(key)
        if value is None:
            numbers.append(None)
        elif isinstance(value, str) and _ID.fullmatch(value):
            numbers.append(int(value))
        else:
            return None  # custom_args arrive as strings; anything else is not ours
    return Event(event_id, kind, email, numbers[0], numbers[1], kind == "bounce" and item.get("type") == "blocked")


def apply_events(store: Store, items: list) -> EventReport:
    """Apply new events in one transaction; events seen before (same sg_event_id) change nothing."""
    report = EventReport(received=len(items))
    reports = []
    for item in items:
        event = checked(item)
        if event is None:
            report.invalid += 1
        else:
            kind = feedback.BLOCKED if event.blocked else KIND_OF.get(event.kind, "")  # "": unknown
            reports.append(Feedback(event.event_id, kind, event.email, event.campaign, event.delivery))
    if report.invalid:  # counted in the answer too; the log names no address or id
        log.warning("webhook: %d malformed event%s skipped", report.invalid, "" if report.invalid == 1 else "s")
    applied = apply_feedback(store=store, reports=reports, source="webhook", malformed=report.invalid)
    report.applied, report.duplicates = applied.applied, applied.duplicates
    report.unknown, report.unmatched = applied.unknown, applied.unmatched
    return report
