"""Issue text (Markdown inline: emphasis and links) → escaped HTML for the email, plain text for the text part."""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from ..clickable import POSSIBLE


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    from ..clickable import with_links

    # html=False: anything that looks like a tag is shown as text, never passed through. Bare addresses are links,
    # as the reader's mail client would make them anyway (and as the translation rules count them).
    return with_links(MarkdownIt("commonmark", {"html": False}))


# The characters at which CommonMark's inline rules (emphasis, links, pictures, autolinks, HTML, entities,
# escapes, code, line breaks) can start, and those its input normalisation replaces; and what every address the
# linkifier finds has (clickable.POSSIBLE). A text without any of them comes out of markdown-it as one text
# token: the text itself, escaped for HTML. Most paragraphs are such text, and skipping the parser halves the
# cost of rendering them (tests/test_escaping.py holds the two equal).
_MARKDOWN_INLINE = re.compile(r"[\n\r\0\\`*_\[!<&~]|" + POSSIBLE.pattern)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@lru_cache(maxsize=4096)
def inline_html(text: str, link_style: str = "") -> Markup:
    """Markdown inline text as HTML; every character of the source text is escaped.

    `link_style` goes inline on every link: mail clients that strip <style> (Gmail for other
    accounts) keep an attribute, so links keep the colour that marks them.
    """
    if not _MARKDOWN_INLINE.search(text):  # nothing Markdown would act on: its output is the escaped text
        return Markup(_escape_html(text).strip())
    html = _markdown().renderInline(text).strip()
    if link_style:
        html = html.replace("<a href=", f'<a style="{escape(link_style)}" href=')
    return Markup(html)


@lru_cache(maxsize=4096)
def inline_text(text: str) -> str:
    """Markdown inline text as plain text: markers dropped, links written as 'label (address)'."""
    if not _MARKDOWN_INLINE.search(text):
        return text
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
            # An address shown as itself (bare, or an autolink) is written once, as the reader's client shows it.
            automatic = token.markup in ("linkify", "autolink")
            links.append(("" if automatic else str(token.attrs.get("href", "")), len(out)))
        elif token.type == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            shown = href.removeprefix("mailto:")
            if href and label != shown and label != href:
                out.append(f" ({shown})")
        elif token.type == "image":
            out.append(token.content)
    return "".join(out)


# Spaces a line must not break at: inside an amount ("130 000 рублей", "€ 50", "100 EUR") and a date
# ("9 июля 2024 г.", "9. Juli 2024", "July 9, 2024"). Each such space stands next to a number (or one
# character from it), so only those spaces are tried: this runs on every paragraph of the text part.
_CURRENCY = r"(?:[€$£₽¥%]|EUR|USD|GBP|RUB|руб\.|рубл[а-яё]*|евро|доллар[а-яё]*|Euro)(?!\w)"
_WORD = r"[^\W\d_]"
_TOGETHER = re.compile(
    r" (?:"
    rf"(?<=\d )(?=\d{{3}}(?!\d)|{_CURRENCY}|{_WORD}{{3,}}\.? \d{{4}}(?!\d))"  # 130 000, 50 €, 9 июля 2024
    rf"|(?<=[€$£₽¥] )(?=\d)"  # € 50
    rf"|(?<=\d\. )(?={_WORD}{{3,}}\.? \d{{4}}(?!\d))"  # 9. Juli 2024
    rf"|(?<={_WORD}{{3}} )(?=\d{{4}}(?!\d)|\d{{1,2}}, \d{{4}}(?!\d))"  # июля 2024, July 9, 2024
    rf"|(?<={_WORD}{{3}}\. )(?=\d{{4}}(?!\d))"  # Jan. 2024
    rf"|(?<=\d, )(?=\d{{4}}(?!\d))"  # 9, 2024
    r"|(?<=\d )(?=г\.)"  # 2024 г.
    r")"
)
_DIGITS = re.compile(r"\d+")


def keep_together(text: str) -> str:
    """Join numbers, amounts and dates with no-break spaces, so that a line never breaks inside them."""
    chars = None
    for digits in _DIGITS.finditer(text):
        for at in (digits.start() - 1, digits.end(), digits.end() + 1):
            if 0 <= at < len(text) and text[at] == " " and _TOGETHER.match(text, at):
                chars = chars or list(text)
                chars[at] = "\xa0"
    return "".join(chars) if chars else text


def wrap(text: str, width: int = 72, indent: str = "", first: str | None = None) -> str:
    """Wrap plain text to `width`, never breaking a word, an address, a number, an amount or a date in two."""
    first = indent if first is None else first
    lines: list[str] = []
    for number, part in enumerate(keep_together(text).split("\n")):
        lines.extend(_wrap_line(part, width, first if number == 0 else indent, indent) or [indent.rstrip()])
    return "\n".join(lines)


# textwrap turns each of these into a space (after expanding tabs). A run of other whitespace standing alone
# between spaces (a lone no-break space) is a chunk textwrap drops at a line's ends: such rare lines go to
# textwrap itself. Every whitespace character but the space is unprintable, so most lines skip both checks.
_TO_SPACE = str.maketrans("\n\x0b\x0c\r", "    ")
_LONE_OTHER_SPACE = re.compile(r"(?:^| )[^\S ]+(?= |$)")


def _wrap_line(text: str, width: int, first: str, indent: str) -> list[str]:
    """One line of text wrapped as textwrap.TextWrapper(break_long_words=False, break_on_hyphens=False) would,
    breaking at ordinary spaces only; textwrap's chunk-by-chunk loop was a quarter of a render's time."""
    if width <= 0:
        raise ValueError(f"invalid width {width!r} (must be > 0)")
    if not text.isprintable():
        text = text.expandtabs().translate(_TO_SPACE)
        if _LONE_OTHER_SPACE.search(text):
            return _textwrap_line(text, width, first, indent)
    lines: list[str] = []
    start, end = 0, len(text)
    while start < end:
        prefix = indent if lines else first
        room = width - len(prefix)
        if end - start <= room:
            line = text[start:].rstrip(" ")
            start = end
        else:
            cut = text.rfind(" ", start, start + max(room + 1, 0))
            if cut < 0:  # one word longer than the line: it stands alone, unbroken
                cut = text.find(" ", start)
                cut = end if cut < 0 else cut
            line = text[start:cut].rstrip(" ")
            start = cut
        while start < end and text[start] == " ":  # the spaces a line breaks at are dropped
            start += 1
        if line:
            lines.append(prefix + line)
    return lines


def _textwrap_line(text: str, width: int, first: str, indent: str) -> list[str]:
    import textwrap

    wrapper = textwrap.TextWrapper(
        width=width, initial_indent=first, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )
    wrapper.wordsep_simple_re = re.compile(r"([\t\n\x0b\x0c\r ]+)")
    return wrapper.wrap(text)


@lru_cache(maxsize=4096)
def links(text: str) -> tuple[str, ...]:
    """The addresses of the links in Markdown inline text."""
    tokens = _markdown().parseInline(text)[0].children or []
    return tuple(str(token.attrs.get("href", "")) for token in tokens if token.type == "link_open")
