"""The test suite's wall time: one or more git refs, measured in alternating rounds under the same conditions.

Run from the repository: python bench/suite.py [REF ...] [--rounds N] (git refs; default HEAD)
For each ref: `git archive` into a temporary folder and a virtualenv on the system site-packages whose
only addition is that folder's src/ (how the worktrees' .venv is made). Then, round after round, each
ref's whole suite in turn: `python -m pytest -q -p no:cacheprovider` (what `./test` runs after its
install, with the ref's own pytest options: from issue 15 on, one worker per core; from 2026-11-22 (night)
one more than the cores). Prints per run the
wall time, the CPU time of the suite's processes (user + sys of every waited-for child), the load average
before it started, pytest's summary line and any failed test; then each ref's median and the ratio to
the first ref.
Target (issue 15): the whole suite under 2.5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def prepare(ref: str, folder: Path) -> Path:
    """The ref's files in `folder`, with a virtualenv whose python imports that folder's src/."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder / ".venv")], check=True)
    python = folder / ".venv" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "mco_dev.pth").write_text(f"{folder / 'src'}\n", encoding="utf-8")
    # The review tests run the console script next to the interpreter.
    script = folder / ".venv" / "bin" / "mco-newsletter"
    script.write_text(f"#!{python}\nfrom mco_newsletter.cli import main\nmain()\n", encoding="utf-8")
    script.chmod(0o755)
    return python


def run_suite(python: Path, folder: Path) -> tuple[float, float, str]:
    """One whole run: wall seconds, CPU seconds of its processes, pytest's last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"], cwd=folder,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.strip().splitlines()
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    summary = lines[-1] if lines else f"exit {done.returncode}: {done.stderr[-300:]}"
    return wall, cpu, "\n  ".join([summary, *failures])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="*", default=["HEAD"])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    # Started in the background (`cmd &`), this process inherits SIGINT ignored, and so would the suite's
    # processes: the Ctrl-C tests would wait for an exit that never comes.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # The tests find the shared seeds and specs beside the repository; a copy in /tmp has none beside it.
    os.environ.setdefault("MCO_NEWSLETTER_SHARED", str(REPO.parent / "shared"))
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    walls: dict[str, list[float]] = {ref: [] for ref in args.refs}
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as tmp:
        prepared = {ref: (prepare(ref, Path(tmp) / str(number)), Path(tmp) / str(number))
                    for number, ref in enumerate(args.refs)}
        for round_number in range(1, args.rounds + 1):
            for ref, (python, folder) in prepared.items():
                load = os.getloadavg()[0]
                wall, cpu, summary = run_suite(python, folder)
                walls[ref].append(wall)
                print(f"round {round_number} {ref}: wall {wall:.0f} s, CPU {cpu:.0f} s, load before {load:.1f}; "
                      f"{summary}", flush=True)
    first = statistics.median(walls[args.refs[0]])
    for ref, values in walls.items():
        median = statistics.median(values)
        print(f"{ref}: median wall {median:.0f} s ({median / 60:.1f} min) over {len(values)} runs; "
              f"{median / first:.2f} × {args.refs[0]}")


if __name__ == "__main__":
    main()
