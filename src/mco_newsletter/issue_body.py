"""The Markdown body of issue.md → intro blocks and `##` sections, refusing what email cannot carry."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .control_characters import CONTROL_RE
from .errors import NewsletterError, Problem
from .issue_blocks import Block, Image, ItemList, Paragraph, Quote, Section
from .pictures import is_local, picture_name, verified_picture
from .wording import N_

if TYPE_CHECKING:  # markdown-it-py is imported when an issue is first parsed
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

LINK_SCHEMES = ("http", "https", "mailto")
DEFINITION_RE = re.compile(r" {0,3}\[([^\]]+)\]:")
IMAGE_SCHEMES = ("https", "http")
# The messages translations get too (translation_rules): marked for the review pages' catalogs.
NOT_ALLOWED = {
    "code_block": (N_("indented code is not supported"), "remove the indentation of these lines"),
    "fence": (N_("code blocks are not supported"), "write the text as a paragraph"),
    "hr": ("horizontal rules are not supported", "start a new `##` section instead"),
    "html_block": (N_("raw HTML is not allowed"), "write it in Markdown: *emphasis*, [links](https://…), lists"),
    "table": ("tables are not supported", "write a list instead"),
}
INLINE_NOT_ALLOWED = {
    "html_inline": (N_("raw HTML is not allowed"), "write it in Markdown: *emphasis*, [links](https://…)"),
    "code_inline": (N_("inline code is not supported"), "remove the backticks"),
}


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The one Markdown dialect of issues: CommonMark, HTML recognised (so it can be refused), bare addresses made
    links as mail clients make them (clickable.py), so that the rules hold for them too."""
    from markdown_it import MarkdownIt

    from .clickable import with_links

    parser = with_links(MarkdownIt("commonmark", {"html": True}))
    # Let every link through the parser so that a javascript: or file: link is reported, not silently shown as text.
    parser.validateLink = lambda url: True  # type: ignore[method-assign]  # markdown-it-py's documented hook
    return parser


def parse_body(
    body: str, offset: int, path: Path, problems: list[Problem]
) -> tuple[tuple[Block, ...], tuple[Section, ...]]:
    """Split the body into intro blocks and sections, appending every problem found."""
    from markdown_it.tree import SyntaxTreeNode

    env: dict = {}
    root = SyntaxTreeNode(markdown_parser().parse(body, env))
    reader = _Reader(offset, path, problems)
    body_lines = body.split("\n")
    for label, reference in env.get("references", {}).items():
        # Each paragraph is rendered on its own later, without the definitions: the link would be lost.
        start = (reference.get("map") or [0])[0]
        written = DEFINITION_RE.match(body_lines[start]) if start < len(body_lines) else None
        problems.append(
            Problem(
                path,
                offset + start + 1,
                f"reference-style links are not supported ([{written[1] if written else label}]: …)",
                "write the address in the link itself: [the report](https://example.org/report)",
            )
        )
    intro: list[Block] = []
    sections: list[tuple[str, int, list[Block]]] = []
    for node in root.children:
        if node.type == "heading":
            line = reader.line(node)
            heading = _inline_source(node)
            if node.tag != "h2":
                problems.append(
                    Problem(
                        path,
                        line,
                        f"only `##` headings are allowed, not `{'#' * int(node.tag[1])}`",
                        "each `##` heading opens a section; the title is in the front matter",
                    )
                )
            if not heading.strip():
                problems.append(Problem(path, line, "section has no heading", "write the heading after `## `"))
            reader.check_inline(node)
            sections.append((heading, line, []))
            continue
        block = reader.block(node)
        if block is not None:
            (sections[-1][2] if sections else intro).append(block)
    for heading, line, blocks in sections:
        if not blocks:
            problems.append(
                Problem(
                    path,
                    line,
                    f"section '{heading}' is empty",
                    "write at least one paragraph under the heading, or remove it",
                )
            )
    if not intro and not sections and not problems:
        problems.append(
            Problem(
                path,
                offset + 1,
                "the issue has no text",
                "write an intro paragraph and `##` sections after the front matter",
            )
        )
    return tuple(intro), tuple(Section(h, tuple(b), n) for h, n, b in sections)


class _Reader:
    """Turns syntax-tree nodes into blocks, with lines counted from the top of issue.md."""

    def __init__(self, offset: int, path: Path, problems: list[Problem]) -> None:
        self.offset, self.path, self.problems = offset, path, problems

    def line(self, node) -> int:
        return self.offset + (node.map[0] if node.map else 0) + 1

    def problem(self, node, message: str, hint: str | None) -> None:
        self.problems.append(Problem(self.path, self.line(node), message, hint))

    def block(self, node) -> Block | None:
        if node.type == "paragraph":
            return self.paragraph(node)
        if node.type in ("bullet_list", "ordered_list"):
            return self.item_list(node)
        if node.type == "blockquote":
            blocks = tuple(b for b in map(self.block, node.children) if b is not None)
            return Quote(blocks, self.line(node))
        if node.type == "heading":
            self.problem(
                node,
                "headings are not allowed here",
                "put `##` headings at the start of a line, outside lists and quotes",
            )
            return None
        message, hint = NOT_ALLOWED.get(node.type, (f"{node.type.replace('_', ' ')} is not supported", None))
        self.problem(node, message, hint)
        return None

    def paragraph(self, node) -> Paragraph | Image | None:
        inline = node.children[0]
        children = inline.children
        if len(children) == 1 and children[0].type == "image":
            return self.image(node, children[0])
        self.check_inline(node)
        return Paragraph(_inline_source(node), self.line(node))

    def image(self, node, image) -> Image | None:
        src = image.attrs.get("src", "")
        alt = "".join(child.content for child in image.walk() if child.type == "text").strip()
        title = str(image.attrs.get("title") or "")
        if not alt:
            self.problem(
                node,
                "image has no alt text",
                "describe the picture for readers who cannot see it: ![what it shows](file.jpg)",
            )
        if is_local(src):
            # The file name itself, not markdown-it's percent-encoded form: `фото.png`, `my photo.png`.
            src = picture_name(src)
            try:
                verified_picture(self.path.parent, src)
            except NewsletterError as exc:
                self.problem(node, exc.message, exc.hint)
        elif urlsplit(src).scheme not in IMAGE_SCHEMES:
            self.problem(node, f"image address {src!r} is not http(s) or a file of the issue", None)
        return Image(src, alt, title, self.line(node)) if alt else None

    def item_list(self, node) -> ItemList:
        items = []
        for item in node.children:
            blocks = item.children
            if len(blocks) != 1 or blocks[0].type != "paragraph":
                self.problem(
                    item,
                    "a list item must be a single paragraph",
                    "nested lists and several paragraphs per item are not supported",
                )
                continue
            self.check_inline(blocks[0])
            items.append(Paragraph(_inline_source(blocks[0]), self.line(item)))
        start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 1
        return ItemList(tuple(items), node.type == "ordered_list", start, self.line(node))

    def check_inline(self, node) -> None:
        for child in node.walk():
            found = inline_problem(child)
            if found:
                self.problem(node, *found)


def inline_problem(node: SyntaxTreeNode) -> tuple[str, str | None] | None:
    """What the dialect refuses in one node of inline text, as (message, hint)."""
    refusal = inline_refusal(node)
    if refusal is None:
        return None
    template, values, hint = refusal
    return template % values, hint


def inline_refusal(node: SyntaxTreeNode) -> tuple[str, dict[str, str], str | None] | None:
    """What the dialect refuses in one node of inline text, as (message template, its values, hint); translations
    get the same check, and their translators the message in their language."""
    control = CONTROL_RE.search(node.content) if node.type == "text" else None
    if control:
        # Only an entity gets here (&#7;): a written control character was replaced before parsing.
        found = control.group()
        return (
            N_("the text contains a control character (%(code)s)"),
            {"code": f"U+{ord(found):04X}"},
            "remove the character reference (&#…;)",
        )
    if node.type in INLINE_NOT_ALLOWED:
        message, hint = INLINE_NOT_ALLOWED[node.type]
        return message, {}, hint
    if node.type == "image":
        return (
            N_("an image must stand in a paragraph of its own"),
            {},
            "put a blank line before and after ![alt](file)",
        )
    if node.type == "link":
        href = str(node.attrs.get("href", ""))
        if urlsplit(href).scheme not in LINK_SCHEMES:
            return (
                N_("link target %(target)s is not a web or mailto address"),
                {"target": repr(href)},
                "links need a full address such as https://example.org/page",
            )
    return None


def _inline_source(node) -> str:
    """The Markdown source of a block's inline content, soft line breaks joined with a space."""
    content = node.children[0].content if node.children else ""
    lines = content.split("\n")
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("\\") or text.endswith("  "):
            text += "\n" + line.lstrip()
        else:
            text = text.rstrip() + " " + line.lstrip()
    return text.strip()
