"""The blocks an issue's body is made of (issue_body.py parses them from Markdown): paragraphs, images, lists,
quotes, and the sections under `##` headings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Paragraph:
    """A paragraph (or list item) as Markdown inline text: emphasis and links, nothing else."""

    kind: ClassVar[str] = "paragraph"

    text: str
    line: int


@dataclass(frozen=True)
class Image:
    """An image standing alone in a paragraph; alt text is required."""

    kind: ClassVar[str] = "image"

    src: str
    alt: str
    title: str
    line: int


@dataclass(frozen=True)
class ItemList:
    """A bulleted or numbered list whose items are single paragraphs."""

    kind: ClassVar[str] = "list"

    items: tuple[Paragraph, ...]
    ordered: bool
    start: int
    line: int


@dataclass(frozen=True)
class Quote:
    """A blockquote holding paragraphs, lists or images."""

    kind: ClassVar[str] = "quote"

    blocks: tuple[Block, ...]
    line: int


Block = Paragraph | Image | ItemList | Quote


@dataclass(frozen=True)
class Section:
    """A `##` heading and the blocks under it."""

    heading: str
    blocks: tuple[Block, ...]
    line: int
