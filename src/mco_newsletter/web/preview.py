"""The edition as readers will get it, rendered with the current translations, for the review pages.

Approved pieces are shown as they are; drafts (a machine's or a person's) are shown marked, and pieces
with no usable translation yet show their source, marked differently. The marks travel through the
renderer as three rare punctuation characters around each piece (punctuation, so that Markdown's
emphasis rules read the text exactly as they read it unmarked) and become <mark> elements in the HTML's
text; in the head and inside tags (alt text, the title) they are dropped.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_module
import re
from dataclasses import replace
from urllib.parse import quote

from ..catalogs import APPROVED, PieceState, translate_issue
from ..config import Settings
from ..edition import Edition
from ..issue import Issue

DRAFT, SOURCE, END = "\u2e19", "\u2e2a", "\u2051"  # palm branch, two dots over one dot, two asterisks: all Po
MARKS = DRAFT + SOURCE + END
MARK_STYLE = (
    "mark.mco-draft{background:#fff1c2;color:#1f2328;outline:2px dashed #c99a00;outline-offset:1px}"
    "mark.mco-source{background:#fde2e1;color:#1f2328;outline:2px dashed #b42318;outline-offset:1px}"
)
MARKED_TAG = re.compile(f"<[^>]*[{MARKS}][^>]*>")
MARK = re.compile(f"[{MARKS}]")
MARKUP = {DRAFT: '<mark class="mco-draft">', SOURCE: '<mark class="mco-source">', END: "</mark>"}
STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def preview_edition(issue: Issue, language: str, states: list[PieceState]) -> Edition:
    """The edition of `language` with every piece's current translation, drafts and gaps marked."""
    from ..edition import build_edition

    by_context = {state.piece.context: state for state in states}

    def shown(context: str, source: str) -> str:
        state = by_context.get(context)
        if state is None or any(mark in source for mark in MARKS):
            return source
        if state.status == APPROVED and not state.problems:
            return state.translation
        usable = state.translation and not any(finding.rule == "markdown" for finding in state.findings)
        if state.status != APPROVED and usable and not any(mark in state.translation for mark in MARKS):
            return DRAFT + state.translation + END
        return SOURCE + source + END

    title, preheader, keywords, intro, sections, closing = translate_issue(issue, shown)
    edition = build_edition(issue)
    return replace(
        edition,
        language=language,
        title=title,
        preheader=preheader,
        keywords=keywords,
        intro=intro,
        sections=sections,
        closing=closing,
    )


def preview_html(
    settings: Settings, issue: Issue, language: str, states: list[PieceState], *, pictures_url: str
) -> str:
    """The rendered edition's HTML with the marks shown, its pictures served from `pictures_url`/<name>."""
    from ..render.edition_email import render

    rendered = render(preview_edition(issue, language, states), settings)
    page = rendered.html
    for reference, name, _ in rendered.local_pictures:
        page = page.replace(f'src="{reference}"', f'src="{pictures_url}/{quote(name)}"')
    head, separator, body = page.partition("</head>")
    if separator:
        head = _unmarked(head) + f"<style>{MARK_STYLE}</style></head>"
    else:
        head, body = "", page
    body = MARKED_TAG.sub(lambda tag: _unmarked(tag.group()), body)  # inside a tag (alt="…"): dropped
    return head + MARK.sub(lambda mark: MARKUP[mark.group()], body)


def _unmarked(text: str) -> str:
    return MARK.sub("", text)


def preview_headers(page: str) -> dict[str, str]:
    """The preview's own policy: nothing but its styles (each allowed by its hash) and its pictures; shown only
    in a frame of our own pages, sandboxed."""
    from .pages import security_headers

    styles = {_hash(block) for block in STYLE_BLOCK.findall(page)}
    attributes = {_hash(html_module.unescape(value)) for value in STYLE_ATTRIBUTE.findall(page)}
    allowed = " ".join(sorted(styles)) + (" 'unsafe-hashes' " + " ".join(sorted(attributes)) if attributes else "")
    return security_headers(
        "",
        directives={
            "style-src": allowed.strip() or "'none'",
            "form-action": "'none'",
            "frame-ancestors": "'self'",
            "sandbox": "",
        },
    )


def _hash(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
