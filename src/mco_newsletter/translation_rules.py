"""What a translation may contain: the source's own Markdown rules, and agreement with the source.

For readers at risk a changed link is a phishing risk, so a translation can never carry what the source
could not: every translation passes the Markdown dialect of issues (issue_body), and must keep the
source's link targets, e-mail addresses and numbers. A difference that is legitimate (a number written
out in words, a link to the page's German version) is approved with an override recorded in the
catalog as a translator comment, `# override: numbers`; the dialect itself has no override.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

OVERRIDE = "override:"
OVERRIDABLE = ("links", "emails", "numbers", "glossary")  # glossary: see glossary.py
LOST = "⁇"
# Pieces shown as plain text (subject, preheader, alt text, captions, keywords); the rest is inline Markdown.
PLAIN = re.compile(r"^(title|preheader|keywords/\d+)$|/(alt|caption)$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
# A number with its group and decimal separators as any language writes them: 130,000 · 130.000 · 130 000.
NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3}(?!\d))*(?:[.,]\d+)?")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Finding:
    """One way a translation breaks the rules; `rule` names what an override may accept."""

    rule: str
    message: str

    @property
    def overridable(self) -> bool:
        return self.rule in OVERRIDABLE


def is_plain(context: str) -> bool:
    """True for pieces shown as plain text, not Markdown."""
    return bool(PLAIN.search(context))


def check_translation(context: str, source: str, translation: str) -> list[Finding]:
    """Every way `translation` (of the piece at `context`) breaks the rules; empty when it passes."""
    return list(_checked(context, source, translation))


@lru_cache(maxsize=8192)
def _checked(context: str, source: str, translation: str) -> tuple[Finding, ...]:
    # Every command and every review page checks every piece: the same texts, mostly unchanged since last time.
    if not translation:
        return ()
    found = _dialect(context, translation)
    if LOST in translation and LOST not in source:
        found.append(Finding("lost", f"contains {LOST}: the model lost characters here; compare with the source"))
    source_parts, translated_parts = _parts(source, plain=is_plain(context)), _parts(translation, is_plain(context))
    for rule, what in (("links", "link targets"), ("emails", "e-mail addresses"), ("numbers", "numbers")):
        finding = _compare(rule, what, source_parts[rule], translated_parts[rule])
        if finding:
            found.append(finding)
    return tuple(dict.fromkeys(found))


def overrides(comments: list[str]) -> set[str]:
    """The rules a translator comment `override: numbers, links` accepts for this entry."""
    accepted: set[str] = set()
    for comment in comments:
        if comment.strip().lower().startswith(OVERRIDE):
            names = comment.strip()[len(OVERRIDE):].split("—", 1)[0].split("(", 1)[0]
            accepted |= {name.strip().lower() for name in names.split(",") if name.strip()}
    return accepted


def override_comment(rules: list[str], who: str, day: str) -> str:
    """The translator comment that records an override: which rules, by whom, when."""
    by = f" by {who}" if who else ""
    return f"{OVERRIDE} {', '.join(sorted(set(rules)))} — approved{by} on {day}"


def blocking(findings: list[Finding], accepted: set[str]) -> list[Finding]:
    """The findings an override does not accept."""
    return [finding for finding in findings if not (finding.overridable and finding.rule in accepted)]


def _dialect(context: str, translation: str) -> list[Finding]:
    found = []
    if CONTROL.search(translation):
        found.append(Finding("markdown", "contains a control character"))
    if is_plain(context):
        if "\n" in translation.strip():
            found.append(Finding("markdown", "must be one line, as the source is"))
        return found
    from markdown_it.tree import SyntaxTreeNode

    from .issue_body import NOT_ALLOWED, inline_problem, markdown_parser

    for node in SyntaxTreeNode(markdown_parser().parse(translation)).walk():
        if node.type in ("html_block", "code_block", "fence"):
            found.append(Finding("markdown", NOT_ALLOWED[node.type][0]))
        elif node.type == "image":
            found.append(Finding("markdown", f"an image the source does not have: {node.attrs.get('src', '')!r}"))
        else:
            problem = inline_problem(node)
            if problem:
                found.append(Finding("markdown", problem[0]))
    return found


def _parts(text: str, plain: bool) -> dict[str, Counter]:
    """What must not change, counted: link targets, e-mail addresses, numbers (IBANs as one number)."""
    links: Counter = Counter()
    rest = text
    if not plain:
        from markdown_it.tree import SyntaxTreeNode

        from .issue_body import markdown_parser

        for node in SyntaxTreeNode(markdown_parser().parse(text)).walk():
            if node.type == "link":
                links[str(node.attrs.get("href", ""))] += 1
        for href in links:
            rest = rest.replace(href, " ")
    emails = Counter(EMAIL.findall(rest))
    rest = EMAIL.sub(" ", rest)
    numbers = Counter("IBAN " + iban.replace(" ", "") for iban in IBAN.findall(rest))
    rest = IBAN.sub(" ", rest)
    numbers += Counter(re.sub(r"\D", "", number) for number in NUMBER.findall(rest))
    return {"links": links, "emails": emails, "numbers": numbers}


def _compare(rule: str, what: str, source: Counter, translation: Counter) -> Finding | None:
    if source == translation:
        return None
    missing = sorted((source - translation).elements())
    added = sorted((translation - source).elements())
    said = []
    if missing:
        said.append("missing " + ", ".join(_shown(item) for item in missing))
    if added:
        said.append("not in the source " + ", ".join(_shown(item) for item in added))
    counts = ""
    if sum(source.values()) != sum(translation.values()):
        counts = f" (the source has {_count(sum(source.values()), what)}, the translation " \
                 f"{sum(translation.values())})"
    return Finding(rule, f"the {what} differ from the source{counts}: {'; '.join(said)}")


def _shown(item: str) -> str:
    return item.removeprefix("IBAN ") if item.startswith("IBAN ") else item


def _count(number: int, what: str) -> str:
    singular = {"link targets": "link", "e-mail addresses": "e-mail address", "numbers": "number"}[what]
    plural = {"link targets": "links", "e-mail addresses": "e-mail addresses", "numbers": "numbers"}[what]
    return f"{number} {singular if number == 1 else plural}"
