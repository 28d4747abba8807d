"""A small schema for TOML settings: required/optional keys, types, and the line a key sits on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import get_close_matches

TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "a table",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}

Finding = tuple[tuple[str, ...], str, "str | None"]


@dataclass(frozen=True)
class Table:
    """A TOML table: its keys, each a type (or tuple of types) or a nested Table."""

    required: dict = field(default_factory=dict)
    optional: dict = field(default_factory=dict)
    # For a table of named tables ([segments.NAME]): the shape every entry must have.
    each: Table | None = None

    def known(self) -> dict:
        return {**self.required, **self.optional}


def validate(data: dict, table: Table, prefix: tuple[str, ...] = ()) -> Iterator[Finding]:
    """Yield (key path, message, hint) for every missing, unknown or mistyped key."""
    known = table.known()
    if table.each is not None:
        for key, value in data.items():
            if not isinstance(value, dict):
                yield (
                    (*prefix, key),
                    f"'{_dotted(prefix, key)}' must be a table",
                    f"write it as [{_dotted(prefix, key)}]",
                )
            else:
                yield from validate(value, table.each, (*prefix, key))
        return
    for key in data:
        if key not in known:
            close = get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            yield (*prefix, key), f"unknown key '{_dotted(prefix, key)}'", hint
    for key, kind in known.items():
        if key not in data:
            if key in table.required:
                yield prefix, f"missing key '{_dotted(prefix, key)}'", _missing_hint(key, kind)
            continue
        value = data[key]
        if isinstance(kind, Table):
            if not isinstance(value, dict):
                yield (
                    (*prefix, key),
                    f"'{_dotted(prefix, key)}' must be a table",
                    f"write it as [{_dotted(prefix, key)}]",
                )
            else:
                yield from validate(value, kind, (*prefix, key))
            continue
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints in Python; a bool is never a number here.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)
            yield (*prefix, key), f"'{_dotted(prefix, key)}' must be {wanted}, not {_describe(value)}", None


def locate_key(text: str, key_path: tuple[str, ...]) -> int:
    """The 1-based line of a key (or of its table header) in TOML text; 0 if not found."""
    if not key_path:
        return 0
    *tables, key = key_path
    table = ".".join(tables)
    current = ""
    header_line = 0
    key_re = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    header_re = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
    for number, line in enumerate(text.splitlines(), 1):
        header = header_re.match(line)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            if current == table:
                header_line = number
            if current == ".".join(key_path):
                return number
            continue
        if current == table and key_re.match(line):
            return number
    # A key inside an inline table ({ ru = "…" }) has no line of its own: point at its parent.
    if not header_line and len(key_path) > 1:
        return locate_key(text, key_path[:-1])
    return header_line


def _dotted(prefix: tuple[str, ...], key: str) -> str:
    return ".".join((*prefix, key))


def _missing_hint(key: str, kind) -> str:
    if isinstance(kind, Table):
        return f"add a [{key}] table"
    return f"add {key} = …"


def _describe(value) -> str:
    for kind, name in TYPE_NAMES.items():
        if isinstance(value, bool):
            return "true/false"
        if isinstance(value, kind):
            return name
    return type(value).__name__
