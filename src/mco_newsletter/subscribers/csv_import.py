"""What an import of a subscriber file (importing.py) finds: each valid row, each rejected one, the report; the
columns it knows; an address as the list keeps it; a cell made safe for a spreadsheet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..email_addresses import InvalidAddress, checked_address
from .import_shape import Shape
from .incoming import ACTIVE

COLUMNS = ("email", "name", "language", "tags")
# Exports of mailing tools have a few dozen columns; tens of thousands are a broken or hostile file.
MAX_COLUMNS = 1000
# Cells a spreadsheet would run as a formula (OWASP, "CSV injection"): shown as text with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Row(NamedTuple):
    """One valid row of the file (a tuple: one is made per row of files of a million rows)."""

    line: int
    email: str
    name: str | None
    language: str
    tags: tuple[str, ...]
    status: str = ACTIVE  # a person who left comes in as such, never as active (storage/import_rows.py)
    consent_at: str | None = None  # the export's consent time (None: the time of the import)
    consent_source: str | None = None
    left_at: str | None = None


@dataclass(frozen=True)
class Reject:
    """A row that was not imported, and why (the row as it was is in the rejects file)."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, with --dry-run, would do)."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    resubscribed: int = 0
    kept_inactive: int = 0
    erased: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)  # the first REJECTS_LISTED of them
    ignored_columns: list[str] = field(default_factory=list)
    rejects_path: Path | None = None
    # The input's first line as written: the rejects file repeats it, so each value stays under its name.
    header: tuple[str, ...] = ()
    shape: Shape | None = None  # how the file was read (import_formats.py)
    left_added: Counter = field(default_factory=Counter)  # people who left, kept as such: by status
    left_marked: Counter = field(default_factory=Counter)  # active readers the file says left since: by status
    kept_newer: int = 0  # active readers whose consent here is newer than the file's record of their leaving
    not_imported: Counter = field(default_factory=Counter)  # rows skipped on purpose, by reason
    unmapped_languages: Counter = field(default_factory=Counter)  # languages given --default-language, by value
    first_rows: list[Row] = field(default_factory=list)  # for the dry run: the first rows as they would come in


def spreadsheet_safe(values: Iterable[object]) -> list[str]:
    """The cells of a row, each beginning with a formula character neutralised by a leading apostrophe."""
    return ["'" + value if value.startswith(FORMULA_START) else value for value in map(str, values)]


def subscriber_address(address: str) -> tuple[str, str | None]:
    """normalize_email's answer, but an address beginning with a formula character is refused too.

    =1+1@example.org is valid by the RFC, but a spreadsheet opening an export would run it.
    """
    if address.startswith(FORMULA_START):
        return address, f"an address may not begin with {address[0]!r} (a spreadsheet would run it as a formula)"
    return normalize_email(address)


def normalize_email(address: str) -> tuple[str, str | None]:
    """The normalized address and None, or the input and the reason it is not valid (email_addresses.py)."""
    try:
        return checked_address(address).normalized, None
    except InvalidAddress as exc:
        return address, str(exc)
