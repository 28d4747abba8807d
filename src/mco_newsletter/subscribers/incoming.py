"""A row of a subscriber file as the tool reads it, whichever tool wrote the file: the values every shape turns its
columns into (import_formats.py), and the readers of the cells other tools write (times, tags, JSON blobs)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from typing import NamedTuple

# What a reader's status may come in as; `pending` is only ever a web sign-up of this tool's own.
ACTIVE = "active"
LEFT = ("unsubscribed", "bounced", "complained")
# Words other tools and spreadsheets use for the statuses (a status column of a mapped file, the tool's own export).
STATUS_WORDS = {
    "active": ACTIVE,
    "subscribed": ACTIVE,
    "confirmed": ACTIVE,
    "enabled": ACTIVE,
    "unsubscribed": "unsubscribed",
    "opted out": "unsubscribed",
    "opted-out": "unsubscribed",
    "blocklisted": "unsubscribed",
    "blacklisted": "unsubscribed",
    "removed": "unsubscribed",
    "bounced": "bounced",
    "cleaned": "bounced",
    "undeliverable": "bounced",
    "unreachable": "bounced",
    "complained": "complained",
    "spam": "complained",
}
# A JSON or Python-literal cell larger than this is not read (its language or name would be lost, nothing else).
MAX_BLOB = 65536
_TIME = re.compile(
    r"(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d\d:?\d\d)?"
    r"(?:\s+\S+)?\s*$"
)


class RowProblem(Exception):
    """A value of the row that cannot be taken: the row is rejected with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Incoming(NamedTuple):
    """One row in the tool's shape, before the address and language are checked (a tuple: one is made per row of
    files of 100,000 rows, three times faster than a frozen dataclass)."""

    email: str
    name: str | None = None
    language: str = ""  # as written; the newsletter's own code is found later (import_languages.py)
    tags: tuple[str, ...] = ()
    status: str = ACTIVE
    consent_at: str | None = None  # UTC, as the store writes times
    consent_source: str | None = None
    left_at: str | None = None  # when they unsubscribed, bounced or complained, where the export says
    skip: str | None = None  # why the row is not imported at all (a person who never confirmed)


def utc_time(written: str, column: str) -> str | None:
    """A time as the store writes it (UTC, ISO 8601, whole seconds) from the ways exports write times: ISO 8601,
    "2019-03-12 10:22:33" (no zone: UTC), Go's "2024-03-05 10:22:33.1 +0000 UTC", a date alone. None for ""."""
    text = written.strip()
    if not text:
        return None
    if len(text) == 19 and text[10] == " " and text[13] == ":":  # Mailchimp's "2019-03-12 10:22:33", UTC
        try:
            return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").isoformat() + "+00:00"
        except ValueError:
            raise RowProblem(f"{column} {text!r} is not a time") from None
    match = _TIME.match(text)
    try:
        if not match:
            raise ValueError(text)
        day, clock, _fraction, zone = match.groups()
        clock = clock or "00:00:00"
        clock = clock if clock.count(":") == 2 else clock + ":00"
        if zone in (None, "Z", "UTC", "GMT"):
            zone = "+00:00"
        elif ":" not in zone:
            zone = f"{zone[:3]}:{zone[3:]}"
        moment = dt.datetime.fromisoformat(f"{day}T{clock}{zone}")
    except ValueError:
        raise RowProblem(f"{column} {text[:40]!r} is not a time") from None
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def shown_time(stored: str | None) -> str:
    """A stored UTC time for a consent note: '2019-03-12 10:22 UTC'."""
    return f"{stored[:10]} {stored[11:16]} UTC" if stored else ""


def status_of(written: str, column: str) -> str:
    """A status column's value as one of the tool's statuses (empty: active), or a reason to reject the row."""
    value = " ".join(written.strip().casefold().split())
    if not value:
        return ACTIVE
    if value not in STATUS_WORDS:
        raise RowProblem(
            f"unknown status {written.strip()[:40]!r} in {column} "
            f"(expected active, unsubscribed, bounced or complained)"
        )
    return STATUS_WORDS[value]


def split_tags(written: str, separator: str) -> tuple[str, ...]:
    """Tags from one cell, each stripped, blank ones and repeats dropped."""
    if separator not in written:  # none or one: most rows of a large file
        return (written.strip(),) if written.strip() else ()
    return tuple(dict.fromkeys(tag.strip() for tag in written.split(separator) if tag.strip()))


def quoted_tags(written: str) -> tuple[str, ...]:
    """Tags written as Mailchimp writes them, `"donor","russia"` (or plainly, `donor, russia`)."""
    if not written.strip():
        return ()
    cells = next(csv.reader([written], skipinitialspace=True), [])
    return tuple(dict.fromkeys(tag.strip() for tag in cells if tag.strip()))


def blob(written: str) -> dict:
    """A cell of keys and values: JSON (listmonk's attributes, Keila's data) or a Python literal (Buttondown's
    metadata, `{'staff': 'true'}`). Anything else, or too large, is an empty dict: the values are optional."""
    import ast

    text = written.strip()
    if not text or len(text) > MAX_BLOB:
        return {}
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return value if isinstance(value, dict) else {}
    return {}


def blob_text(values: dict, *keys: str) -> str:
    """The first of these keys (in any case) holding a string, or ""."""
    lowered = {str(key).casefold(): value for key, value in values.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def full_name(*parts: str) -> str | None:
    """Name parts joined by a space; None when all are blank."""
    joined = " ".join(part.strip() for part in parts if part and part.strip())
    return joined or None
