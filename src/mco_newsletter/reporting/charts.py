"""The HTML report's two charts as inline SVG (nothing loaded, no script): what became of each edition's messages,
and the complaint and bounce rates of the last issues against the published limits.

Colours come from the page's style sheet (classes), so that the dark scheme can change them; every chart has a
title and a description for screen readers, every bar a <title> with its numbers, and a rate past its limit is
marked with "!" as well as coloured (colour alone says nothing to some readers).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from .limits import COMPLAINT_CEILING, COMPLAINT_LIMIT, HARD_BOUNCE_LIMIT, percent
from .outcomes import Outcome, total

if TYPE_CHECKING:
    from .report import IssuePoint

# The parts of an edition's planned readers, in the order the bar shows them: (class, words).
PARTS = (
    ("delivered", "delivered"),
    ("taken", "sent, no word from the provider"),
    ("deferred", "deferred"),
    ("bounced", "bounced"),
    ("blocked", "blocked"),
    ("dropped", "dropped or not carried"),
    ("skipped", "left before their turn"),
    ("open", "still open"),
)


def parts_of(outcome: Outcome) -> dict[str, int]:
    """An edition's planned readers split into PARTS (they add up to `planned`)."""
    provider_failures = (
        outcome.bounced
        - outcome.smtp_bounces
        + outcome.soft_bounced
        + outcome.blocked
        + outcome.dropped
        - outcome.not_carried
    )
    taken = outcome.sent + outcome.maybe_sent - outcome.delivered - outcome.deferred - provider_failures
    return {
        "delivered": outcome.delivered,
        "taken": max(taken, 0),
        "deferred": outcome.deferred,
        "bounced": outcome.bounced + outcome.soft_bounced,
        "blocked": outcome.blocked,
        "dropped": outcome.dropped,
        "skipped": outcome.skipped,
        "open": outcome.open,
    }


def outcome_bars(editions: dict[str, Outcome], *, chart_id: str = "outcomes") -> str:
    """One horizontal bar per edition (and the total), each the whole of its planned readers, split by outcome."""
    rows = [*editions.items(), ("total", total(editions.values()))] if len(editions) > 1 else list(editions.items())
    width, label_width, bar_height, gap = 640, 56, 26, 14
    height = len(rows) * (bar_height + gap) + gap
    scale = width - label_width - 70
    shapes = []
    for index, (language, outcome) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        shapes.append(
            f'<text class="label" x="{label_width - 8}" y="{y + bar_height * 0.68:.1f}" '
            f'text-anchor="end">{escape(language)}</text>'
        )
        x = float(label_width)
        planned = outcome.planned
        for part, words in PARTS:
            number = parts_of(outcome)[part]
            if not number or not planned:
                continue
            wide = scale * number / planned
            shapes.append(
                f'<rect class="part-{part}" x="{x:.1f}" y="{y}" width="{wide:.1f}" height="{bar_height}">'
                f"<title>{escape(language)}: {number:,} {escape(words)} ({percent(number / planned)})"
                f"</title></rect>"
            )
            x += wide
        shapes.append(f'<text class="value" x="{x + 6:.1f}" y="{y + bar_height * 0.68:.1f}">{planned:,}</text>')
    described = "; ".join(
        f"{language}: "
        + ", ".join(f"{parts_of(outcome)[part]:,} {words}" for part, words in PARTS if parts_of(outcome)[part])
        for language, outcome in rows
    )
    return _svg(
        chart_id, width, height, "What became of each edition's messages", described or "nothing planned", shapes
    )


def rate_bars(points: Iterable[IssuePoint], *, measure: str, chart_id: str) -> str:
    """One vertical bar per issue (oldest first): its complaint or hard-bounce rate, with the limits as lines."""
    limits: tuple[tuple[float, str], ...]
    if measure == "complaints":
        title, limits = "Spam complaints of the last issues", ((COMPLAINT_CEILING, "0.1 %"), (COMPLAINT_LIMIT, "0.3 %"))
    else:
        title, limits = "Hard bounces of the last issues", ((HARD_BOUNCE_LIMIT, "5 %"),)
    rates = [(point.issue_id, point.total.rate(measure)) for point in points]
    top = max([limits[-1][0] * 1.25, *(rate or 0 for _, rate in rates)]) or 1
    width, height, left, bottom, top_margin = 640, 220, 56, 44, 16
    plot = height - bottom - top_margin
    step = (width - left - 10) / max(len(rates), 1)
    shapes = [f'<line class="axis" x1="{left}" y1="{top_margin + plot}" x2="{width - 10}" y2="{top_margin + plot}"/>']
    for value, words in limits:
        y = top_margin + plot - plot * value / top
        shapes.append(f'<line class="limit" x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}"/>')
        shapes.append(f'<text class="label" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{words}</text>')
    for index, (issue_id, rate) in enumerate(rates):
        x = left + index * step + step * 0.2
        high = plot * (rate or 0) / top
        past = rate is not None and rate >= limits[0][0]
        shapes.append(
            f'<rect class="{"rate-past" if past else "rate"}" x="{x:.1f}" y="{top_margin + plot - high:.1f}"'
            f' width="{step * 0.6:.1f}" height="{high:.1f}"><title>{escape(issue_id)}: {percent(rate)}'
            f"{' — past the limit' if past else ''}</title></rect>"
        )
        shapes.append(
            f'<text class="value" x="{x + step * 0.3:.1f}" y="{top_margin + plot - high - 4:.1f}" '
            f'text-anchor="middle">{percent(rate)}{"!" if past else ""}</text>'
        )
        shapes.append(
            f'<text class="label" x="{x + step * 0.3:.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle">{escape(issue_id)}</text>'
        )
    described = "; ".join(f"{issue_id}: {percent(rate)}" for issue_id, rate in rates)
    return _svg(chart_id, width, height, title, f"{described}; limits: {', '.join(w for _, w in limits)}", shapes)


def _svg(chart_id: str, width: int, height: int, title: str, description: str, shapes: list[str]) -> str:
    return (
        f'<svg role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>{"".join(shapes)}</svg>'
    )
