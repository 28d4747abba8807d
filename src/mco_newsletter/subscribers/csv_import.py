"""Subscriber import: a file read and checked row by row (import_reading.py), its rejects reported by line and
written as found (import_rejects.py), its valid rows staged a batch at a time in the store and applied there in one
transaction (storage/import_rows.py). Memory holds one batch, whatever the size of the file or of the store."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..email_addresses import InvalidAddress, checked_address
from .import_shape import Choices, Shape
from ..storage.dialect import now
from .incoming import ACTIVE
from .store import Store, email_key, new_nonce

COLUMNS = ("email", "name", "language", "tags")
# Exports of mailing tools have a few dozen columns; tens of thousands are a broken or hostile file.
MAX_COLUMNS = 1000
# The dry run shows this many rows as they would be imported.
FIRST_ROWS = 5
# Cells a spreadsheet would run as a formula (OWASP, "CSV injection"): shown as text with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows read, checked and staged at a time: the memory an import holds (about 5 MB), whatever the file's size.
BATCH = 10_000
# The rejects the report lists by line (every one is in the rejects file, and counted): a file of a million rows in
# the wrong shape is a million rejects, which memory must not hold.
REJECTS_LISTED = 1000
# What each outcome of a staged row (storage/import_rows.py) adds to in the report; left_* count by status.
COUNTED = {"added": "added", "confirmed": "added", "updated": "updated", "unchanged": "unchanged",
           "resubscribed": "resubscribed", "kept_inactive": "kept_inactive", "kept_newer": "kept_newer",
           "erased": "erased"}


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


def import_csv(store: Store, path: Path, *, languages: tuple[str, ...], default_language: str | None,
               extra_tags: tuple[str, ...], erasure_key: bytes, resubscribe: bool, dry_run: bool,
               rejects_dir: Path | None = None, choices: Choices = Choices()) -> ImportReport:
    """Import a subscriber file; rejected rows go to rejects_dir/FILE.rejects.csv (not on a dry run, nor without one).

    The whole file is read, checked and staged before anything is applied, and the rejects file is complete by
    then: if it cannot be written, nothing is imported. The rows are applied in one transaction (a dry run decides
    what each row would do, and applies nothing).
    """
    from ..storage.import_rows import Staging
    from .import_files import opened_text
    from .import_reading import read_header, read_rows
    from .import_rejects import RejectsFile
    from .tokens import erasure_hash

    with opened_text(path) as (stream, delimiter, first_line):
        reader, report = read_header(path, stream, delimiter, first_line, choices=choices)
        out = rejects_dir / f"{path.stem}.rejects.csv" if rejects_dir is not None and not dry_run else None
        with Staging(store.db) as staging, RejectsFile(out, report.header) as rejects:
            _stage(staging, rejects, report, read_rows(path, reader, report, languages=languages,
                                                       default_language=default_language, extra_tags=extra_tags))
            report.rejects_path = rejects.finish(report)
            at = now()
            with store.transaction():
                outcomes = staging.decide(resubscribe=resubscribe, hash_of=lambda key: erasure_hash(erasure_key, key))
                if not dry_run:
                    staging.apply(source=f"import of {path.name}", at=at)
    for outcome, status, count in outcomes:
        if outcome in ("left_added", "left_marked"):
            getattr(report, outcome)[status] += count
        else:
            setattr(report, COUNTED[outcome], getattr(report, COUNTED[outcome]) + count)
    return report


def _stage(staging, rejects, report: ImportReport, items) -> None:
    """Stage the file's valid rows a batch at a time; each batch's rejects (a duplicate is found as its batch is
    staged) go to the report and the rejects file in the order of the file."""
    rows: list[tuple] = []
    tags: list[tuple[int, str]] = []
    found: list[tuple[int, str, list[str]]] = []  # this batch's rejects: line, reason, values
    values_of: dict[int, list[str]] = {}  # this batch's staged rows as written, for a duplicate's reject

    def flush() -> None:
        for line, first in staging.add(rows, tags).items():
            found.append((line, f"duplicate of line {first} in this file", values_of[line]))
        found.sort(key=lambda reject: reject[0])
        for line, reason, values in found:
            report.rejected += 1
            if len(report.rejects) < REJECTS_LISTED:
                report.rejects.append(Reject(line, reason))
            rejects.write(line, reason, values)
        for batch in (rows, tags, found, values_of):
            batch.clear()

    for row, reject, values in items:
        if row is None:
            found.append((reject.line, reject.reason, values))
        else:
            key = email_key(row.email)
            rows.append((row.line, row.email, key, row.name, row.language, row.status, row.consent_at,
                         row.consent_source, row.left_at, new_nonce()))
            tags.extend((row.line, tag) for tag in (dict.fromkeys(row.tags) if len(row.tags) > 1 else row.tags))
            values_of[row.line] = values
            # Until FIRST_ROWS are shown, every earlier valid row is among them: a duplicate is found here too.
            if len(report.first_rows) < FIRST_ROWS and all(email_key(r.email) != key for r in report.first_rows):
                report.first_rows.append(row)
        if len(rows) + len(found) >= BATCH:
            flush()
    flush()


def spreadsheet_safe(values) -> list[str]:
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
