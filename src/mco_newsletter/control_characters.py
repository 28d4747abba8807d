"""Characters no digest holds, found in the file's text, in a front-matter value or behind a character reference.

C0 and C1 controls but tab and line feed (so a lone carriage return too), DEL, and the Unicode line
separators, which YAML and mail clients would take for line breaks: they come from copy and paste,
and in a title they would reach the email's headers.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import Problem

CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def control_problems(text: str, path: Path) -> list[Problem]:
    """One problem per line holding a control character (the first one on the line)."""
    if not CONTROL_RE.search(text):  # the usual case: one scan of the whole text instead of one per line
        return []
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        found = CONTROL_RE.search(line)
        if found:
            problems.append(Problem(path, number, *describe_control(found.group())))
    return problems


def describe_control(character: str) -> tuple[str, str]:
    """The message and hint for an invisible character found in the text."""
    if character == "\r":
        return (
            "a carriage return (CR) without a line feed",
            "save the file with Unix (LF) or Windows (CRLF) line endings",
        )
    return (
        f"control character U+{ord(character):04X}",
        "remove it: an editor that shows invisible characters helps (it often comes from copy and paste)",
    )


def control_in_value(path: Path, line: int, key: str, value: str) -> Problem:
    """The problem of a front-matter value holding a control character (or a line break, in a keyword).

    A YAML escape ("\\r", "\\x1b", "\\u0000") puts into a value what the file's text does not show.
    """
    match = CONTROL_RE.search(value) or re.search("\n", value)
    assert match is not None, "called for a value that holds a control character"
    found = match.group()
    return Problem(
        path,
        line,
        f"'{key}' contains a control character (U+{ord(found):04X})",
        "remove the escape sequence (\\r, \\x.., \\u....) from the value",
    )
