"""The plain-text part's line wrapping: textwrap's lines exactly, in a fraction of its time."""

from __future__ import annotations

import re
import textwrap

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mco_newsletter.render.markup import wrap


class _Textwrap(textwrap.TextWrapper):
    """What the text part was wrapped with before: textwrap, breaking at ordinary spaces only."""

    wordsep_simple_re = re.compile(r"([\t\n\x0b\x0c\r ]+)")


def textwrap_wrap(text: str, width: int, indent: str, first: str) -> str:
    lines = []
    for number, part in enumerate(text.split("\n")):
        wrapper = _Textwrap(width=width, initial_indent=first if number == 0 else indent, subsequent_indent=indent,
                            break_long_words=False, break_on_hyphens=False)
        lines.extend(wrapper.wrap(part) or [indent.rstrip()])
    return "\n".join(lines)


# Words short and long, Cyrillic, every kind of whitespace textwrap treats specially, and no-break spaces.
_PIECES = st.sampled_from(["a", "bb", "слово", "x" * 15, "https://example.org/a/very/long/address/that/never/breaks",
                           " ", " ", "   ", "\t", "\r", "\x0b", "\x0c", "\n", "\xa0", "\u2003", "\x1c", "-", "é"])


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=60), width=st.integers(1, 80),
       indent=st.sampled_from(["", "   ", "> ", ">    "]), first=st.sampled_from(["", " * ", "12. ", ">  * ", "  "]))
@example(pieces=["\xa0", " ", "a"], width=5, indent="", first="  ")
@example(pieces=["x" * 15, " ", "a"], width=2, indent=">    ", first="     ")
def test_lines_are_textwraps_lines(pieces, width, indent, first):
    """Any text, at any width and indent, wraps into exactly the lines textwrap gives (without its cost)."""
    text = "".join(pieces)
    # keep_together runs inside wrap and only turns spaces next to numbers into no-break spaces: no digits here.
    assert wrap(text, width, indent=indent, first=first) == textwrap_wrap(text, width, indent, first)


def test_a_long_word_stands_alone_and_whole():
    """A word longer than the line is never cut: it gets a line of its own."""
    address = "https://example.org/" + "a" * 90
    assert wrap(f"See {address} now.", 72).split("\n") == ["See", address, "now."]
