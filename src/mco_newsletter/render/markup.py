"""Issue text (Markdown inline: emphasis and links) → escaped HTML for the email, plain text for the text part."""

from __future__ import annotations

import textwrap
from functools import lru_cache

from markupsafe import Markup


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    # html=False: anything that looks like a tag is shown as text, never passed through.
    return MarkdownIt("commonmark", {"html": False})


@lru_cache(maxsize=4096)
def inline_html(text: str) -> Markup:
    """Markdown inline text as HTML; every character of the source text is escaped."""
    return Markup(_markdown().renderInline(text).strip())


@lru_cache(maxsize=4096)
def inline_text(text: str) -> str:
    """Markdown inline text as plain text: markers dropped, links written as 'label (address)'."""
    tokens = _markdown().parseInline(text)[0].children or []
    out: list[str] = []
    links: list[tuple[str, int]] = []
    for token in tokens:
        if token.type in ("text", "code_inline", "html_inline"):
            out.append(token.content)
        elif token.type == "softbreak":
            out.append(" ")
        elif token.type == "hardbreak":
            out.append("\n")
        elif token.type == "link_open":
            links.append((str(token.attrs.get("href", "")), len(out)))
        elif token.type == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            shown = href.removeprefix("mailto:")
            if label != shown and label != href:
                out.append(f" ({shown})")
        elif token.type == "image":
            out.append(token.content)
    return "".join(out)


def wrap(text: str, width: int = 72, indent: str = "", first: str | None = None) -> str:
    """Wrap plain text to `width`, never breaking a word or an address in two."""
    first = indent if first is None else first
    lines = []
    for number, part in enumerate(text.split("\n")):
        lines.extend(textwrap.wrap(part, width=width, initial_indent=first if number == 0 else indent,
                                   subsequent_indent=indent, break_long_words=False,
                                   break_on_hyphens=False) or [indent.rstrip()])
    return "\n".join(lines)
