"""What of a piece of issue text is human language: Markdown syntax, link targets, URLs, addresses and
numbers are kept exactly; only the runs of words between them go to the model, sentence by sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    """,
    re.VERBOSE,
)
LETTER = re.compile(r"[^\W\d_]")
CLAUSE_END = re.compile(r"(?:[,;:]|\s[–—])\s*$")


def split_markup(text: str) -> list[tuple[bool, str]]:
    """The text as (translate?, part) pairs whose parts join back to the text."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in KEEP.finditer(text):
        if match.start() > position:
            parts.append((True, text[position : match.start()]))
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
    trail = run[len(run.rstrip()) :]
    pieces = [piece.strip() for piece in _segmenter(language).segment(stripped) if piece.strip()]
    return lead, pieces or [stripped], trail


def spaced_sentences(run: str, language: str) -> list[tuple[str, str]]:
    """The run as (sentence, the space after it) pairs, after any leading space, which the caller keeps."""
    found = []
    for segment in _segmenter(language).segment(run.strip()):
        text = segment.rstrip()
        if text.strip():
            found.append([text.lstrip(), segment[len(text) :]])
        elif found:  # a segment of space only: it belongs to the sentence before
            found[-1][1] += segment
    return [(text, space) for text, space in found] or [(run.strip(), "")]


def split_unknown(text: str, known: Callable[[str], bool]) -> list[tuple[bool, str]]:
    """The text as (translate?, part) pairs: runs of characters the model does not know are kept apart.

    A model turns a character outside its vocabulary (an emoji, a rare letter) into " ⁇ "; kept out of
    the model, it is put back exactly where it stood.
    """
    parts: list[tuple[bool, str]] = []
    for char in text:
        good = char.isspace() or known(char)
        if parts and parts[-1][0] == good:
            parts[-1] = (good, parts[-1][1] + char)
        else:
            parts.append((good, char))
    return [(good and bool(LETTER.search(part)), part) for good, part in parts]


def split_long(sentence: str, count: Callable[[str], int], limit: int) -> list[tuple[str, str]]:
    """A sentence longer than `limit` tokens as (chunk, the space after it) pairs of at most `limit` tokens.

    A chunk ends after a comma, semicolon, colon or dash in its last third where there is one, else at
    a space; a single word longer than the limit is cut (no model can take it whole).
    """
    if count(sentence) <= limit:
        return [(sentence, "")]
    chunks: list[str] = []
    current: list[str] = []
    for word in re.findall(r"\S+\s*", sentence):
        while count(word.rstrip()) > limit:
            if current:
                chunks.append("".join(current))
                current = []
            cut = _fit(word, count, limit)
            chunks.append(word[:cut])
            word = word[cut:]
        if current and count("".join(current) + word.rstrip()) > limit:
            at = _clause_end(current)
            chunks.append("".join(current[:at]))
            current = current[at:]
            if current and count("".join(current) + word.rstrip()) > limit:
                chunks.append("".join(current))
                current = []
        current.append(word)
    if current:
        chunks.append("".join(current))
    return [(chunk.rstrip(), chunk[len(chunk.rstrip()) :]) for chunk in chunks]


def _clause_end(words: list[str]) -> int:
    """How many of the words to keep in a chunk: up to the last clause break in their last third, or all."""
    for at in range(len(words) - 1, max(1, len(words) * 2 // 3) - 1, -1):
        if CLAUSE_END.search(words[at - 1]):
            return at
    return len(words)


def _fit(word: str, count: Callable[[str], int], limit: int) -> int:
    """The longest start of a word that stays within the limit (at least one character)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if count(word[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
