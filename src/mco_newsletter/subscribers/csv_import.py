"""CSV import: read and check every row, report rejects by line, apply the valid ones in one transaction."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..email_addresses import InvalidAddress, checked_address
from ..errors import NewsletterError
from .import_shape import Choices, Shape
from .incoming import ACTIVE, RowProblem
from .store import Store, email_key, now

COLUMNS = ("email", "name", "language", "tags")
# Exports of mailing tools have a few dozen columns; tens of thousands are a broken or hostile file.
MAX_COLUMNS = 1000
# The dry run shows this many rows as they would be imported.
FIRST_ROWS = 5
# Cells a spreadsheet would run as a formula (OWASP, "CSV injection"): shown as text with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    """One valid row of the file."""

    line: int
    email: str
    name: str | None
    language: str
    tags: tuple[str, ...]
    status: str = ACTIVE  # a person who left comes in as such, never as active (apply_rows)
    consent_at: str | None = None  # the export's consent time (None: the time of the import)
    consent_source: str | None = None
    left_at: str | None = None


@dataclass(frozen=True)
class Reject:
    """A row that was not imported, why, and the row as it was."""

    line: int
    reason: str
    values: tuple[str, ...]


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
    rejects: list[Reject] = field(default_factory=list)
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


def read_csv(path: Path, *, languages: tuple[str, ...], default_language: str | None,
             extra_tags: tuple[str, ...], choices: Choices = Choices()) -> tuple[list[Row], ImportReport]:
    """Parse and check the file; return the valid rows and a report holding the rejects."""
    from .import_files import read_text
    from .import_formats import recognise
    from .import_languages import LanguageMatch

    text, delimiter = read_text(path)
    if not text.strip() or not text.splitlines()[0].strip():
        raise NewsletterError(f"{path}:1: the file is empty or has no header line",
                              hint=f"the first line names the columns: {','.join(COLUMNS)}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        written_header = next(reader)
    except csv.Error as exc:
        raise NewsletterError(f"{path}:1: not valid CSV: {exc}") from None
    if len(written_header) > MAX_COLUMNS:
        raise NewsletterError(f"{path}:1: the header names {len(written_header):,} columns; a subscriber file may "
                              f"have at most {MAX_COLUMNS:,}", hint=f"keep the columns {', '.join(COLUMNS)}")
    shape = recognise(path, written_header, choices)
    report = ImportReport(ignored_columns=shape.ignored(), header=tuple(written_header), shape=shape)
    match = LanguageMatch(languages, default_language, shape.language_names, report.unmapped_languages)
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    line = 1
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise NewsletterError(f"{path}:{line}: not valid CSV: {exc}") from None
        if not any(value.strip() for value in values):
            continue
        report.rows += 1
        if len(values) > len(written_header):
            reason, row = f"{len(values)} fields but the header names {len(written_header)} columns", None
        else:
            try:
                incoming = shape.read(values)
            except RowProblem as problem:
                incoming, reason, row = None, problem.reason, None
            if incoming is not None and incoming.skip:
                report.not_imported[incoming.skip] += 1
                continue
            if incoming is not None:
                reason, row = _check_row(incoming, line, match, extra_tags)
        if row is not None:
            key = email_key(row.email)
            if key in first_line:
                reason, row = f"duplicate of line {first_line[key]} in this file", None
            else:
                first_line[key] = line
        if row is None:
            report.rejects.append(Reject(line, reason, tuple(values)))
        else:
            rows.append(row)
            if len(report.first_rows) < FIRST_ROWS:
                report.first_rows.append(row)
    return rows, report


def apply_rows(store: Store, rows: list[Row], report: ImportReport, *, erasure_key: bytes,
               resubscribe: bool, consent_source: str, dry_run: bool) -> ImportReport:
    """Add or update the rows in one transaction (rolled back with dry_run)."""
    from ..storage import import_rows
    from .tokens import erasure_hash

    at = now()
    with store.transaction() as db:
        erased, existing, tags_of = import_rows.held(db)
        new, changed, new_tags = [], [], []
        for row in rows:
            key = email_key(row.email)
            # A web sign-up not yet confirmed is not on the list: it neither re-adds an erased address
            # nor counts as someone who left.
            pending = key in existing and existing[key][3] == "pending"
            if (key not in existing or pending) and erased and erasure_hash(erasure_key, key) in erased:
                report.erased += 1
                continue
            if row.status != ACTIVE:
                _left(store, row, existing.get(key), report, at=at, consent_source=consent_source)
                continue
            if key not in existing:
                new.append((row.email, key, row.name, row.language, row.consent_source or consent_source,
                            row.consent_at or at, at, at))
                new_tags += [(key, tag) for tag in row.tags]
                report.added += 1
                continue
            sid, name, language, status = existing[key]
            missing_tags = set(row.tags) - tags_of.get(sid, set())
            reactivate = status != "active" and (resubscribe or pending)
            if status != "active" and not reactivate:
                report.kept_inactive += 1
                continue
            name_changes = row.name is not None and row.name != name
            if not (name_changes or row.language != language or missing_tags or reactivate):
                report.unchanged += 1
                continue
            changed.append({"name": row.name if name_changes else name, "language": row.language,
                            "reactivate": reactivate, "source": consent_source, "at": at, "id": sid})
            new_tags += [(key, tag) for tag in missing_tags]
            report.added += pending
            report.resubscribed += reactivate and not pending
            report.updated += not reactivate
        import_rows.write(db, new=new, changed=changed, new_tags=new_tags)
        if dry_run:
            raise _DryRun
    return report


def _left(store: Store, row: Row, held: tuple | None, report: ImportReport, *, at: str, consent_source: str) -> None:
    """A person the file says left (unsubscribed, bounced, complained): never made active. Kept as such when new,
    so that no later file brings them back; an active reader here is marked so, unless they consented here after
    the file's record of their leaving."""
    if held is None:
        store.add(email=row.email, name=row.name, language=row.language, tags=row.tags, status=row.status,
                  consent_source=row.consent_source or consent_source, at=at, consent_at=row.consent_at)
        report.left_added[row.status] += 1
        return
    subscriber_id, status = held[0], held[3]
    if status != "active":  # already sent nothing; or a web sign-up waiting for confirmation, their newer wish
        report.unchanged += 1
        return
    if row.left_at and store.by_id(subscriber_id).consent_at > row.left_at:
        report.kept_newer += 1
        return
    store.set_status(subscriber_id, row.status)
    report.left_marked[row.status] += 1


def spreadsheet_safe(values) -> list[str]:
    """The cells of a row, each beginning with a formula character neutralised by a leading apostrophe."""
    return ["'" + value if value.startswith(FORMULA_START) else value for value in map(str, values)]


class _DryRun(Exception):
    """Raised inside the import transaction to roll it back after counting."""


def import_csv(store: Store, path: Path, *, languages: tuple[str, ...], default_language: str | None,
               extra_tags: tuple[str, ...], erasure_key: bytes, resubscribe: bool, dry_run: bool,
               rejects_dir: Path | None = None, choices: Choices = Choices()) -> ImportReport:
    """Import a subscriber CSV; rejected rows go to rejects_dir/FILE.rejects.csv (not on a dry run, nor without one).

    The rejects file is written before any row is applied: if it cannot be written, nothing is imported.
    """
    rows, report = read_csv(path, languages=languages, default_language=default_language, extra_tags=extra_tags,
                            choices=choices)
    if report.rejects and rejects_dir is not None and not dry_run:
        report.rejects_path = write_rejects(rejects_dir / f"{path.stem}.rejects.csv", report)
    try:
        apply_rows(store, rows, report, erasure_key=erasure_key, resubscribe=resubscribe,
                   consent_source=f"import of {path.name}", dry_run=dry_run)
    except _DryRun:
        pass
    return report


def write_rejects(out: Path, report: ImportReport) -> Path:
    """The rejects file: line, reason, then every rejected row under the input's own header (owner-only)."""
    from ..files import atomic_text_writer

    try:
        with atomic_text_writer(out, private=True) as stream:
            writer = csv.writer(stream)
            writer.writerow(spreadsheet_safe(["line", "reason", *report.header]))
            for reject in report.rejects:
                writer.writerow(spreadsheet_safe([str(reject.line), reject.reason, *reject.values]))
    except OSError as exc:
        raise RejectsNotWritten(f"cannot write the rejects file {out}: {exc.strerror or exc}; nothing was imported",
                                hint="make room or fix the permissions of that folder, then import again",
                                report=report) from None
    return out


class RejectsNotWritten(NewsletterError):
    """The rejects file could not be written, so no row was applied; the report still names every reject."""

    def __init__(self, message: str, *, hint: str, report: ImportReport):
        super().__init__(message, hint)
        self.report = report



def _check_row(incoming, line: int, match, extra_tags) -> tuple[str, Row | None]:
    if not incoming.email:
        return "no email address", None
    email, problem = subscriber_address(incoming.email)
    if problem:
        return f"invalid address: {problem}", None
    if incoming.status != ACTIVE:
        language = match.any_language(incoming.language)
    else:
        language, reason = match.language(incoming.language)
        if language is None:
            return reason, None
    tags = tuple(dict.fromkeys([*incoming.tags, *extra_tags])) if extra_tags else incoming.tags
    return "", Row(line, email, incoming.name, language, tags, incoming.status, incoming.consent_at,
                   incoming.consent_source, incoming.left_at)


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
