"""[privacy] in newsletter.toml, and what it asks of an issue: how pictures travel, and no address that tracks.

A picture loaded from a server when the email is opened tells whoever watches that server or the
network who read the digest and when: for these readers that is a tracking pixel. Pictures travel
inside the message by default; remote ones are refused unless the organisation decides otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import Problem
from ..issue import Issue
from ..issue_blocks import Image
from ..issue_walk import all_blocks, inline_texts
from ..schema import Finding, Table

IMAGE_MODES = ("embedded", "linked", "none")
SCHEMA = {"privacy": Table(optional={"images": str, "allow_remote_images": bool})}


@dataclass(frozen=True)
class PrivacySettings:
    """How the issue's pictures reach the reader: inside the message, from base_url, or not at all."""

    images: str = "embedded"
    allow_remote_images: bool = False


def check(data: dict) -> Iterator[Finding]:
    """Findings for [privacy] values that are well-typed but wrong."""
    images = data.get("privacy", {}).get("images", "embedded")
    if images not in IMAGE_MODES:
        yield (
            ("privacy", "images"),
            f"unknown privacy.images {images!r}",
            "use embedded (inside the message), linked (loaded from base_url when opened) or none (alt text)",
        )


def build(root: Path, data: dict) -> PrivacySettings:
    """The typed [privacy] table."""
    return PrivacySettings(**data.get("privacy", {}))


def issue_findings(issue: Issue, privacy: PrivacySettings) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of an issue's pictures and links: remote pictures, plain-http addresses."""
    from ..pictures import is_local, picture_problem
    from .markup import links

    problems: list[Problem] = []
    warnings: list[Problem] = []
    for block in all_blocks(issue.intro, issue.sections):
        if not isinstance(block, Image):
            continue
        if urlsplit(block.src).scheme.lower() == "http":
            problems.append(
                Problem(
                    issue.path,
                    block.line,
                    f"picture {block.src!r} is loaded over plain http",
                    "anyone on the network path sees who opens it: put the picture beside issue.md",
                )
            )
        elif not is_local(block.src):
            if not privacy.allow_remote_images:
                problems.append(
                    Problem(
                        issue.path,
                        block.line,
                        f"picture {block.src!r} is loaded from another server when the email is opened",
                        "put the picture beside issue.md (or set [privacy] allow_remote_images = true)",
                    )
                )
        else:
            # The parser made sure the file is there; here it must be a real picture inside the folder.
            problem = picture_problem(issue.folder, block.src)
            if problem:
                problems.append(Problem(issue.path, block.line, problem, None))
    for text, line in inline_texts(issue):
        for href in links(text):
            if urlsplit(href).scheme.lower() == "http":
                warnings.append(
                    Problem(
                        issue.path,
                        line,
                        f"link {href!r} is plain http",
                        "anyone on the network path sees what the reader opens: use https if the site has it",
                    )
                )
    return problems, warnings
