"""Subscriber import: a file read and checked row by row (import_reading.py), its rejects reported by line and
written as found (import_rejects.py), its valid rows staged a batch at a time in the store and applied there in one
transaction (storage/import_rows.py). Memory holds one batch, whatever the size of the file or of the store."""

from __future__ import annotations

from pathlib import Path

from ..storage.dialect import now
from .csv_import import ImportReport, Reject
from .import_shape import Choices
from .store import Store, email_key, new_nonce

# The dry run shows this many rows as they would be imported.
FIRST_ROWS = 5
# Rows read, checked and staged at a time: the memory an import holds (about 5 MB), whatever the file's size.
BATCH = 10_000
# The rejects the report lists by line (every one is in the rejects file, and counted): a file of a million rows in
# the wrong shape is a million rejects, which memory must not hold.
REJECTS_LISTED = 1000
# What each outcome of a staged row (storage/import_rows.py) adds to in the report; left_* count by status.
COUNTED = {
    "added": "added",
    "confirmed": "added",
    "updated": "updated",
    "unchanged": "unchanged",
    "resubscribed": "resubscribed",
    "kept_inactive": "kept_inactive",
    "kept_newer": "kept_newer",
    "erased": "erased",
}


def import_csv(
    store: Store,
    path: Path,
    *,
    languages: tuple[str, ...],
    default_language: str | None,
    extra_tags: tuple[str, ...],
    erasure_key: bytes,
    resubscribe: bool,
    dry_run: bool,
    rejects_dir: Path | None = None,
    choices: Choices = Choices(),
) -> ImportReport:
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
            _stage(
                staging,
                rejects,
                report,
                read_rows(
                    path, reader, report, languages=languages, default_language=default_language, extra_tags=extra_tags
                ),
            )
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
            rows.append(
                (
                    row.line,
                    row.email,
                    key,
                    row.name,
                    row.language,
                    row.status,
                    row.consent_at,
                    row.consent_source,
                    row.left_at,
                    new_nonce(),
                )
            )
            tags.extend((row.line, tag) for tag in (dict.fromkeys(row.tags) if len(row.tags) > 1 else row.tags))
            values_of[row.line] = values
            # Until FIRST_ROWS are shown, every earlier valid row is among them: a duplicate is found here too.
            if len(report.first_rows) < FIRST_ROWS and all(email_key(r.email) != key for r in report.first_rows):
                report.first_rows.append(row)
        if len(rows) + len(found) >= BATCH:
            flush()
    flush()
