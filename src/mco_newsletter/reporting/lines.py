"""`report` as lines for the terminal: an issue's table (a row per measure, a column per edition and the total) and
the overview's table (a row per campaign, newest first), each rate past a published limit marked `!` and said below."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .limits import GMAIL_NOTE, percent
from .measures import BASES, MEASURES, warned
from .outcomes import Outcome

if TYPE_CHECKING:
    from .report import IssueReport, Overview, Unmatched

MARK = "!"


def _cell(outcome: Outcome, name: str, rated: bool) -> str:
    count = getattr(outcome, name)
    if not rated or count == 0:
        return f"{count:,}"
    mark = MARK if name in warned(outcome) else ""
    return f"{count:,} ({percent(outcome.rate(name))}){mark}"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i >= right_from else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _when(stamp: str | None) -> str:
    """A stored UTC time as people read it: 2025-06-03 05:00 UTC."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "–"


def issue_lines(report: IssueReport) -> list[str]:
    """The report of one issue."""
    lines = [f"Issue {report.issue_id}: {len(report.campaigns)} campaign{'s' if len(report.campaigns) != 1 else ''}"]
    for campaign in report.campaigns:
        state = f"finished {_when(campaign.finished_at)}" if campaign.finished_at else "not finished"
        lines.append(
            f"  → {campaign.segment} via {campaign.backend or '?'}: started {_when(campaign.started_at)}, {state}"
        )
    editions = report.editions
    columns = [*editions.items(), ("total", report.total)]
    header = ["", *(language for language, _ in columns)]
    rows = [[label, *(_cell(outcome, name, rated) for _, outcome in columns)] for name, label, rated in MEASURES]
    lines += ["", *_table(header, rows), ""]
    lines += [f"Rates: {text}." for text in BASES.values()]
    for language, outcome in columns:
        for warning in warned(outcome).values():
            lines.append(f"Warning ({language}): {warning.text}.")
    lines += unmatched_lines(report.unmatched, f"since {report.campaigns[-1].started_at[:10]}")
    lines.append(f"Note: {GMAIL_NOTE}.")
    return lines


def overview_lines(overview: Overview) -> list[str]:
    """Every campaign, newest first."""
    if not overview.campaigns:
        return ["Nothing has been sent yet."]
    header = [
        "issue",
        "segment",
        "started",
        "via",
        "planned",
        "sent",
        "delivered",
        "bounced",
        "blocked",
        "complaints",
        "unsubscribes",
        "open",
    ]
    rows = []
    warnings = []
    for campaign in overview.campaigns:
        outcome = campaign.total
        rows.append(
            [
                campaign.issue_id,
                campaign.segment,
                _when(campaign.started_at)[:16],
                campaign.backend or "?",
                *(
                    _cell(outcome, name, rated)
                    for name, rated in (
                        ("planned", False),
                        ("sent", False),
                        ("delivered", True),
                        ("bounced", True),
                        ("blocked", True),
                        ("complaints", True),
                        ("unsubscribes", True),
                        ("open", False),
                    )
                ),
            ]
        )
        warnings += [
            f"Warning ({campaign.issue_id} → {campaign.segment}): {warning.text}."
            for warning in warned(outcome).values()
        ]
    lines = [*_table(header, rows, right_from=4), *warnings]
    lines += unmatched_lines(overview.unmatched, f"since {overview.since}")
    lines.append(f"Note: {GMAIL_NOTE}.")
    return lines


def unmatched_lines(unmatched: Sequence[Unmatched], since: str) -> list[str]:
    """What named no delivery of ours: per source, counted by kind."""
    if not unmatched:
        return [f"Reports that named no delivery of ours ({since}): none."]
    nobody: dict[str, Counter] = {}
    readers: dict[str, Counter] = {}
    for entry in unmatched:
        (readers if entry.reader else nobody).setdefault(entry.source, Counter())[entry.kind] += entry.count
    lines = [f"Reports that named no delivery of ours ({since}, every issue; counted, nothing about anyone kept):"]
    for source, kinds in sorted(nobody.items()):
        lines.append(f"  {source}, matched nobody: " + ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items())))
    for source, kinds in sorted(readers.items()):
        lines.append(
            f"  {source}, applied to the reader, no issue named: "
            + ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items()))
        )
    return lines
