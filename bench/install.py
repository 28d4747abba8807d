"""Install figures: the README's first command in a fresh virtualenv — its size and its wall time.

Run from the repository: python bench/install.py [REF ...] (git refs; default HEAD)
For each ref, in turn: `git archive` of it into a temporary folder, `python -m venv`, then the README's
first command there (`pip install -c constraints.txt -e . && mco-newsletter render 2024-05`), timed.
Prints the venv's size (du -sm), what the install added to an empty venv, the wall time, and the
biggest distributions (the files each one's RECORD lists). pip uses its usual cache and indexes.
Target (issue 15): the base install under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README_COMMAND = "pip install -q -c constraints.txt -e . && mco-newsletter render 2024-05"
# Run by the new venv's python: size per distribution from its RECORD, biggest first.
PER_DISTRIBUTION = """
import importlib.metadata as md, os
rows = []
for dist in md.distributions():
    size = sum(os.path.getsize(f.locate()) for f in dist.files or () if os.path.exists(f.locate()))
    rows.append((size, dist.metadata["Name"], dist.version))
for size, name, version in sorted(rows, reverse=True)[:TOP]:
    print(f"{size / 2**20:8.1f} MiB  {name} {version}")
"""


def megabytes(path: Path) -> int:
    return int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def measure(ref: str, folder: Path, top: int) -> None:
    source, venv = folder / "src", folder / "venv"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = megabytes(venv)
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    done = subprocess.run(README_COMMAND, shell=True, cwd=source, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(f"{ref}: the README's first command failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        return
    size = megabytes(venv)
    print(f"{ref}: empty venv {empty} MiB; after the README's first command {size} MiB, so the install adds "
          f"{size - empty} MiB ({(size - empty) * 2**20 / 1e6:,.0f} MB; target under 300 MB); wall time {elapsed:.1f} s")
    print(done.stdout.strip().splitlines()[0])
    table = subprocess.run([str(venv / "bin" / "python"), "-c", PER_DISTRIBUTION.replace("TOP", str(top))],
                           capture_output=True, text=True, check=True).stdout
    print(table, end="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="*", default=["HEAD"])
    parser.add_argument("--top", type=int, default=12, help="how many distributions to list")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    for ref in args.refs:
        folder = Path(tempfile.mkdtemp(prefix="mco-install-bench-"))
        try:
            measure(ref, folder, args.top)
        finally:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
