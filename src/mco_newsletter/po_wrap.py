"""PO strings written the way GNU gettext (msgcat, msgmerge) and Poedit write them: 79 columns, broken where
Unicode's line-breaking rules (UAX #14) allow, so that a catalog one of them saved and this tool touched
looks the same to the next one.

gettext breaks the *escaped* string with libunistring; the rules below are the part of UAX #14 that text
in Latin and Cyrillic script, numbers, URLs, punctuation and emoji needs.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from itertools import pairwise

WIDTH = 79
ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}
# UAX #14 classes of the punctuation that matters; letters are AL, digits NU, wide symbols ID.
CLASSES = {
    " ": "SP",
    "(": "OP",
    "[": "OP",
    "{": "OP",
    "„": "OP",
    "‚": "OP",
    ")": "CP",
    "]": "CP",
    "}": "CL",
    '"': "QU",
    "'": "QU",
    "«": "QU",
    "»": "QU",
    "“": "QU",
    "”": "QU",
    "‘": "QU",
    "’": "QU",
    "‹": "QU",
    "›": "QU",
    "!": "EX",
    "?": "EX",
    "/": "SY",
    ",": "IS",
    ".": "IS",
    ":": "IS",
    ";": "IS",
    "$": "PR",
    "+": "PR",
    "\\": "PR",
    "£": "PR",
    "€": "PR",
    "№": "PR",
    "%": "PO",
    "°": "PO",
    "‰": "PO",
    "-": "HY",
    "–": "BA",
    "|": "BA",
    "\u00ad": "BA",
    "—": "B2",
    "…": "IN",
    "\u00a0": "GL",
    "\u202f": "GL",
    "\u2007": "GL",
    "\u2060": "WJ",
    "\u200d": "CM",
    "\ufe0f": "CM",
    "\ufe0e": "CM",
}
NO_BREAK_BEFORE = {"CL", "CP", "EX", "IS", "SY"}  # LB13, even after spaces
LETTERS = {"AL"}


@lru_cache(maxsize=4096)
def _class(char: str) -> str:
    if char in CLASSES:
        return CLASSES[char]
    category = unicodedata.category(char)
    if category[0] == "M" or category == "Cf":
        return "CM"
    if category == "Nd":
        return "NU"
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return "ID"
    if category == "Zs":
        return "BA"
    return "AL"


@lru_cache(maxsize=4096)
def _width(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _direct(before: str, after: str) -> bool:
    """May a line break between two adjacent (non-space) classes? UAX #14 rules LB11 to LB31 as gettext's
    libunistring applies them (it breaks between "." and a letter: no LB29)."""
    if before == "WJ" or after == "WJ" or before == "GL":
        return False
    if after == "GL":
        return before in ("BA", "HY")
    if after in NO_BREAK_BEFORE or before == "OP" or "QU" in (before, after):
        return False
    if after in ("BA", "HY", "IN") or before == "B2" and after == "B2":
        return False
    if before in LETTERS | {"NU"} and after in LETTERS | {"NU"}:
        return False
    if before == "PR" and after == "ID" or before == "ID" and after == "PO":
        return False
    if before in ("PR", "PO") and after in LETTERS or before in LETTERS and after in ("PR", "PO"):
        return False
    if before in ("CL", "CP", "NU") and after in ("PO", "PR") or before in ("PO", "PR") and after == "OP":
        return False
    if after == "NU" and before in ("PO", "PR", "HY", "IS", "SY", "OP"):
        return False
    if before in LETTERS | {"NU"} and after == "OP" or before == "CP" and after in LETTERS | {"NU"}:
        return False
    return True


def _possible(text: str, no_break: set[int]) -> list[bool]:
    """For each position, whether a line may break before the character there."""
    classes = [_class(char) for char in text]
    result = [False] * len(text)
    for index in range(1, len(text)):
        after = classes[index]
        if index in no_break or after in ("SP", "CM"):
            continue
        at = index - 1
        while at >= 0 and classes[at] == "SP":
            at -= 1
        base = at
        while base > 0 and classes[base] == "CM":  # a combining mark takes its base's class (LB9)
            base -= 1
        before = classes[base] if base >= 0 and classes[base] not in ("SP", "CM") else "AL"
        if at < index - 1:  # spaces in between: break after them, unless LB13 to LB17 forbid it
            result[index] = not (
                after in NO_BREAK_BEFORE
                or before == "OP"
                or (before == "QU" and after == "OP")
                or (before == after == "B2")
            )
        else:
            result[index] = _direct(before, after)
    return result


def _breaks(text: str, width: int, start: int, no_break: set[int]) -> list[int]:
    """Where libunistring's greedy u8_width_linebreaks breaks the text (positions of line starts)."""
    possible = _possible(text, no_break)
    breaks: list[int] = []
    last = None
    column = start
    piece = 0
    for index, char in enumerate(text):
        if possible[index]:
            if last is not None and column + piece > width:
                breaks.append(last)
                column = 0
            last = index
            column += piece
            piece = 0
        piece += _width(char)
    if last is not None and column + piece > width:
        breaks.append(last)
    return breaks


def _escaped(portion: str) -> tuple[str, set[int]]:
    out: list[str] = []
    no_break: set[int] = set()
    length = 0
    for char in portion:
        escape = ESCAPES.get(char)
        if escape:
            no_break.add(length + 1)
            out.append(escape)
            length += 2
        else:
            out.append(char)
            length += 1
    text = "".join(out)
    if portion.endswith("\n"):
        no_break.add(len(text) - 2)  # never break right before the final "\n"
    return text, no_break


def string_lines(keyword: str, value: str, prefix: str = "", width: int = WIDTH) -> list[str]:
    """The lines of `keyword "value"` as gettext writes them, each starting with prefix ("#~ ", "#| ")."""
    portions = value.splitlines(keepends=True) or [""]
    after = len(prefix) + 1  # a continuation line starts with the prefix and the opening quote
    inner = width - 1 - after
    escaped = [_escaped(portion) for portion in portions]
    if len(escaped) == 1:
        text, no_break = escaped[0]
        if not _breaks(text, inner, len(keyword) + 1, no_break):
            return [f'{prefix}{keyword} "{text}"']
    lines = [f'{prefix}{keyword} ""']
    for text, no_break in escaped:
        starts = [0, *_breaks(text, inner, 0, no_break), len(text)]
        lines += [f'{prefix}"{text[a:b]}"' for a, b in pairwise(starts)]
    return lines


def reference_lines(references: list[str], width: int = WIDTH) -> list[str]:
    """`#:` lines holding file:line references, filled up to the width as gettext does."""
    lines: list[str] = []
    current = "#:"
    for reference in references:
        if len(current) > 2 and len(current) + 1 + len(reference) > width:
            lines.append(current)
            current = "#:"
        current += " " + reference
    if len(current) > 2:
        lines.append(current)
    return lines
