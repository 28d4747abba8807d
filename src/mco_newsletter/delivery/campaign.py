"""Planning a campaign: which edition each reader gets, rendering each edition once, test sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..config import Settings
from ..edition import load_edition, ready_languages
from ..errors import NewsletterError
from ..issue import Issue
from ..render.edition_email import render
from .ledger import Audience, Campaign
from .message import PreparedEdition, placeholder_tag, preferences_url, prepare, unsubscribe_url

if TYPE_CHECKING:  # dkimpy is imported only by a run that signs
    from .dkim import Signer


@dataclass(frozen=True)
class Plan:
    """What a run of `send` would do: readers to add per edition, rows still open, readers left out."""

    issue_id: str
    segment: str
    campaign: Campaign | None
    counts: dict[str, int]
    fallbacks: dict[str, int]
    already_sent: int
    open_rows: dict[str, dict[str, int]]
    first: list[tuple[str, str]]
    # Per edition: every changed link or address the organisation accepted (overrides.LinkChange).
    link_overrides: dict[str, list] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Readers this run would add."""
        return sum(self.counts.values())

    @property
    def open_total(self) -> int:
        """Rows of the campaign still to send."""
        return sum(n for states in self.open_rows.values() for n in states.values())


def fallback_of(settings: Settings, issue: Issue) -> str:
    return settings.fallback_language or issue.language


def edition_map(settings: Settings, issue: Issue) -> dict[str, str]:
    """Each reader language → the language of the edition they get (their own when ready, else the fallback).
    A reader language missing here (no longer in `languages`) gets the fallback too."""
    ready = ready_languages(issue, settings.languages)
    fallback = fallback_of(settings, issue)
    if fallback not in ready:
        raise NewsletterError(
            f"issue {issue.id}: the fallback edition ({fallback}) is not approved, so readers of languages "
            "without an approved edition would get an unreviewed draft",
            hint=f"approve the {fallback} translation first, or set fallback_language to one of: {', '.join(ready)}",
        )
    return {language: language if language in ready else fallback for language in settings.languages}


def plan_from(
    settings: Settings,
    issue: Issue,
    segment: str,
    campaign: Campaign | None,
    audience: Audience,
    open_rows: dict[str, dict[str, int]],
) -> Plan:
    """The plan of a run from what the ledger says about the segment."""
    editions = edition_map(settings, issue)
    fallback = fallback_of(settings, issue)
    counts: dict[str, int] = {}
    fallbacks: dict[str, int] = {}
    for language, count in audience.by_language.items():
        edition = editions.get(language, fallback)
        counts[edition] = counts.get(edition, 0) + count
        if edition != language:
            fallbacks[edition] = fallbacks.get(edition, 0) + count
    first = [(email, editions.get(language, fallback)) for email, language in audience.first]
    from ..catalog_checks import link_overrides

    changes = {}
    for language in sorted(set(editions.values())):
        load_edition(settings, issue, language)  # a dry run refuses what the send would refuse, and says why
        changes[language] = link_overrides(issue, language)
    return Plan(
        issue.id,
        segment,
        campaign,
        counts,
        fallbacks,
        audience.already_sent,
        open_rows,
        first,
        {language: found for language, found in changes.items() if found},
    )


def signer_for(settings: Settings, backend_name: str) -> Signer | None:
    """The DKIM signer for what this backend sends, or None: SendGrid signs with its own domain authentication,
    and without [dkim] mail goes unsigned. The key is read here, before anything is recorded."""
    if settings.dkim is None or backend_name not in ("smtp", "outbox"):
        return None
    from .dkim import Signer

    return Signer(settings.dkim)


def prepare_editions(
    settings: Settings,
    issue: Issue,
    languages: Sequence[str],
    *,
    subject_prefix: str = "",
    signer: Signer | None = None,
) -> dict[str, PreparedEdition]:
    """Render each needed edition once, with a placeholder where every reader's own link goes (and signed
    by `signer`, a delivery.dkim.Signer, when given)."""
    tag = placeholder_tag()
    prepared = {}
    for language in languages:
        edition = load_edition(settings, issue, language)  # refuses anything not approved or against the rules
        try:
            rendered = render(
                edition,
                settings,
                unsubscribe_url=unsubscribe_url(settings.base_url, tag, issue.id),
                preferences_url=preferences_url(settings.base_url, tag, issue.id),
            )
        except ValueError as exc:  # a value that cannot go into the message (a header with a line break)
            raise NewsletterError(
                f"issue {issue.id} [{language}]: the message cannot be built: {exc}",
                hint=f"run `mco-newsletter check {issue.id}`; nothing was sent or recorded",
            ) from None
        message = prepare(rendered, settings, tag, subject_prefix=subject_prefix)
        if signer is not None:
            message = replace(message, signer=signer.for_edition(message.template))
        prepared[language] = message
    return prepared


def snapshot(settings: Settings, backend: str) -> dict:
    """What the campaign was started with (no secrets: settings hold none)."""
    return {"backend": backend, "settings": settings.raw}
