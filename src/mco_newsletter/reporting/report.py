"""`report`: how an issue's campaigns went, per edition and in total, and every campaign newest first; read from the
store in a few grouped queries (storage/report_rows.py), counts only."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..storage.report_rows import ReportRows
from .outcomes import Outcome, outcomes_of, total

if TYPE_CHECKING:
    from ..subscribers.store import Store

TREND_ISSUES = 12  # the issues the charts of complaints and bounces show
UNMATCHED_DAYS = 30  # the overview's days of reports that named no delivery


@dataclass(frozen=True)
class CampaignReport:
    """One campaign (an issue sent to a segment) and what became of its messages, per edition."""

    id: int
    issue_id: str
    segment: str
    started_at: str
    finished_at: str | None
    backend: str
    editions: dict[str, Outcome]

    @property
    def total(self) -> Outcome:
        return total(self.editions.values())


@dataclass(frozen=True)
class IssuePoint:
    """One issue's campaigns together, for the trend over the last issues."""

    issue_id: str
    started_at: str
    total: Outcome


@dataclass(frozen=True)
class Unmatched:
    """Reports of one day, source and kind that named no delivery of ours (`reader`: applied to a reader found by
    their address or link, but to no campaign)."""

    day: str
    source: str
    kind: str
    reader: bool
    count: int


@dataclass(frozen=True)
class IssueReport:
    """An issue's campaigns (newest first), its editions summed over them, and what surrounds it."""

    issue_id: str
    campaigns: tuple[CampaignReport, ...]
    trend: tuple[IssuePoint, ...]  # the last issues up to this one, oldest first
    unmatched: tuple[Unmatched, ...]  # since its first campaign started, for every issue

    @property
    def editions(self) -> dict[str, Outcome]:
        summed: dict[str, Outcome] = {}
        for campaign in self.campaigns:
            for language, outcome in campaign.editions.items():
                summed[language] = summed.get(language, Outcome()) + outcome
        return dict(sorted(summed.items()))

    @property
    def total(self) -> Outcome:
        return total(self.editions.values())


@dataclass(frozen=True)
class Overview:
    """Every campaign newest first, the trend over the last issues, and the recent reports that named no delivery."""

    campaigns: tuple[CampaignReport, ...]
    trend: tuple[IssuePoint, ...]
    unmatched: tuple[Unmatched, ...]
    since: str  # the first day of `unmatched`


def _campaign_reports(rows: ReportRows, campaigns) -> list[CampaignReport]:
    ids = [campaign.id for campaign in campaigns]
    outcomes = outcomes_of(rows.outcomes(ids), rows.tallies(ids))
    return [
        CampaignReport(
            c.id,
            c.issue_id,
            c.segment,
            c.started_at,
            c.finished_at,
            _backend(c.snapshot),
            dict(sorted(outcomes.get(c.id, {}).items())),
        )
        for c in campaigns
    ]


def _backend(snapshot: str) -> str:
    try:
        return str(json.loads(snapshot).get("backend") or "")
    except (ValueError, AttributeError):
        return ""


def _trend(reports: list[CampaignReport], up_to: str | None = None) -> tuple[IssuePoint, ...]:
    """The last TREND_ISSUES issues (ending with `up_to` when given), oldest first."""
    issues: dict[str, list[CampaignReport]] = {}
    for report in sorted(reports, key=lambda r: (r.started_at, r.id)):
        issues.setdefault(report.issue_id, []).append(report)
    points = [
        IssuePoint(issue_id, found[0].started_at, total(r.total for r in found))
        for issue_id, found in sorted(issues.items(), key=lambda item: (item[1][0].started_at, item[1][0].id))
    ]
    if up_to is not None:
        ending = [point.issue_id for point in points].index(up_to) + 1
        points = points[:ending]
    return tuple(points[-TREND_ISSUES:])


def _unmatched(rows: ReportRows, since_day: str) -> tuple[Unmatched, ...]:
    return tuple(Unmatched(*row) for row in rows.unmatched(since_day))


def issue_report(*, store: Store, issue_id: str) -> IssueReport | None:
    """How the issue's campaigns went; None when it was never sent."""
    rows = ReportRows(store.db)
    every = rows.campaigns()
    if not any(campaign.issue_id == issue_id for campaign in every):
        return None
    # The trend needs the issues sent before it (and its own campaigns), not the whole history.
    started: dict[str, str] = {}
    for campaign in sorted(every, key=lambda c: (c.started_at, c.id)):
        started.setdefault(campaign.issue_id, campaign.started_at)
    order = sorted(started, key=lambda issue: started[issue])
    wanted = set(order[: order.index(issue_id) + 1][-TREND_ISSUES:])
    reports = _campaign_reports(rows, [campaign for campaign in every if campaign.issue_id in wanted])
    own = tuple(report for report in reports if report.issue_id == issue_id)
    return IssueReport(issue_id, own, _trend(reports, issue_id), _unmatched(rows, started[issue_id][:10]))


def overview(*, store: Store, today: dt.date | None = None) -> Overview:
    """Every campaign, newest first."""
    rows = ReportRows(store.db)
    reports = _campaign_reports(rows, rows.campaigns())
    since = ((today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=UNMATCHED_DAYS - 1)).isoformat()
    return Overview(tuple(reports), _trend(reports), _unmatched(rows, since), since)
