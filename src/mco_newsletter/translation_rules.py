"""What a translation may contain: the source's own Markdown rules, and agreement with the source.

For readers at risk a changed link is a phishing risk, so a translation can never carry what the source
could not: every translation passes the Markdown dialect of issues (issue_body), and must keep the
source's link targets, e-mail addresses and numbers. Every address a mail client would make clickable
counts: Markdown links, autolinks, bare `https://…` and `www.…` addresses and e-mail addresses, in
Markdown and in plain pieces alike (clickable.py). A difference that is legitimate (a number written out
in words, a link to the page's German version) is approved with an override (overrides.py); the
dialect itself has no override.

A finding says what is wrong in English (for `check` and the command line) and keeps the words it was
made of, so that the review pages say it in the translator's language (`said`, with the gettext of
locales/<lang>/LC_MESSAGES/messages.po).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from .wording import N_

OVERRIDABLE = ("links", "emails", "numbers", "glossary")  # glossary: see glossary.py
LOST = "⁇"
# Pieces shown as plain text (subject, preheader, alt text, captions, keywords); the rest is inline Markdown.
PLAIN = re.compile(r"^(title|preheader|keywords/\d+)$|/(alt|caption)$")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
# A number with its group and decimal separators as any language writes them: 130,000 · 130.000 · 130 000.
NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3}(?!\d))*(?:[.,]\d+)?")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


DIFFER = {
    "links": N_("the link targets differ from the source"),
    "emails": N_("the e-mail addresses differ from the source"),
    "numbers": N_("the numbers differ from the source"),
}
COUNTS = N_(" (%(source)s in the source, %(translation)s in the translation)")
MISSING = N_(": missing %(items)s")
ADDED, ALSO_ADDED = N_(": not in the source %(items)s"), N_("; not in the source %(items)s")

Words = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True)
class Finding:
    """One way a translation breaks the rules; `rule` names what an override may accept."""

    rule: str
    message: str  # in English: what check and the command line say
    missing: tuple[str, ...] = ()  # what of the source's the translation lacks (link targets, addresses, numbers)
    added: tuple[str, ...] = ()  # what the translation has that the source has not
    # The message as (gettext message, its values) parts, for `said`; empty: the message is its own msgid.
    words: Words = field(default=(), compare=False, repr=False)

    @classmethod
    def of(cls, rule: str, template: str, **values: str) -> Finding:
        """A finding whose message is `template` (marked with N_) filled in with `values`."""
        return cls(rule, template % values, words=((template, tuple(values.items())),))

    @property
    def overridable(self) -> bool:
        return self.rule in OVERRIDABLE

    def said(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of `gettext` (English where its catalog has no translation)."""
        if not self.words:
            return gettext(self.message)
        return "".join(gettext(template) % dict(values) for template, values in self.words)


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
        found.append(
            Finding.of(
                "lost", N_("contains %(lost)s: the model lost characters here; compare with the source"), lost=LOST
            )
        )
    source_parts, translated_parts = _parts(source, is_plain(context)), _parts(translation, is_plain(context))
    for rule in ("links", "emails", "numbers"):
        finding = _compare(rule, source_parts[rule], translated_parts[rule])
        if finding:
            found.append(finding)
    return tuple(dict.fromkeys(found))


def blocking(findings: list[Finding], accepted: set[str]) -> list[Finding]:
    """The findings an override does not accept."""
    return [finding for finding in findings if not (finding.overridable and finding.rule in accepted)]


def _dialect(context: str, translation: str) -> list[Finding]:
    found = []
    if CONTROL.search(translation):
        found.append(Finding.of("markdown", N_("contains a control character")))
    if is_plain(context):
        if "\n" in translation.strip():
            found.append(Finding.of("markdown", N_("must be one line, as the source is")))
        return found
    from markdown_it.tree import SyntaxTreeNode

    from .issue_body import NOT_ALLOWED, inline_refusal, markdown_parser

    for node in SyntaxTreeNode(markdown_parser().parse(translation)).walk():
        if node.type in ("html_block", "code_block", "fence"):
            found.append(Finding.of("markdown", NOT_ALLOWED[node.type][0]))
        elif node.type == "image":
            found.append(
                Finding.of(
                    "markdown",
                    N_("an image the source does not have: %(picture)s"),
                    picture=repr(node.attrs.get("src", "")),
                )
            )
        else:
            refusal = inline_refusal(node)
            if refusal:
                template, values, _ = refusal
                found.append(Finding.of("markdown", template, **values))
    return found


AUTOMATIC = ("linkify", "autolink")  # links whose words are their address


def _parts(text: str, plain: bool) -> dict[str, Counter]:
    """What must not change, counted: link targets, e-mail addresses, numbers (IBANs as one number)."""
    from markdown_it.tree import SyntaxTreeNode

    from .clickable import addresses, where
    from .issue_body import markdown_parser

    parser = markdown_parser()
    targets: list[str] = []
    rest: list[str] = []
    if plain:
        targets, without = addresses(text, parser.normalizeLink)
        rest.append(without)
    else:
        # Link targets (Markdown links, autolinks, bare addresses the parser made links) and the text around them.
        # The parser makes no link inside a link's words: an address shown as a Markdown link's words is found here.
        for node in SyntaxTreeNode(parser.parse(text)).walk():
            if node.type == "link":
                targets.append(str(node.attrs.get("href", "")))
            elif node.type == "text":
                link = _link_around(node)
                if link is None:
                    rest.append(node.content)
                elif link.markup not in AUTOMATIC:
                    found, without = addresses(node.content, parser.normalizeLink)
                    targets += found
                    rest.append(without)
    places = Counter(where(target) for target in targets)
    emails = Counter({place.removeprefix("mailto:"): n for place, n in places.items() if place.startswith("mailto:")})
    links = places - Counter({f"mailto:{email}": n for email, n in emails.items()})
    remaining = " ".join(rest)
    numbers = Counter("IBAN " + iban.replace(" ", "") for iban in IBAN.findall(remaining))
    remaining = IBAN.sub(" ", remaining)
    numbers += Counter(re.sub(r"\D", "", number) for number in NUMBER.findall(remaining))
    return {"links": links, "emails": emails, "numbers": numbers}


def _link_around(node):
    """The link a text node stands in (directly or inside emphasis), or None."""
    while node.parent is not None:
        node = node.parent
        if node.type == "link":
            return node
    return None


def _compare(rule: str, source: Counter, translation: Counter) -> Finding | None:
    if source == translation:
        return None
    missing = tuple(sorted((source - translation).elements()))
    added = tuple(sorted((translation - source).elements()))
    words: list[tuple[str, tuple[tuple[str, str], ...]]] = [(DIFFER[rule], ())]
    if sum(source.values()) != sum(translation.values()):
        words.append((COUNTS, (("source", str(sum(source.values()))), ("translation", str(sum(translation.values()))))))
    if missing:
        words.append((MISSING, (("items", ", ".join(_shown(item) for item in missing)),)))
    if added:
        words.append((ALSO_ADDED if missing else ADDED, (("items", ", ".join(_shown(item) for item in added)),)))
    message = "".join(template % dict(values) for template, values in words)
    return Finding(rule, message, tuple(map(_shown, missing)), tuple(map(_shown, added)), tuple(words))


def _shown(item: str) -> str:
    return item.removeprefix("IBAN ") if item.startswith("IBAN ") else item
