"""`report --html FILE`: the report as one self-contained page, to open, mail or print: its style inline (allowed by
its hash in the page's own Content-Security-Policy, which forbids everything else: no script, no picture, no font,
no request of any kind), its charts inline SVG (charts.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from .charts import PARTS, outcome_bars, rate_bars
from .limits import GMAIL_NOTE, percent
from .measures import BASES, MEASURES, warned

if TYPE_CHECKING:
    from .report import IssueReport, Overview

OVERVIEW_MEASURES = (
    ("planned", "planned", False),
    ("sent", "sent", False),
    ("delivered", "delivered", True),
    ("bounced", "bounced", True),
    ("blocked", "blocked", True),
    ("complaints", "complaints", True),
    ("unsubscribes", "unsubscribes", True),
    ("open", "still open", False),
)
STYLE = """
:root { color-scheme: light dark; --ink: #1a1a1a; --paper: #ffffff; --muted: #4a4a4a; --rule: #c8c8c8;
  --warn: #8a1c00; --warn-paper: #fff1ec; --delivered: #1b6e3a; --taken: #6fae84; --deferred: #b8860b;
  --bounced: #b3261e; --blocked: #6a3d9a; --dropped: #7b5b3a; --skipped: #8c8c8c; --open: #3b6ea8; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #ececec; --paper: #161616; --muted: #c4c4c4; --rule: #555555; --warn: #ffb4a0;
    --warn-paper: #3a1a12; --delivered: #5cc487; --taken: #2f6b45; --deferred: #e0b040; --bounced: #ff7a70;
    --blocked: #b794e0; --dropped: #c19a70; --skipped: #9a9a9a; --open: #7eaee8; } }
body { margin: 0; background: var(--paper); color: var(--ink); font: 16px/1.45 system-ui, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta, .notes, footer { color: var(--muted); font-size: 0.9rem; }
.warnings { border: 2px solid var(--warn); background: var(--warn-paper); padding: 0 1rem; }
.warnings h2 { margin-top: 0.8rem; color: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid var(--rule); text-align: right; white-space: nowrap; }
th[scope=row], td.text, thead th:first-child { text-align: left; }
.past { color: var(--warn); font-weight: bold; }
.flag { display: inline-block; margin-left: 0.3rem; padding: 0 0.3rem; border: 1px solid var(--warn);
  border-radius: 0.2rem; font-size: 0.8rem; }
figure { margin: 1rem 0; } svg { max-width: 100%; height: auto; }
svg .label, svg .value { fill: var(--ink); font: 13px system-ui, sans-serif; }
svg .axis { stroke: var(--ink); } svg .limit { stroke: var(--warn); stroke-dasharray: 5 4; }
svg .rate { fill: var(--open); } svg .rate-past { fill: var(--warn); }
.legend { display: flex; flex-wrap: wrap; gap: 0.3rem 1rem; list-style: none; padding: 0; font-size: 0.9rem; }
.swatch { width: 0.8rem; height: 0.8rem; vertical-align: -0.05rem; }
""" + "".join(f"svg .part-{part} {{ fill: var(--{part}); }}\n" for part, _ in PARTS)


def _policy(style: str) -> str:
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def _cell(outcome, name: str, rated: bool) -> Markup:
    count = getattr(outcome, name)
    if not rated or count == 0:
        return Markup("<td>{}</td>").format(f"{count:,}")
    warning = warned(outcome).get(name)
    if warning is None:
        return Markup("<td>{} ({})</td>").format(f"{count:,}", percent(outcome.rate(name)))
    return Markup('<td class="past">{} ({}) <span class="flag">past {}</span></td>').format(
        f"{count:,}", percent(outcome.rate(name)), percent(warning.limit)
    )


def _when(stamp: str | None) -> str:
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else "–"


def report_page(
    *,
    newsletter: str,
    report: IssueReport | None = None,
    overview: Overview | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The page of one issue's report (`report`) or of every campaign (`overview`)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    made = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    warnings: list[tuple[str, str]] = []
    context: dict = {"report": report, "overview": overview}
    if report is not None:
        columns = [*report.editions.items(), ("total", report.total)]
        warnings = [(language, warning.text) for language, outcome in columns for warning in warned(outcome).values()]
        context.update(
            heading=f"How {report.issue_id} went",
            columns=columns,
            outcome_chart=outcome_bars(report.editions),
            trend=report.trend,
            unmatched=report.unmatched,
            since=report.campaigns[-1].started_at[:10],
        )
    else:
        if overview is None:
            raise TypeError("report_page() needs a report or an overview")
        warnings = [
            (f"{c.issue_id} → {c.segment}", warning.text)
            for c in overview.campaigns
            for warning in warned(c.total).values()
        ]
        context.update(
            heading="How the sends went", trend=overview.trend, unmatched=overview.unmatched, since=overview.since
        )
    trend = context["trend"]
    html = env.get_template("report.html.j2").render(
        **context,
        newsletter=newsletter,
        made=made,
        style=Markup(STYLE),
        policy=_policy(STYLE),
        warnings=warnings,
        measures=MEASURES,
        overview_measures=OVERVIEW_MEASURES,
        parts=PARTS,
        bases=list(BASES.values()),
        cell=_cell,
        when=_when,
        gmail_note=GMAIL_NOTE,
        complaint_chart=rate_bars(trend, measure="complaints", chart_id="complaints") if trend else "",
        bounce_chart=rate_bars(trend, measure="bounced", chart_id="bounces") if trend else "",
    )
    return html
