"""The rejects file of an import, written as the rejects are found: line, reason, then the row under the input's
own header, owner-only under private/rejects/, every cell a spreadsheet would run as a formula written as text.

It is written aside and takes its name only when the whole file has been read (files.atomic_writer): an import
stopped half-way leaves an unfinished file that the next writer of the name, or an erasure, removes. A file that
cannot be written stops the import before any row is applied (RejectsNotWritten, with every reject still named).
"""

from __future__ import annotations

import _csv  # csv.writer's type: csv names it not
import csv
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from ..errors import NewsletterError
from .csv_import import ImportReport, spreadsheet_safe


class RejectsNotWritten(NewsletterError):
    """The rejects file could not be written, so no row was applied; the report still names every reject."""

    def __init__(self, message: str, *, hint: str, report: ImportReport):
        super().__init__(message, hint)
        self.report = report


class RejectsFile:
    """Where an import's rejected rows go (nowhere when `path` is None: a dry run), opened at the first reject."""

    def __init__(self, path: Path | None, header: tuple[str, ...]):
        self.path = path
        self.header = header
        self._files = ExitStack()
        self._writer: _csv.Writer | None = None
        self._failure: OSError | None = None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._files.__exit__(kind, value, traceback)  # an exception: the unfinished file goes

    def write(self, line: int, reason: str, values: list[str]) -> None:
        if self.path is None or self._failure is not None:
            return
        try:
            if self._writer is None:
                from ..files import atomic_text_writer

                writer = csv.writer(self._files.enter_context(atomic_text_writer(self.path, private=True)))
                writer.writerow(spreadsheet_safe(["line", "reason", *self.header]))
                self._writer = writer
            self._writer.writerow(spreadsheet_safe([str(line), reason, *values]))
        except OSError as exc:
            self._failure = exc
            self._files.__exit__(type(exc), exc, exc.__traceback__)

    def finish(self, report: ImportReport) -> Path | None:
        """Give the file its name (fsynced); its path, or None when there was nothing to write. RejectsNotWritten
        when it could not be written."""
        if self._failure is None and self._writer is not None:
            try:
                self._files.close()
            except OSError as exc:
                self._failure = exc
        if self._failure is not None:
            raise RejectsNotWritten(
                f"cannot write the rejects file {self.path}: "
                f"{self._failure.strerror or self._failure}; nothing was imported",
                hint="make room or fix the permissions of that folder, then import again",
                report=report,
            ) from None
        return self.path if self._writer is not None else None
