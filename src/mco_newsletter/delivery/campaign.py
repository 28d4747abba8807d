"""Planning a campaign: which edition each reader gets, rendering each edition once, test sends."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..edition import load_edition, ready_languages
from ..errors import NewsletterError
from ..issue import Issue
from ..render import render
from ..subscribers.segments import Segment
from ..subscribers.store import Store
from .message import PreparedEdition, placeholder_tag, prepare, unsubscribe_url


@dataclass(frozen=True)
class Plan:
    """Who gets which edition: reader language → edition language, and the counts."""

    issue_id: str
    segment: str
    editions: dict[str, str]
    counts: dict[str, int]
    fallbacks: dict[str, int]
    first: list[tuple[str, str]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def edition_map(settings: Settings, issue: Issue) -> dict[str, str]:
    """Each reader language → the language of the edition they get (their own when ready, else the fallback)."""
    ready = ready_languages(issue, settings.languages)
    fallback = settings.fallback_language or issue.language
    if fallback not in ready:
        raise NewsletterError(
            f"issue {issue.id}: the fallback edition ({fallback}) is not approved, so readers of languages "
            "without an approved edition would get an unreviewed draft",
            hint=f"approve the {fallback} translation first, or set fallback_language to one of: {', '.join(ready)}")
    return {language: language if language in ready else fallback for language in settings.languages}


def plan_send(settings: Settings, store: Store, issue: Issue, segment: Segment, *, first: int = 5) -> Plan:
    """Count, per edition, the active readers of the segment who would get it."""
    editions = edition_map(settings, issue)
    by_language = store.count_by_language(segment)
    counts: dict[str, int] = {}
    fallbacks: dict[str, int] = {}
    for language, count in by_language.items():
        edition = editions.get(language, settings.fallback_language or issue.language)
        counts[edition] = counts.get(edition, 0) + count
        if edition != language:
            fallbacks[edition] = fallbacks.get(edition, 0) + count
    sample = []
    for recipient in store.recipients(segment):
        sample.append((recipient.email, editions.get(recipient.language, issue.language)))
        if len(sample) >= first:
            break
    return Plan(issue.id, segment.name, editions, counts, fallbacks, sample)


def prepare_editions(settings: Settings, issue: Issue, languages, *, subject_prefix: str = "") -> dict[str, PreparedEdition]:
    """Render each needed edition once, with a placeholder where every reader's own link goes."""
    tag = placeholder_tag()
    prepared = {}
    for language in languages:
        edition = load_edition(settings, issue, language)  # refuses anything not approved or against the rules
        rendered = render(edition, settings, unsubscribe_url=unsubscribe_url(settings.base_url, tag))
        prepared[language] = prepare(rendered, settings, tag, subject_prefix=subject_prefix)
    return prepared


def snapshot(settings: Settings, backend: str) -> dict:
    """What the campaign was started with (no secrets: settings hold none)."""
    return {"backend": backend, "settings": settings.raw}
