"""A subscriber file read row by row: its header and shape (import_formats.py), then each row checked (an address,
a language, the shape's values) into a Row or a Reject, in the order of the file. Only the row at hand is held, so a
file of a million rows is read in the memory of one; duplicates within the file are found where the rows are staged
(csv_import.py, storage/import_rows.py)."""

from __future__ import annotations

import _csv  # csv.reader's type: csv names it not
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..errors import NewsletterError
from .csv_import import COLUMNS, MAX_COLUMNS, ImportReport, Reject, Row, subscriber_address
from .import_shape import Choices
from .incoming import ACTIVE, RowProblem


def read_header(
    path: Path, stream: TextIO, delimiter: str, first_line: str, *, choices: Choices
) -> tuple[_csv.Reader, ImportReport]:
    """The CSV reader past the header, and a report that knows the file's shape; or an error naming the header's
    problem."""
    from .import_formats import recognise

    if not first_line.strip():
        raise NewsletterError(
            f"{path}:1: the file is empty or has no header line",
            hint=f"the first line names the columns: {','.join(COLUMNS)}",
        )
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        written_header = next(reader)
    except csv.Error as exc:
        raise NewsletterError(f"{path}:1: not valid CSV: {exc}") from None
    if len(written_header) > MAX_COLUMNS:
        raise NewsletterError(
            f"{path}:1: the header names {len(written_header):,} columns; a subscriber file may "
            f"have at most {MAX_COLUMNS:,}",
            hint=f"keep the columns {', '.join(COLUMNS)}",
        )
    shape = recognise(path, written_header, choices)
    return reader, ImportReport(ignored_columns=shape.ignored(), header=tuple(written_header), shape=shape)


def read_rows(
    path: Path,
    reader: _csv.Reader,
    report: ImportReport,
    *,
    languages: tuple[str, ...],
    default_language: str | None,
    extra_tags: tuple[str, ...],
) -> Iterator[tuple[Row | None, Reject | None, list[str]]]:
    """Each row of the file in order as (row, None, values) when valid or (None, reject, values) when not; rows
    skipped on purpose and blank lines are counted in the report and not yielded."""
    from .import_languages import LanguageMatch

    shape = report.shape
    assert shape is not None, "read_header gave the report the file's shape"
    match = LanguageMatch(languages, default_language, shape.language_names, report.unmapped_languages)
    width = len(report.header)
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise NewsletterError(f"{path}:{line}: not valid CSV: {exc}") from None
        if not any(value.strip() for value in values):
            continue
        report.rows += 1
        if len(values) > width:
            yield None, Reject(line, f"{len(values)} fields but the header names {width} columns"), values
            continue
        try:
            incoming = shape.read(values)
        except RowProblem as problem:
            yield None, Reject(line, problem.reason), values
            continue
        if incoming.skip:
            report.not_imported[incoming.skip] += 1
            continue
        reason, row = _check_row(incoming, line, match, extra_tags)
        yield (row, None, values) if row is not None else (None, Reject(line, reason), values)


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
    return "", Row(
        line,
        email,
        incoming.name,
        language,
        tags,
        incoming.status,
        incoming.consent_at,
        incoming.consent_source,
        incoming.left_at,
    )
