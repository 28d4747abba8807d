"""SendGrid event webhook payloads → subscriber status and ledger updates, each event applied once."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..subscribers.store import Store, email_key, now

# Event type → the subscriber status it means (a complaint is never softened by a later event).
STATUS_FOR = {"bounce": "bounced", "dropped": "bounced", "spamreport": "complained",
              "unsubscribe": "unsubscribed", "group_unsubscribe": "unsubscribed"}
LEDGER_EVENTS = ("delivered", "bounce")
KNOWN = set(STATUS_FOR) | set(LEDGER_EVENTS) | {"processed", "deferred", "open", "click", "group_resubscribe"}


class MalformedEvents(ValueError):
    """The payload is not a list of events that each have an sg_event_id and an event type."""


@dataclass
class EventReport:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    unknown: int = 0
    unmatched: int = 0


def parse_events(body: bytes) -> list[dict]:
    """The events of a webhook body, or MalformedEvents saying what is wrong."""
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvents(f"not JSON: {exc}") from None
    if not isinstance(events, list):
        raise MalformedEvents("expected a JSON list of events")
    for number, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("sg_event_id"), str) \
                or not isinstance(event.get("event"), str):
            raise MalformedEvents(f"event {number} has no sg_event_id or event type")
    return events


def apply_events(store: Store, events: list[dict]) -> EventReport:
    """Apply new events in one transaction; events seen before (same sg_event_id) change nothing."""
    report = EventReport(received=len(events))
    at = now()
    with store.transaction() as db:
        ids = json.dumps([event["sg_event_id"] for event in events])
        seen = {row[0] for row in db.execute(
            "SELECT sg_event_id FROM webhook_events WHERE sg_event_id IN (SELECT value FROM json_each(?))", (ids,))}
        fresh = []
        for event in events:
            if event["sg_event_id"] in seen:
                report.duplicates += 1
                continue
            seen.add(event["sg_event_id"])
            fresh.append(event)
        db.executemany("INSERT INTO webhook_events (sg_event_id, received_at) VALUES (?, ?)",
                       [(event["sg_event_id"], at) for event in fresh])
        statuses, ledger = [], []
        for event in fresh:
            kind = event["event"]
            if kind not in KNOWN:
                report.unknown += 1
                continue
            row_id = _ledger_row(event)
            subscriber_id = _subscriber(db, event, row_id)
            if kind in STATUS_FOR:
                if subscriber_id is None:
                    report.unmatched += 1
                else:
                    statuses.append({"status": STATUS_FOR[kind], "at": at, "id": subscriber_id})
            if kind in LEDGER_EVENTS and row_id is not None:
                ledger.append((kind, at, row_id))
            report.applied += 1
        db.executemany("UPDATE subscribers SET status = :status, updated_at = :at"
                       " WHERE id = :id AND status NOT IN ('complained', :status)", statuses)
        db.executemany("UPDATE deliveries SET provider_event = ?, provider_event_at = ? WHERE id = ?", ledger)
    return report


def _ledger_row(event: dict) -> int | None:
    # custom_args arrive flattened into the event: {"campaign": "3", "delivery": "1234", …}
    value = event.get("delivery")
    return int(value) if isinstance(value, (str, int)) and str(value).isdigit() else None


def _subscriber(db, event: dict, row_id: int | None) -> int | None:
    if row_id is not None:
        row = db.execute("SELECT subscriber_id FROM deliveries WHERE id = ?", (row_id,)).fetchone()
        if row:
            return row[0]
    email = event.get("email")
    if isinstance(email, str):
        row = db.execute("SELECT id FROM subscribers WHERE email_key = ?", (email_key(email),)).fetchone()
        if row:
            return row[0]
    return None
