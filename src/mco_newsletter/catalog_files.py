"""PO files as translators' tools keep them: read strictly, written back changing only what changed.

A catalog saved by Poedit, msgcat or Weblate and then touched by this tool keeps every entry it did not
change byte for byte (its wrapping, its flags' order, its comments) and every header it did not change
(X-Generator included); a changed entry is written the way gettext writes it (po_wrap). Reading is as
strict as `msgfmt --check`: an unclosed or unescaped quote is an error at its line, not text lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from .errors import NewsletterError
from .po_wrap import reference_lines, string_lines

UNESCAPE = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "?": "?",
}
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"\s*$')
KEYWORD = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)(?:\s+(.*))?$")
ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]+)|(.))")
KEEP_THE_FILE = (
    "fix that line in a PO editor or a text editor (`msgfmt --check FILE` shows the same); "
    "keep the file: it holds the translators' approved work"
)


@dataclass(eq=False)
class Entry:
    """One message of a catalog: source, translation, flags and comments, and where it was read."""

    id: str
    string: str = ""
    context: str | None = None
    flags: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)  # translator comments: "# …"
    notes: list[str] = field(default_factory=list)  # extracted comments: "#. …"
    references: list[str] = field(default_factory=list)  # "#: file:line"
    previous_id: str | None = None  # "#| msgid": the source this translation was made for
    previous_context: str | None = None
    obsolete: bool = False
    line: int = 0  # where the entry's msgid stands in the file it was read from
    string_line: int = 0  # … and its msgstr
    raw: str | None = None  # the text it was read from, written back while nothing changed
    opaque: bool = False  # plural forms, or comments alone: not a piece of an issue; always written as read
    read_as: tuple | None = None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @fuzzy.setter
    def fuzzy(self, value: bool) -> None:
        if value and not self.fuzzy:
            self.flags.insert(0, "fuzzy")  # gettext writes fuzzy first
        elif not value:
            self.flags = [flag for flag in self.flags if flag != "fuzzy"]

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.id

    def content(self) -> tuple:
        return (
            self.id,
            self.string,
            self.context,
            tuple(self.flags),
            tuple(self.comments),
            tuple(self.notes),
            tuple(self.references),
            self.previous_id,
            self.previous_context,
            self.obsolete,
        )

    def changed(self) -> bool:
        return self.raw is None or self.read_as != self.content()


class Catalog:
    """The entries of one PO file in file order; the header is the entry with an empty msgid."""

    def __init__(self, header: Entry, entries: list[Entry] | None = None, ending: str = "\n") -> None:
        self.header = header
        self.entries: list[Entry] = list(entries or [])
        self.ending = ending  # how the file ended (babel leaves a blank line): kept, so nothing churns

    def __iter__(self):
        return (entry for entry in self.entries if not entry.obsolete and not entry.opaque)

    def get(self, source: str, context: str | None = None) -> Entry | None:
        for entry in self:
            if entry.id == source and entry.context == context:
                return entry
        return None

    @property
    def obsolete(self) -> list[Entry]:
        return [entry for entry in self.entries if entry.obsolete]

    def header_value(self, name: str) -> str | None:
        for line in self.header.string.split("\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return None

    def set_header(self, name: str, value: str) -> None:
        """Set one header field in place (or add it at the end), leaving every other field as it is."""
        lines = self.header.string.split("\n")
        for number, line in enumerate(lines):
            key, sep, _ = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                lines[number] = f"{key}: {value}"
                break
        else:
            at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
            lines.insert(at, f"{name}: {value}")
        self.header.string = "\n".join(lines)


class CatalogSyntaxError(NewsletterError):
    """A PO file that msgfmt would refuse."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: not a valid PO file: {reason}", hint=KEEP_THE_FILE)
        self.path, self.line, self.reason = path, line, reason


def read_catalog(path: Path) -> Catalog:
    """A PO file as a Catalog, or CatalogSyntaxError naming file and line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NewsletterError(
            f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})",
            hint="save it as UTF-8 in a PO editor; keep the file: it holds approved work",
        ) from None
    return parse_catalog(text.removeprefix("\ufeff"), path)


def parse_catalog(text: str, path: Path) -> Catalog:
    """Parse PO text: every entry with its raw text, flags, comments and previous source."""
    entries: list[Entry] = []
    current = _Reading(path)
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not line.strip():
            current.close(entries, number)
            continue
        current.take(line, number, entries)
    current.close(entries, 0)
    seen: dict[tuple, int] = {}
    header = None
    for entry in entries:
        if entry.id == "" and entry.context is None and not entry.obsolete:
            if header is not None:
                raise CatalogSyntaxError(path, entry.line, 'a second header entry (msgid "")')
            header = entry
            continue
        if entry.obsolete or entry.opaque:
            continue
        if entry.key in seen:
            raise CatalogSyntaxError(
                path, entry.line, f"duplicate message definition (first at line {seen[entry.key]})"
            )
        seen[entry.key] = entry.line
    if header is None:
        header = Entry("", "Content-Type: text/plain; charset=UTF-8\n")
    else:
        entries.remove(header)
    text = text.replace("\r\n", "\n")
    return Catalog(header, entries, ending=text[len(text.rstrip("\n")) :] or "\n")


class _Reading:
    """The entry being read, line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reset()

    def reset(self) -> None:
        self.lines: list[str] = []
        self.entry = Entry("")
        self.field: str | None = None  # which string a continuation line adds to
        self.values: dict[str, str] = {}
        self.seen_msgstr = False
        self.has_id = False

    def fail(self, number: int, reason: str) -> NoReturn:
        raise CatalogSyntaxError(self.path, number, reason)

    def take(self, line: str, number: int, entries: list[Entry]) -> None:
        if self.seen_msgstr and not self._continues(line):
            self.close(entries, number)
        self.lines.append(line)
        if line.startswith("#~"):
            self.entry.obsolete = True
            rest = line[2:]
            if rest.startswith("|"):
                return self._previous(rest[1:].lstrip(), number)
            return self._keyword(rest.lstrip(), number)
        if line.startswith("#|"):
            return self._previous(line[2:].lstrip(), number)
        if line.startswith("#,"):
            self.entry.flags += [flag.strip() for flag in line[2:].split(",") if flag.strip()]
        elif line.startswith("#."):
            self.entry.notes.append(line[2:].removeprefix(" "))
        elif line.startswith("#:"):
            self.entry.references += line[2:].split()
        elif line.startswith("#"):
            self.entry.comments.append(line[1:].removeprefix(" "))
        else:
            self._keyword(line, number)

    def _continues(self, line: str) -> bool:
        stripped = line[2:].lstrip() if line.startswith("#~") else line
        return stripped.startswith('"') or stripped.startswith("msgstr[")

    def _previous(self, text: str, number: int) -> None:
        match = KEYWORD.match(text)
        if match and match.group(1) in ("msgctxt", "msgid"):
            self.field = "previous " + match.group(1)
            self.values[self.field] = self._string(match.group(2) or "", number)
        elif text.startswith('"') and self.field and self.field.startswith("previous "):
            self.values[self.field] += self._string(text, number)
        else:
            self.fail(number, "a '#|' line holds the previous msgctxt or msgid")

    def _keyword(self, text: str, number: int) -> None:
        if text.startswith('"'):
            if self.field is None or self.field.startswith("previous "):
                self.fail(number, "a string with no keyword before it")
            self.values[self.field] += self._string(text, number)
            return
        match = KEYWORD.match(text)
        if not match:
            word = text.split()[0] if text.split() else text
            self.fail(number, f"unknown keyword {word!r}: expected msgctxt, msgid or msgstr")
        keyword = match.group(1)
        order = {"msgctxt": 0, "msgid": 1, "msgid_plural": 2}.get(keyword, 3)
        if keyword == "msgctxt" and ("msgid" in self.values or "msgctxt" in self.values):
            self.fail(number, "msgctxt must come before msgid")
        if order >= 2 and not self.has_id:
            self.fail(number, f"{keyword} without a msgid before it")
        if keyword == "msgid" and self.has_id:
            self.fail(number, f"missing msgstr for msgid {self.values['msgid']!r}")
        if keyword == "msgid":
            self.has_id = True
            self.entry.line = number
        if keyword.startswith("msgstr"):
            self.seen_msgstr = True
            self.entry.string_line = self.entry.string_line or number
        if keyword in ("msgid_plural",) or keyword.startswith("msgstr["):
            self.entry.opaque = True
        self.field = keyword
        self.values[keyword] = self._string(match.group(2) or "", number)

    def _string(self, text: str, number: int) -> str:
        match = STRING.match(text)
        if not match:
            stripped = text.strip()
            if not stripped.startswith('"'):
                self.fail(number, "a string must be in double quotes")
            if (
                len(stripped) < 2
                or not stripped.endswith('"')
                or stripped.endswith('\\"')
                and not stripped.endswith('\\\\"')
            ):
                self.fail(number, 'the string is not closed: a " is missing at the end of the line')
            self.fail(number, 'a " inside the text must be written \\"')
        return ESCAPE.sub(lambda m: self._unescape(m, number), match.group(1))

    def _unescape(self, match, number: int) -> str:
        octal, hexa, char = match.groups()
        if octal:
            return chr(int(octal, 8))
        if hexa:
            return chr(int(hexa, 16))
        if char not in UNESCAPE:
            self.fail(number, f"invalid escape sequence \\{char}")
        return UNESCAPE[char]

    def close(self, entries: list[Entry], number: int) -> None:
        if not self.lines:
            return
        if not self.has_id:
            if any(not line.startswith("#") for line in self.lines) or self.entry.obsolete:
                self.fail(number or 1, "an entry without msgid")
            return self._comments_only(entries)
        if not self.seen_msgstr:
            self.fail(self.entry.line, f"missing msgstr for msgid {self.values['msgid']!r}")
        entry = self.entry
        entry.id = self.values["msgid"]
        entry.context = self.values.get("msgctxt")
        entry.string = self.values.get("msgstr", "")
        entry.previous_id = self.values.get("previous msgid")
        entry.previous_context = self.values.get("previous msgctxt")
        entry.raw = "\n".join(self.lines)
        entry.read_as = entry.content()
        entries.append(entry)
        self.reset()

    def _comments_only(self, entries: list[Entry]) -> None:
        # Comment lines with no entry (a file's closing remarks): kept as they are.
        entry = Entry(f"\0comment-{len(entries)}", opaque=True, raw="\n".join(self.lines))
        entry.read_as = entry.content()
        entries.append(entry)
        self.reset()


def po_text(catalog: Catalog) -> str:
    """The catalog as PO text: unchanged entries exactly as read, changed ones as gettext writes them."""
    blocks = [_block(catalog.header)] + [_block(entry) for entry in catalog.entries if not entry.obsolete]
    blocks += [_block(entry) for entry in catalog.entries if entry.obsolete]
    return "\n\n".join(blocks) + catalog.ending


def _block(entry: Entry) -> str:
    if not entry.changed() or entry.opaque:
        return entry.raw or ""
    lines = ["# " + comment if comment else "#" for comment in entry.comments]
    lines += ["#. " + note if note else "#." for note in entry.notes]
    lines += reference_lines(entry.references)
    if entry.flags:
        lines.append("#, " + ", ".join(entry.flags))
    prefix = "#~ " if entry.obsolete else ""
    if entry.previous_context is not None:
        lines += string_lines("msgctxt", entry.previous_context, prefix + "#| " if not prefix else "#~| ")
    if entry.previous_id is not None:
        lines += string_lines("msgid", entry.previous_id, prefix + "#| " if not prefix else "#~| ")
    if entry.context is not None:
        lines += string_lines("msgctxt", entry.context, prefix)
    lines += string_lines("msgid", entry.id, prefix)
    lines += string_lines("msgstr", entry.string, prefix)
    return "\n".join(lines)


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write atomically: a crash leaves the old file or the new one."""
    from .files import write_atomically

    write_atomically(path, po_text(catalog).encode("utf-8"))
