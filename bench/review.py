"""Server time of the review pages, as a ratio to rendering the edition alone.

Run from the repository: python bench/review.py [--rounds N]
Targets (issue 13): the issue page of an issue with 60 pieces, and one approve-and-refresh-preview round
trip (the POST that approves a piece and answers with the piece and the progress, then the preview the
page loads again), each under 2× the time of rendering the edition alone and under 50 ms.

The workspace is a copy of tests/sample with an issue of 60 pieces (links, numbers, a picture) and a German
catalog half approved, half machine drafts with scores; no model is needed. Every step starts from the files
on disk, as a request does: the catalog is read and merged every time. Two figures for each: "cold" clears
every cache before each step (the Markdown of each piece, the translation rules' verdicts, the parsed issue),
as a fresh `render` process starts; "warm" keeps them, as the running server does between two requests.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from mco_newsletter.catalogs import catalog_path, save_catalog  # noqa: E402
from mco_newsletter.config import load_settings  # noqa: E402
from mco_newsletter.edition import load_edition  # noqa: E402
from mco_newsletter.merging import fill_drafts, merge  # noqa: E402
from mco_newsletter import translation_rules  # noqa: E402
from mco_newsletter.render import markup  # noqa: E402
from mco_newsletter.render.edition_email import render  # noqa: E402
from mco_newsletter.translation.engine import Draft  # noqa: E402
from mco_newsletter.web.review_pages import (Links, ReviewSite, decide, issue_page, piece_html,  # noqa: E402
                                             preview_page, progress_html)
from mco_newsletter.workspace import load_issue  # noqa: E402

ISSUE = "2024-08"


def issue_text() -> str:
    """An issue of 60 pieces: title, preheader, 8 keywords, 3 intro paragraphs and a picture, 8 sections of 5."""
    keywords = ", ".join(f"Keyword {n}" for n in range(1, 9))
    parts = [f"---\ntitle: Digest August 2024\ndate: 2024-09-01\nlanguage: en\npreheader: Raids, courts and "
             f"a new law on 1 October.\nkeywords: [{keywords}]\n---\n",
             "![Action in South Korea, 2015](aktion-suedkorea-2015.png)\n"]
    parts += [f"Intro paragraph {n}: in August we helped 1{n}0 people; see [our report](https://example.org/r/{n}) "
              "and write to help@example.org if you need advice." for n in range(1, 4)]
    for section in range(1, 9):
        parts.append(f"## Section {section}: what happened in region {section}")
        parts += [f"Paragraph {n} of section {section}. The court in city {section} fined a conscientious objector "
                  f"{n * 10},000 roubles under Article 328; our lawyer appealed on {n} August 2024. **Read** more in "
                  f"[the ruling](https://example.org/s{section}/p{n}?lang=en&page={n}). The rest of the paragraph "
                  "tells what the family said and what comes next, as a monthly digest does." for n in range(1, 6)]
    return "\n\n".join(parts) + "\n"


def workspace(folder: Path) -> Path:
    root = folder / "ws"
    root.mkdir()
    shutil.copy(REPO / "tests" / "sample" / "newsletter.toml", root / "newsletter.toml")  # the package's templates
    issue = root / "issues" / ISSUE
    issue.mkdir(parents=True)
    (issue / "issue.md").write_text(issue_text(), encoding="utf-8")
    shutil.copy(REPO / "tests" / "sample" / "issues" / "2024-05" / "aktion-suedkorea-2015.png", issue)
    return root


def german_catalog(settings) -> int:
    """The de catalog: every piece drafted (the source with a German word in front), every other one approved."""
    issue = load_issue(settings, ISSUE)
    merged = merge(issue, "de", None)
    fill_drafts(merged, {n: Draft("Deutsch: " + piece.source, -0.05 * (n % 17)) for n, piece in
                         enumerate(merged.needs_draft)}, "bench")
    for number, entry in enumerate(merged.catalog):
        if number % 2:
            entry.fuzzy = False
    save_catalog(catalog_path(issue, "de"), merged.catalog)
    return len(merged.needs_draft)


def timed(step, rounds: int, before=None, cold: bool = True, site=None) -> list[float]:
    samples = []
    for round_number in range(rounds):
        if before is not None:
            before(round_number)
        if cold:
            markup.inline_html.cache_clear()
            markup.inline_text.cache_clear()
            translation_rules._checked.cache_clear()
            site._issues.clear()
        started = time.perf_counter()
        step(round_number)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = workspace(Path(folder))
        settings = load_settings(root)
        pieces = german_catalog(settings)
        site = ReviewSite(settings)
        translator, token = site.registry.add(name="Bench", languages=("de",))
        links = Links("", token)
        drafts = [s.piece.context for s in site.review(translator, ISSUE, "de").states() if s.status != "approved"]

        def render_alone(_):
            render(load_edition(settings, load_issue(settings, ISSUE), "de", allow_drafts=True), settings)

        def page(_):
            issue_page(site, site.review(translator, ISSUE, "de"), translator, links)

        def back_to_draft(number):
            review = site.review(translator, ISSUE, "de")
            context = drafts[number % len(drafts)]
            review.save_draft(context, review.state(context).translation + " ")

        def round_trip(number):
            review = site.review(translator, ISSUE, "de")  # the POST …
            context = drafts[number % len(drafts)]
            state = review.state(context)
            from mco_newsletter.review import version

            outcome = decide(review, context=context, action="approve", text=state.translation.strip(),
                             expected=version(state))
            assert outcome.decision.approved, outcome.decision
            piece_html(site, review, outcome.view, translator, links)
            progress_html(site, review)
            preview_page(site, site.review(translator, ISSUE, "de"), links)  # … and the preview loaded again

        for step in (render_alone, page):  # warm-up: imports, templates compiled, the picture resized
            step(0)
        back_to_draft(0)
        round_trip(0)
        figures = {}
        for cold in (True, False):
            figures[cold] = (timed(render_alone, args.rounds, cold=cold, site=site),
                             timed(page, args.rounds, cold=cold, site=site),
                             timed(round_trip, args.rounds, before=back_to_draft, cold=cold, site=site))
        site.registry.close()
    print(f"machine: {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    print(f"issue {ISSUE}: {pieces} pieces in German, half approved; {args.rounds} rounds of each step")
    for cold, (alone, pages, trips) in figures.items():
        base = statistics.median(alone)
        print(f"{'cold' if cold else 'warm'}: render the edition alone (parse, read + merge the catalog, HTML + text "
              f"+ MIME) median {base:.1f} ms, p95 {quantile(alone):.1f} ms, fastest {min(alone):.1f} ms")
        for label, samples in (("issue page (read + merge, order by need, 62 pieces)", pages),
                               ("approve + refresh preview (POST: decide, write the catalog, piece + progress; "
                                "then the preview)", trips)):
            median = statistics.median(samples)
            print(f"  {label}: median {median:.1f} ms, p95 {quantile(samples):.1f} ms → {median / base:.2f}× the "
                  f"render (target 2×), {median / 50:.2f}× of 50 ms; fastest {min(samples):.1f} ms → "
                  f"{min(samples) / min(alone):.2f}× the fastest render")

def quantile(samples: list[float], q: float = 0.95) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    main()
