"""How a subscriber file is read: its format (import_formats.py), the column each of the tool's fields comes from,
the person's own choices (--from, --column, --mapping, --status), and each row turned into an Incoming."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .incoming import ACTIVE, Incoming, full_name, status_of, utc_time

# The fields a column can be mapped to.
FIELDS = ("email", "name", "first_name", "last_name", "language", "tags", "status", "consent_at")


@dataclass(frozen=True)
class Choices:
    """What the person said about the file: the tool that wrote it (--from), columns they mapped (a header of ""
    takes a column out), the tag separator, their own language values, and a status for every row (--status)."""

    tool: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    tag_separator: str | None = None
    language_names: tuple[tuple[str, str], ...] = ()
    status: str | None = None
    mapping_file: Path | None = None


class Cells:
    """One row's values, by field (through the mapping) or by a column's name in small letters."""

    def __init__(self, values: list[str], fields: dict[str, int], columns: dict[str, int]) -> None:
        self.values, self.fields, self.columns = values, fields, columns

    def __call__(self, name: str) -> str:
        index = self.fields.get(name)
        # A short row (fewer cells than the header) has the missing ones empty.
        return self.values[index].strip() if index is not None and index < len(self.values) else ""

    def raw(self, column: str) -> str:
        index = self.columns.get(column)
        return self.values[index].strip() if index is not None and index < len(self.values) else ""

    def name(self) -> str | None:
        if "name" in self.fields:
            return self("name") or None
        return full_name(self("first_name"), self("last_name"))


@dataclass(frozen=True)
class Format:
    """A tool's export: the columns that tell it (each group: any one of its names), its fields' columns, the other
    columns it reads, what its derived fields come from (for the dry run), and its row reader."""

    tool: str
    title: str
    markers: tuple[tuple[str, ...], ...]
    columns: dict[str, tuple[str, ...]]
    reads: tuple[str, ...]
    explained: dict[str, str]
    read: Callable[[Cells, Shape], Incoming]
    tag_style: str = ""  # how the tool writes several tags in a cell, when not with a separator


@dataclass(frozen=True)
class Shape:
    """How this file is read: its format, the column each field comes from, and what every row gets."""

    format: Format
    title: str
    header: tuple[str, ...]
    fields: dict[str, int]
    columns: dict[str, int]
    recognised_by: tuple[str, ...] = ()
    source: str = ""  # the consent source of the file's rows: "Mailchimp import of FILE"
    every_row: str | None = None  # a status the whole file has (Mailchimp's unsubscribed file, --status)
    left_column: str | None = None
    tag_separator: str = "|"
    language_names: dict[str, str] = field(default_factory=dict)
    mapped: bool = False  # the person mapped columns (--column, --mapping)

    @property
    def tool(self) -> str:
        return self.format.tool

    def read(self, values: list[str]) -> Incoming:
        """The row in the tool's shape, or RowProblem."""
        cells = Cells(values, self.fields, self.columns)
        row = self.format.read(cells, self)
        changes: dict = {}
        if "status" in self.fields:
            if cells("status").lower() == "pending":  # this tool's own export: a web sign-up never confirmed
                return row._replace(skip="signed up on the web and never confirmed (pending)")
            written = status_of(cells("status"), self.header[self.fields["status"]])
            if written != ACTIVE:
                changes["status"] = written
        if "consent_at" in self.fields and cells("consent_at"):
            changes["consent_at"] = utc_time(cells("consent_at"), self.header[self.fields["consent_at"]])
        if self.every_row and changes.get("status", row.status) == ACTIVE:
            changes["status"] = self.every_row
        return row._replace(**changes) if changes else row

    def noted(self, *notes: str) -> str:
        """The consent source of a row: the file's, with what the export says about this person's consent."""
        notes = tuple(note for note in notes if note)
        return f"{self.source} ({', '.join(notes)})" if notes else self.source

    def mapping(self) -> list[tuple[str, str]]:
        """(field, where it comes from) in words, for the dry run and --json."""
        shown: list[tuple[str, str]] = []
        names = {f: self.header[i] for f, i in self.fields.items()}
        if ("first_name" in names or "last_name" in names) and "name" not in names:
            names["name"] = " + ".join(f'"{names[f]}"' for f in ("first_name", "last_name") if f in names)
            names.pop("first_name", None), names.pop("last_name", None)
        for name in ("email", "name", "language", "tags", "status", "consent_at"):
            if name in names:
                where = names[name] if names[name].startswith('"') else f'"{names[name]}"'
                style = self.format.tag_style or f"separated by {self.tag_separator!r}"
                shown.append((name, where + (f" ({style})" if name == "tags" else "")))
            elif name in self.format.explained:
                shown.append((name, self.format.explained[name]))
        if self.every_row:
            shown.append(("status", f"{self.every_row} (every row of this file)"))
        elif not any(name == "status" for name, _ in shown):
            shown.append(("status", "active"))
        return shown

    def ignored(self) -> list[str]:
        """The header's columns this shape does not read, as written."""
        used = set(self.fields.values()) | {self.columns[c] for c in self.format.reads if c in self.columns}
        return [name.strip() for i, name in enumerate(self.header) if i not in used and name.strip()]
