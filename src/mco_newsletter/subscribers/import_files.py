"""What a subscriber file is before it is CSV: a spreadsheet or an archive is refused by its content (whatever
its name), UTF-16 text (Excel's "Unicode Text") is decoded as UTF-8 is, the separator is found; the text is read
as a stream."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..errors import NewsletterError

SAVE_AS_CSV = (
    'in Excel: File › Save As › "CSV UTF-8 (Comma delimited)"; in LibreOffice Calc: File › Save As › '
    '"Text CSV", character set Unicode (UTF-8); in Numbers: File › Export To › CSV, Unicode (UTF-8)'
)
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: Excel 97-2003 workbooks (.xls)
ZIP = (b"PK\x03\x04", b"PK\x05\x06")
SEPARATORS = (",", ";", "\t")


# Bytes read ahead to tell what the file is (a spreadsheet, an archive, UTF-16, binary) and to find its separator.
SNIFF_BYTES = 65536


@contextmanager
def opened_text(path: Path) -> Iterator[tuple[TextIO, str, str]]:
    """The file as a text stream (read as it is parsed, never whole: a file of a million rows stays on disk), the
    separator of its columns and its first line, or an error that says what the file is instead. A byte that is not
    UTF-8 further on is found as the stream reaches it: `not_utf8` turns that error into one naming its line."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode) and path.suffix.lower() == ".numbers":
            raise _spreadsheet(path, "a Numbers document")
        if not stat.S_ISREG(mode):  # a device or a pipe would be read forever
            raise NewsletterError(f"{path}: not a regular file", hint="export the list as a CSV file")
        with path.open("rb") as raw:
            start = raw.read(SNIFF_BYTES)
    except OSError as exc:
        raise NewsletterError(f"{path}: cannot read: {exc.strerror}") from None
    if start.startswith(OLE2):
        raise _spreadsheet(path, "an Excel 97-2003 workbook")
    if start.startswith(ZIP):
        raise _archive(path)
    encoding = _encoding(start)
    if encoding == "utf-8-sig" and b"\x00" in start[:4096]:
        raise NewsletterError(
            f"{path} is not a text file (it holds binary data), so not CSV",
            hint=f"export the list as CSV UTF-8: {SAVE_AS_CSV}",
        )
    try:
        stream = path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise NewsletterError(f"{path}: cannot read: {exc.strerror}") from None
    with stream:
        try:
            first = stream.read(SNIFF_BYTES)
            stream.seek(0)
        except UnicodeDecodeError:
            raise not_utf8(path, encoding) from None
        first_line = first.splitlines()[0] if first.strip() else ""
        try:
            yield stream, separator(first.partition("\n")[0]), first_line
        except UnicodeDecodeError:  # met further on, as the stream was read
            raise not_utf8(path, encoding) from None


def not_utf8(path: Path, encoding: str) -> NewsletterError:
    """The error for a file that is not the text its start says: the line of the first byte that is not UTF-8."""
    if encoding != "utf-8-sig":
        return NewsletterError(f"{path}: begins as UTF-16 text but is not", hint=f"save it as CSV UTF-8: {SAVE_AS_CSV}")
    line = 1
    with path.open("rb") as raw:
        # A UTF-8 character never holds a newline byte; the line the loop stops at is the answer.
        for line, written in enumerate(raw, start=1):  # noqa: B007
            try:
                written.decode("utf-8")
            except UnicodeDecodeError:
                break
    # An older Excel's "CSV (Comma delimited)" is written in the computer's own encoding (Windows-1252...).
    return NewsletterError(f"{path}:{line}: not UTF-8 text", hint=f"save it as CSV UTF-8: {SAVE_AS_CSV}")


def separator(header: str) -> str:
    """The separator the header line uses most: a comma, a semicolon (Excel where the decimal mark is a comma) or a
    tab (Excel's "Unicode Text"); a comma when none appears."""
    counts = {mark: header.count(mark) for mark in SEPARATORS}
    best = max(SEPARATORS, key=lambda mark: counts[mark])
    return best if counts[best] else ","


def _encoding(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # the byte-order mark says which end comes first, and is dropped
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] and data[2]:
        return "utf-16-le"  # a header of ASCII letters each followed by a zero byte: UTF-16 without the mark
    if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] and data[3]:
        return "utf-16-be"
    return "utf-8-sig"


def _archive(path: Path) -> NewsletterError:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        names, mimetype = [], b""
    if "xl/workbook.xml" in names or any(name.startswith("xl/") for name in names):
        return _spreadsheet(path, "an Excel workbook")
    if b"opendocument.spreadsheet" in mimetype:
        return _spreadsheet(path, "an OpenDocument spreadsheet")
    if any(name.startswith("Index/") or name == "Index.zip" for name in names):
        return _spreadsheet(path, "a Numbers document")
    tables = [name for name in names if name.lower().endswith(".csv")]
    if tables:
        listed = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        return NewsletterError(
            f"{path} is a zip archive of CSV files ({listed}), not CSV",
            hint="unpack it and import each file; for a Mailchimp export, the subscribed, "
            "unsubscribed and cleaned files (docs/subscribers.md)",
        )
    return NewsletterError(f"{path} is a zip archive, not CSV", hint="unpack it and import the CSV file inside")


def _spreadsheet(path: Path, kind: str) -> NewsletterError:
    return NewsletterError(f"{path} is a spreadsheet ({kind}), not CSV: save it as CSV (UTF-8) first", hint=SAVE_AS_CSV)
