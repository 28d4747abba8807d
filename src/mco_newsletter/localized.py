"""Reader-visible settings given once or per language, with one fallback rule: the reader's language, else the
source's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from .schema import Finding

# Control characters other than a line break have no place in anything a reader sees.
_CONTROL = {chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))} - {"\n"}


class Localized(str):
    """A setting readers see: as a string, the source language's text; `.of(language)` gives a reader's.

    A str subclass so that every use written before the setting could vary by language keeps
    working (and shows the source language's text) while the renderer asks for the reader's.
    """

    values: Mapping[str, str]

    def __new__(cls, value: str | Mapping[str, str], source: str) -> Localized:
        values = {source: value} if isinstance(value, str) else dict(value)
        text = super().__new__(cls, values[source])
        text.values = MappingProxyType(values)
        return text

    def of(self, language: str) -> str:
        """The text in `language`, or the source language's when that language has none."""
        return self.values.get(language) or str(self)


def check_localized(data: dict, key_path: tuple[str, ...], *, one_line: bool = False) -> Iterator[Finding]:
    """Findings for a string-or-table-per-language setting: known languages, the source's given, usable text."""
    value: object = data
    for key in key_path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return
    dotted = ".".join(key_path)
    languages, source = data["languages"], data["source_language"]
    entries = value.items() if isinstance(value, dict) else [(None, value)]
    if isinstance(value, dict) and source not in value:
        yield (
            key_path,
            f"{dotted} has no entry for the source language {source!r}",
            f'add {source} = "…": readers of a language without an entry get it',
        )
    for code, text in entries:
        where = key_path if code is None else (*key_path, code)
        name = dotted if code is None else f"{dotted}.{code}"
        if code is not None and code not in languages:
            yield (
                where,
                f"{dotted} is given for {code!r}, which is not in languages",
                f"use some of {', '.join(map(str, languages))}",
            )
        elif not isinstance(text, str) or not text.strip():
            yield where, f"{name} must be non-empty text", None
        elif one_line and "\n" in text.strip():
            yield where, f"{name} must be one line", None
        elif any(ch in _CONTROL for ch in text):
            yield where, f"{name} holds a control character", "write plain text"
