"""The measures `report` shows, in its order and words, and the same report as plain data (`--json`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING

from .limits import GMAIL_NOTE, RateWarning, warnings_for
from .outcomes import Outcome

if TYPE_CHECKING:
    from .report import CampaignReport, IssueReport, Overview, Unmatched

# (field, label, its rate is shown): each row of the report's table.
MEASURES = (
    ("planned", "readers planned", False),
    ("sent", "sent (taken by the provider)", True),
    ("delivered", "delivered", True),
    ("deferred", "deferred (still tried)", True),
    ("bounced", "bounced (hard)", True),
    ("soft_bounced", "soft bounces", True),
    ("blocked", "blocked", True),
    ("dropped", "dropped, not carried", True),
    ("complaints", "spam complaints", True),
    ("unsubscribes", "unsubscribes", True),
    ("preference_changes", "preference changes", True),
    ("twice", "may have it twice", True),
    ("maybe_sent", "may have had it", True),
    ("skipped", "left before their turn", True),
    ("open", "still open", True),
)
# What each rate is counted against, said once under the table and in the JSON.
BASES = {
    "planned": "sent, may have it twice, may have had it, left before their turn and still open: of the readers "
    "planned",
    "attempted": "delivered, deferred, bounces, blocked and dropped: of the messages that went to a server (sent, may "
    "have had it, refused by the SMTP server)",
    "reached": "complaints, unsubscribes and preference changes: of the messages taken and not known to have failed",
}


def warned(outcome: Outcome) -> dict[str, RateWarning]:
    """The outcome's warnings by the measure they are about."""
    return {warning.measure: warning for warning in warnings_for(outcome)}


def outcome_json(outcome: Outcome) -> dict:
    """One outcome: every count, every rate, the warnings."""
    counts = {name: getattr(outcome, name) for name, _, _ in MEASURES}
    return {
        **counts,
        "refused": outcome.refused,
        "put_off": outcome.put_off,
        "attempted": outcome.attempted,
        "reached": outcome.reached,
        "rates": {name: outcome.rate(name) for name, _, rated in MEASURES if rated},
        "warnings": [asdict(warning) for warning in warnings_for(outcome)],
    }


def campaign_json(campaign: CampaignReport) -> dict:
    return {
        "segment": campaign.segment,
        "issue": campaign.issue_id,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "backend": campaign.backend,
        "total": outcome_json(campaign.total),
        "editions": {language: outcome_json(outcome) for language, outcome in campaign.editions.items()},
    }


def unmatched_json(unmatched: Iterable[Unmatched]) -> list[dict]:
    return [asdict(entry) for entry in unmatched]


def issue_json(report: IssueReport) -> dict:
    """`report ID --json`."""
    return {
        "issue": report.issue_id,
        "total": outcome_json(report.total),
        "editions": {language: outcome_json(outcome) for language, outcome in report.editions.items()},
        "campaigns": [campaign_json(campaign) for campaign in report.campaigns],
        "trend": [
            {"issue": point.issue_id, "started_at": point.started_at, "total": outcome_json(point.total)}
            for point in report.trend
        ],
        "unmatched": unmatched_json(report.unmatched),
        "rates_of": BASES,
        "note": GMAIL_NOTE,
    }


def overview_json(overview: Overview) -> dict:
    """`report --json`."""
    return {
        "campaigns": [campaign_json(campaign) for campaign in overview.campaigns],
        "unmatched_since": overview.since,
        "unmatched": unmatched_json(overview.unmatched),
        "rates_of": BASES,
        "note": GMAIL_NOTE,
    }
