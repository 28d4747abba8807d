"""Overrides: a legitimate difference between a translation and its source, accepted for exactly that text.

An override is a translator comment on the catalog's entry, naming the rules (translation_rules.OVERRIDABLE)
whose findings it accepts and the text it was given for (a fingerprint of source and translation):

    # override: numbers · text 3f2a9c1b0e — approved by Anna Petrova <anna@example.org> on 2024-06-01

A number written out in words or a glossary term said another way is the translator's to accept. A changed
or added link or address (`links`, `emails`) is how a stolen review link would reach readers at risk, so it
needs a second person: the translator's approval is only a request, and the manager accepts it on the
command line (`mco-newsletter overrides accept`) after seeing both targets:

    # override requested: links · text 3f2a9c1b0e — by Anna Petrova <anna@example.org> on 2024-06-01
    # override accepted: links · text 3f2a9c1b0e — requested by Anna Petrova <…> on 2024-06-01; accepted on …

An override whose text changed since (a PO editor's edit, a changed source) accepts nothing; so does an
old-style comment without a text (written before overrides had one): `check` says why.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

OVERRIDE = "override"
SECOND_PERSON = frozenset({"links", "emails"})
APPROVED, REQUESTED, ACCEPTED = "approved", "requested", "accepted"
_COMMENT = re.compile(
    r"override(?: (requested|accepted))?:(?P<rules>[^—(·]*)(?:·\s*text\s+(?P<text>[0-9a-f]+))?"
    r"[^—]*(?:—\s*(?P<note>.*))?$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Override:
    """One override comment: what it accepts (or asks to), for which text, and what it says of who and when."""

    kind: str  # approved (by the translator) | requested (awaits the manager) | accepted (by the manager)
    rules: frozenset[str]
    text: str | None  # the fingerprint of the text it was given for; None in an old-style comment
    note: str  # "approved by … on …", "by … on …"
    comment: str

    def covers(self, source: str, translation: str) -> bool:
        return self.text == fingerprint(source, translation)

    def accepts(self, source: str, translation: str) -> frozenset[str]:
        """The rules it accepts for this text: none for another text or a request; no link from the translator."""
        if not self.covers(source, translation) or self.kind == REQUESTED:
            return frozenset()
        return self.rules if self.kind == ACCEPTED else self.rules - SECOND_PERSON

    def asks(self, source: str, translation: str) -> frozenset[str]:
        """The links and addresses it asks the manager to accept for this text."""
        if not self.covers(source, translation) or self.kind == ACCEPTED:
            return frozenset()
        return self.rules & SECOND_PERSON


def fingerprint(source: str, translation: str) -> str:
    """A short fingerprint of the text an override is given for: the source and its translation."""
    return hashlib.sha256(f"{source}\0{translation}".encode()).hexdigest()[:10]


def is_override(comment: str) -> bool:
    return comment.strip().lower().startswith(OVERRIDE)


def read_overrides(comments: list[str]) -> list[Override]:
    """The override comments among an entry's translator comments."""
    found = []
    for comment in comments:
        match = _COMMENT.match(comment.strip()) if is_override(comment) else None
        if match:
            rules = frozenset(name.strip().lower() for name in match["rules"].split(",") if name.strip())
            found.append(
                Override((match[1] or APPROVED).lower(), rules, match["text"], (match["note"] or "").strip(), comment)
            )
    return found


def accepted_rules(comments: list[str], source: str, translation: str) -> set[str]:
    """The rules the entry's overrides accept for this text."""
    return {rule for found in read_overrides(comments) for rule in found.accepts(source, translation)}


def requested_rules(comments: list[str], source: str, translation: str) -> set[str]:
    """The links and addresses rules the entry's overrides ask the manager to accept, and that none accepts yet."""
    asked = {rule for found in read_overrides(comments) for rule in found.asks(source, translation)}
    return asked - accepted_rules(comments, source, translation)


def approval_comments(rules: list[str], *, who: str, day: str, source: str, translation: str) -> list[str]:
    """The comments a translator's "approve anyway" records: an override of their own rules, a request for links."""
    text = fingerprint(source, translation)
    own, second = sorted(set(rules) - SECOND_PERSON), sorted(set(rules) & SECOND_PERSON)
    by = f" by {who}" if who else ""
    comments = []
    if own:
        comments.append(f"{OVERRIDE}: {', '.join(own)} · text {text} — approved{by} on {day}")
    if second:
        by = by or " by an unnamed translator"
        comments.append(f"{OVERRIDE} {REQUESTED}: {', '.join(second)} · text {text} —{by} on {day}")
    return comments


def acceptance_comment(request: Override, *, day: str) -> str:
    """The comment that replaces a request the manager accepted: the same rules and text, and when."""
    said = f"requested {request.note}" if request.kind == REQUESTED and request.note.startswith("by ") else request.note
    return (
        f"{OVERRIDE} {ACCEPTED}: {', '.join(sorted(request.rules))} · text {request.text} — "
        + (f"{said}; " if said else "")
        + f"accepted on {day}"
    )


def why_not(comments: list[str], rule: str, source: str, translation: str) -> str | None:
    """Why the entry's override naming `rule` accepts nothing here (for check), or None when none names it."""
    named = [found for found in read_overrides(comments) if rule in found.rules]
    if not named:
        return None
    if any(found.covers(source, translation) for found in named):
        return None  # a request (said apart), or a link in a translator's own override: check says what it needs
    if all(found.text is None for found in named):
        return "the override here names no text: an override without one accepts nothing"
    return "the override here was given for another text"
