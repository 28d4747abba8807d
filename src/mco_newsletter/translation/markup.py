"""What of a piece of issue text is human language: Markdown syntax, link targets, URLs, addresses and
numbers are kept exactly; only the runs of words between them go to the model, sentence by sentence."""

from __future__ import annotations

import re
from functools import lru_cache

# Order matters: the first alternative that matches at a position wins.
KEEP = re.compile(
    r"""
      \]\([^)\s]*(?:\s+"[^"]*")?\)        # a link's target: ](https://… "title")
    | !?\[                                 # a link's or image's opening bracket
    | <(?:https?://|mailto:)[^>\s]+>       # an autolink
    | (?:https?://|www\.)[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'"»”]   # a bare URL
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+         # an e-mail address
    | \b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b   # an IBAN
    | \d+(?:[.,:/–-]\d+)*                  # a number, a date, a range
    | \\[^\w\s]                            # a backslash escape
    | \*{1,3}|(?<!\w)_{1,3}|_{1,3}(?!\w)   # emphasis markers
    | \n                                   # a hard line break
    """, re.VERBOSE)
LETTER = re.compile(r"[^\W\d_]")


def split_markup(text: str) -> list[tuple[bool, str]]:
    """The text as (translate?, part) pairs whose parts join back to the text."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in KEEP.finditer(text):
        if match.start() > position:
            parts.append((True, text[position:match.start()]))
        parts.append((False, match.group()))
        position = match.end()
    if position < len(text):
        parts.append((True, text[position:]))
    # Runs without a letter (spaces, punctuation) are kept as they are too.
    return [(translate and bool(LETTER.search(part)), part) for translate, part in parts]


@lru_cache(maxsize=8)
def _segmenter(language: str):
    import pysbd

    try:
        return pysbd.Segmenter(language=language, clean=False, char_span=False)
    except ValueError:  # a language pysbd does not know: its English rules are a fair guess
        return pysbd.Segmenter(language="en", clean=False, char_span=False)


def sentences(run: str, language: str) -> tuple[str, list[str], str]:
    """Leading space, the sentences of a run of words, trailing space."""
    stripped = run.strip()
    lead = run[: len(run) - len(run.lstrip())]
    trail = run[len(run.rstrip()):]
    pieces = [piece.strip() for piece in _segmenter(language).segment(stripped) if piece.strip()]
    return lead, pieces or [stripped], trail
