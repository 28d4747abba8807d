"""`subscribers import` at the scale of a large peer: peak memory (resident set of the import process) and seconds per
100,000 rows at 10,000, 100,000 and 1,000,000 rows, a dry run, the first import and a re-import of the same file, on
SQLite and PostgreSQL side by side in one run.

Run from the repository: python bench/import_scale.py [--sizes 10000,100000,1000000] [--compare OTHER/src]
                                                     [--compare-up-to 100000] [--stores sqlite,postgresql]
Each import is `mco-newsletter subscribers import` in a process of its own (its peak memory is its own; "CPU s" is
its CPU time, "server s" the PostgreSQL cluster's during it, "seconds" wall time); the file is bench/subscribers.py's
(1 % bad rows: bad addresses, unknown languages, duplicates within the file; up to two tags).
PostgreSQL is a throwaway cluster of Debian's server started here, as deployed (fsync on, Unix socket only).
With --compare, the same imports run with the code in OTHER/src too, after this checkout's, at the sizes up to
--compare-up-to (main's import held about 1 KB a row). After this checkout's imports, `database compact` rewrites the
store: the seconds each table was locked. "CPU/100k" is the import's and the server's CPU seconds per 100,000 rows,
the cost per row that other work on a shared machine does not inflate as it does wall time; the last lines compare
it between the two largest sizes, and give the highest peak memory of each store and code.
Targets (issue 23): memory flat, under 200 MB at 1,000,000 rows; time per row flat from 100,000 to 1,000,000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from subscribers import make_csv  # noqa: E402

STEPS = ("dry run", "import", "re-import")
CHILD = (
    "import resource, sys, time\n"
    "from mco_newsletter.cli import main\n"
    "start = time.perf_counter()\n"
    "try:\n    main()\n"
    "except SystemExit as exit:\n    code = exit.code\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('BENCH', time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code, "
    "file=sys.stderr)\n")


def run_import(root: Path, csv_path: Path, src: Path, env: dict, *extra: str) -> dict:
    """One `subscribers import` in a child process with the code in `src`: wall and CPU seconds, peak RSS, summary."""
    result = subprocess.run([sys.executable, "-c", CHILD, "--workspace", str(root), "subscribers", "import",
                             str(csv_path), *extra], env={**os.environ, **env, "PYTHONPATH": str(src)},
                            capture_output=True, text=True)
    line = next((line for line in result.stderr.splitlines() if line.startswith("BENCH")), None)
    if line is None:
        raise SystemExit(f"the import did not run:\n{result.stderr[-3000:]}")
    _, seconds, cpu, rss_kib, code = line.split()
    summary = next((line for line in result.stdout.splitlines() if line.startswith("Read ")), "")
    if not summary:  # refused (a shared store without its keys, a broken file): no figure of an import that did not run
        raise SystemExit(f"the import was refused (exit {code}):\n{(result.stdout + result.stderr)[-3000:]}")
    return {"seconds": float(seconds), "cpu": float(cpu), "rss_mib": int(rss_kib) / 1024, "exit": code,
            "summary": summary}


def server_cpu(cluster) -> float:
    """CPU seconds the cluster's processes have used: the postmaster, its backends that ended (reaped: counted in its
    children's times) and those still running (checkpointer, WAL writer, autovacuum...)."""
    if cluster is None:
        return 0.0
    postmaster = (cluster.data / "postmaster.pid").read_text().split()[0]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if entry.name == postmaster:
            total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        elif fields[1] == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def summarize(results: list[dict]) -> None:
    """Per store, code and step: the CPU cost per row at the largest size against the next one (linear: 0 %), and
    the highest peak memory at any size."""
    for store, code in dict.fromkeys((r["store"], r["code"]) for r in results):
        mine = [r for r in results if (r["store"], r["code"]) == (store, code)]
        sizes = sorted({r["size"] for r in mine})
        line = f"{store} {code}: peak {max(r['rss_mib'] for r in mine):.0f} MiB at most"
        if len(sizes) > 1:
            cost = {(r["size"], r["step"]): r["cost"] for r in mine}
            line += f"; CPU per row {sizes[-2]:,} → {sizes[-1]:,}: " + ", ".join(
                f"{step} {cost[sizes[-1], step] / cost[sizes[-2], step] - 1:+.0%}" for step in STEPS)
        print(line)


def workspace(folder: Path) -> Path:
    root = folder / "ws"
    root.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", root)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--compare", type=Path, metavar="SRC", help="another checkout's src/ to run beside this one")
    parser.add_argument("--compare-up-to", type=int, default=100_000, metavar="ROWS",
                        help="the largest size run with --compare's code")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    stores = args.stores.split(",")
    codes = [("this", REPO / "src")] + ([("other", args.compare.resolve())] if args.compare else [])
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    folder = Path(tempfile.mkdtemp(prefix="mco-import-bench-"))
    cluster = None
    try:
        if "postgresql" in stores:
            from postgres_cluster import DURABLE_OPTIONS, Cluster

            cluster = Cluster(Path(tempfile.mkdtemp(prefix="mco-import-bench-pg-")))
            cluster.start(DURABLE_OPTIONS)
            admin = cluster.admin()
            print("PostgreSQL:", admin.execute("SHOW server_version").fetchone()[0], "(fsync on)")
        print(f"{'store':<11} {'code':<6} {'rows':>10} {'step':<10} {'seconds':>8} {'s/100k':>7} {'CPU s':>7} "
              f"{'server s':>8} {'CPU/100k':>8} {'peak MiB':>8}  summary")
        results = []
        for size in sizes:
            csv_path = folder / f"readers-{size}.csv"
            make_csv(csv_path, size)
            for label, src in codes:
                if label == "other" and size > args.compare_up_to:
                    continue
                for store in stores:
                    case = folder / f"{store}-{label}-{size}"
                    root = workspace(case)
                    env = {}
                    if store == "postgresql":
                        name = f"bench_{label}_{size}"
                        admin.execute(f"DROP DATABASE IF EXISTS {name}")
                        admin.execute(f"CREATE DATABASE {name}")
                        env["MCO_NEWSLETTER_DB"] = cluster.url(name)
                        # A shared store's keys are made on purpose (code older than `keys init` made them itself).
                        subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "keys",
                                        "init"], env={**os.environ, **env, "PYTHONPATH": str(src)},
                                       capture_output=True, check=False)
                    else:
                        env["MCO_NEWSLETTER_DB"] = str(case / "private" / "subscribers.sqlite3")
                    for step in STEPS:
                        served = server_cpu(cluster if store == "postgresql" else None)
                        figures = run_import(root, csv_path, src, env, *(["--dry-run"] if step == "dry run" else []))
                        served = server_cpu(cluster if store == "postgresql" else None) - served
                        cost = (figures["cpu"] + served) / size * 100_000
                        results.append({"store": store, "code": label, "size": size, "step": step, "cost": cost,
                                        "rss_mib": figures["rss_mib"]})
                        print(f"{store:<11} {label:<6} {size:>10,} {step:<10} {figures['seconds']:>8.2f} "
                              f"{figures['seconds'] / size * 100_000:>7.2f} {figures['cpu']:>7.2f} "
                              f"{served:>8.2f} {cost:>8.2f} {figures['rss_mib']:>8.0f}  {figures['summary'][:60]}",
                              flush=True)
                    if src == REPO / "src":  # `database compact` after the imports: how long the tables are locked
                        compacted = subprocess.run(
                            [sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "database", "compact",
                             "--json"], env={**os.environ, **env, "PYTHONPATH": str(src)}, capture_output=True,
                            text=True)
                        tables = json.loads(compacted.stdout)["tables"]
                        print(f"{store:<11} {label:<6} {size:>10,} compact    "
                              f"{sum(t['seconds'] for t in tables):>8.2f}  " + ", ".join(
                                  f"{t['table']} {t['seconds']:.2f} s ({t['bytes_after'] / 1e6:,.1f} MB)"
                                  for t in tables if t["seconds"] >= 0.05 or t["table"] == "subscribers"),
                              flush=True)
                    if store == "postgresql":
                        admin.execute(f"DROP DATABASE {name}")
                    shutil.rmtree(case)
            csv_path.unlink()
        summarize(results)
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
