"""Walking an issue (or an edition) in reading order: every block, quotes opened, and every text a reader sees."""

from __future__ import annotations

from collections.abc import Iterator

from .issue import Issue
from .issue_blocks import Block, ItemList, Paragraph, Quote, Section


def all_blocks(intro: tuple[Block, ...], sections: tuple[Section, ...]) -> Iterator[Block]:
    """Every block of the intro and the sections, the blocks inside quotes right after their quote."""
    pending = list(intro) + [block for section in sections for block in section.blocks]
    while pending:
        block = pending.pop(0)
        yield block
        if isinstance(block, Quote):
            pending[:0] = list(block.blocks)


def inline_texts(issue: Issue) -> Iterator[tuple[str, int]]:
    """Every piece of Markdown inline text with its line: headings, paragraphs, list items, the closing."""
    for section in issue.sections:
        yield section.heading, section.line
    for block in all_blocks(issue.intro, issue.sections):
        if isinstance(block, Paragraph):
            yield block.text, block.line
        elif isinstance(block, ItemList):
            yield from ((item.text, item.line) for item in block.items)
    if issue.closing:
        yield issue.closing, issue.lines.get("closing", 1)
