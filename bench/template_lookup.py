"""The cost of looking templates and words up in two places (the workspace's, then the package's: render/theme.py).

Run from the repository: python bench/template_lookup.py [--against REF] [--pairs K]
Per tree, in a process of its own: the microseconds of one cached environment lookup (environment_for, asked at
every page and edition rendered; best of 7 timeit repeats) and the CPU milliseconds of rendering an edition
(six editions × 40 rounds, Markdown caches cleared; min and median of process time, which other work on a shared
machine disturbs less than wall time). --against REF runs the same on a `git archive` of REF, alternating.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MEASURE = r'''
import dataclasses, statistics, sys, time, timeit
from pathlib import Path
tree = Path(sys.argv[1])
sys.path.insert(0, str(tree / "src"))
from mco_newsletter.config import load_settings
from mco_newsletter.edition import build_edition
from mco_newsletter.issue import parse_issue
from mco_newsletter.render import markup
try:
    from mco_newsletter.render.edition_email import render
except ImportError:  # a tree from before render/edition_email.py
    from mco_newsletter.render import render
from mco_newsletter.render.templates import environment_for
settings = load_settings(tree)
environment_for(settings.templates_dir, settings.locales_dir, "de")
lookup = min(timeit.repeat(lambda: environment_for(settings.templates_dir, settings.locales_dir, "de"),
                           number=20000, repeat=7)) / 20000 * 1e6
editions = []
for issue_id in ("2023-12", "2024-05"):
    issue = parse_issue(settings.issues_dir / issue_id / "issue.md", languages=settings.languages)
    editions += [dataclasses.replace(build_edition(issue), language=code) for code in ("en", "de", "ru")]
for edition in editions:
    render(edition, settings)
times = []
for _ in range(40):
    for edition in editions:
        markup.inline_html.cache_clear()
        markup.inline_text.cache_clear()
        start = time.process_time()
        render(edition, settings)
        times.append(time.process_time() - start)
print(f"lookup {lookup:.1f} µs, render CPU min {min(times) * 1000:.2f} ms, median {statistics.median(times) * 1000:.2f} ms")
'''


def measure(tree: Path) -> str:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tree)], capture_output=True, text=True, check=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    return result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REF", help="also measure this git ref's code, alternately")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if not args.against:
        print(f"this tree: {measure(REPO)}")
        return
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder) / "ref"
        other.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.against], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive.stdout, check=True)
        for pair in range(1, args.pairs + 1):
            trees = [("this tree", REPO), (args.against, other)]
            for name, tree in trees if pair % 2 else trees[::-1]:
                print(f"pair {pair}: {name:>9}: {measure(tree)}", flush=True)


if __name__ == "__main__":
    main()
