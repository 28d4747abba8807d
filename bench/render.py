"""Milliseconds per edition for the whole pipeline (parse → HTML + text + MIME), and `--help` as a process.

Run from the repository: python bench/render.py [--rounds N] [--against REF [--pairs K]]
--against REF: the same bench on the code of a git ref (`git archive`d into a temporary folder) and on this
tree, alternating K pairs of runs in one session; prints each run's median and the ratio of the medians.
Targets (issue 2): under 5 ms per edition after warm-up; `mco-newsletter --help` under 0.3 s.
Issue 12: the same with the issue's pictures embedded in the message ([privacy] images = "embedded"; the
resized picture comes from build/.cache/pictures after the first render, as in real use).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from mco_newsletter.config import load_settings  # noqa: E402
from mco_newsletter.edition import build_edition  # noqa: E402
from mco_newsletter.issue import parse_issue  # noqa: E402
from mco_newsletter.render import markup  # noqa: E402
from mco_newsletter.render.edition_email import render  # noqa: E402

EDITIONS = [("2023-12", "en"), ("2023-12", "de"), ("2023-12", "ru"),
            ("2024-05", "en"), ("2024-05", "de"), ("2024-05", "ru")]


def one_edition(settings, issue_id: str, language: str) -> int:
    # Real use renders new text every time: drop the Markdown caches so nothing is free.
    markup.inline_html.cache_clear()
    markup.inline_text.cache_clear()
    issue = parse_issue(settings.issues_dir / issue_id / "issue.md", languages=settings.languages)
    edition = dataclasses.replace(build_edition(issue), language=language)
    rendered = render(edition, settings)
    return len(rendered.pictures)


def time_editions(rounds: int) -> list[float]:
    settings = load_settings(REPO)
    embedded = 0
    for issue_id, language in EDITIONS:  # warm-up: imports, templates compiled, catalogs read, pictures resized
        embedded += one_edition(settings, issue_id, language)
    print(f"pictures: [privacy] images = {settings.privacy.images!r}, {embedded} embedded in the six editions")
    samples = []
    for _ in range(rounds):
        for issue_id, language in EDITIONS:
            start = time.perf_counter()
            one_edition(settings, issue_id, language)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def time_help(runs: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Wall and CPU seconds (user + system, the child's own) of `--help` and of a bare Python, alternating:
    on a machine shared with other work the wall time moves with the load, the CPU time much less."""
    import resource

    command = shutil.which("mco-newsletter")
    help_cmd = [command, "--help"] if command else [sys.executable, "-m", "mco_newsletter", "--help"]
    bare = [sys.executable, "-c", "pass"]
    helps, bares, help_cpu, bare_cpu = [], [], [], []
    for _ in range(runs):
        for cmd, out, cpu in ((help_cmd, helps, help_cpu), (bare, bares, bare_cpu)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            out.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return helps, bares, help_cpu, bare_cpu


def side_by_side(ref: str, pairs: int, rounds: int) -> None:
    """This tree and `ref`, run after run in alternation: each run's median, then the ratio of the medians."""
    with tempfile.TemporaryDirectory(prefix="render-bench-") as folder:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        trees = {"this tree": REPO, ref: Path(folder)}
        medians: dict[str, list[float]] = {name: [] for name in trees}
        environment = {**os.environ, "MCO_NEWSLETTER_SHARED": os.environ.get(
            "MCO_NEWSLETTER_SHARED", str(REPO.parent / "shared"))}
        for pair in range(pairs):
            for name, tree in (trees.items() if pair % 2 == 0 else reversed(trees.items())):
                out = subprocess.run([sys.executable, str(tree / "bench" / "render.py"), "--rounds", str(rounds),
                                      "--help-runs", "1"], capture_output=True, text=True, check=True,
                                     env=environment, cwd=tree).stdout
                median = float(re.search(r"median ([0-9.]+) ms", out)[1])
                medians[name].append(median)
                print(f"pair {pair + 1}: {name:>12}: median {median:.2f} ms  (load {os.getloadavg()[0]:.2f})",
                      flush=True)
    ours, theirs = (statistics.median(medians[name]) for name in trees)
    print(f"median of the runs: this tree {ours:.2f} ms, {ref} {theirs:.2f} ms → {ours / theirs:.2f}× "
          f"({'faster' if ours < theirs else 'slower'}); target 5 ms → {ours / 5:.2f}× of target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="rounds over the six editions (default 50)")
    parser.add_argument("--help-runs", type=int, default=10, help="runs of `--help` (default 10)")
    parser.add_argument("--against", metavar="REF", help="compare with the code of this git ref, side by side")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs with --against (default 3)")
    args = parser.parse_args()
    if args.against:
        side_by_side(args.against, args.pairs, args.rounds)
        return
    print(f"machine: {platform.node()} {platform.machine()} · Python {platform.python_version()} · "
          f"{platform.platform()}")
    samples = time_editions(args.rounds)
    median, p95 = statistics.median(samples), sorted(samples)[int(len(samples) * 0.95)]
    print(f"pipeline per edition (parse → HTML + text + MIME), {len(samples)} editions: "
          f"median {median:.2f} ms, p95 {p95:.2f} ms, target 5 ms → {median / 5:.2f}× of target")
    helps, bares, help_cpu, bare_cpu = time_help(args.help_runs)
    help_median, bare_median = statistics.median(helps), statistics.median(bares)
    print(f"`mco-newsletter --help` as a process: median {help_median * 1000:.0f} ms "
          f"(bare `python -c pass`: {bare_median * 1000:.0f} ms, ratio {help_median / bare_median:.2f}×), "
          f"target 300 ms → {help_median / 0.3:.2f}× of target; "
          f"CPU time median {statistics.median(help_cpu) * 1000:.0f} ms "
          f"(bare {statistics.median(bare_cpu) * 1000:.0f} ms, ratio "
          f"{statistics.median(help_cpu) / statistics.median(bare_cpu):.2f}×); load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
