"""`report` on a store with a year of campaigns: 12 issues to --readers readers each (1.2 million ledger rows at the
default), every row with the provider's last word as a month of SendGrid's events leaves it, the readers' tallies and
a year of per-day counts of events that named no delivery; on SQLite and on PostgreSQL:

- the whole command in a child process (`mco-newsletter report ID`, `report`, `report ID --html FILE`): its wall time
  and its peak resident memory (the child's own, from wait4; PostgreSQL's server process is not in it);
- in this process: `report ID` (the newest issue: its campaign and the trend's 12, so every row is read) and `report`
  (every campaign), best of --rounds, and the Python memory they allocate at their peak (tracemalloc);
- the ledger's counts per edition both ways (storage/report_rows.py: filtered counts in one pass, or groups), to
  show why each store uses the one it does.

Run from the repository: python bench/report.py [--readers 100000] [--rounds 3]   (Debian's postgresql for the
second store: a throwaway cluster is started in a temporary folder, on a Unix socket only.)
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from mco_newsletter.reporting.page import report_page  # noqa: E402
from mco_newsletter.reporting.report import issue_report, overview  # noqa: E402
from mco_newsletter.storage.location import StoreLocation  # noqa: E402
from mco_newsletter.storage.report_rows import ReportRows  # noqa: E402
from mco_newsletter.subscribers.store import open_store  # noqa: E402

ISSUES = 12
# The provider's last words, as a month of SendGrid's events leaves them, by the reader's id modulo 100: 90 delivered,
# 3 bounced, one each blocked, dropped, deferred and soft-bounced, 3 with no word yet.
WORDS = (("delivered", 90), ("bounce", 3), ("blocked", 1), ("dropped", 1), ("deferred", 1), ("soft_bounce", 1))


def last_word() -> str:
    """A CASE expression giving a row its provider's word from `s.id % 100`."""
    cases, upper = [], 0
    for word, share in WORDS:
        upper += share
        cases.append(f"WHEN s.id % 100 < {upper} THEN '{word}'")
    return f"CASE {' '.join(cases)} ELSE NULL END"


def fill(store, readers: int) -> None:
    at = "2026-01-01T00:00:00+00:00"
    with store.transaction() as db:
        db.executemany("INSERT INTO subscribers (email, email_key, language, status, consent_source, consent_at,"
                       " created_at, updated_at, nonce) VALUES (?, ?, ?, 'active', 'bench', ?, ?, ?, ?)",
                       [(f"reader{i}@example.org", f"reader{i}@example.org", ("en", "de", "ru")[i % 3], at, at, at,
                         secrets.token_bytes(16)) for i in range(readers)])
        for month in range(1, ISSUES + 1):
            started = f"2026-{month:02d}-03T05:00:00+00:00"
            campaign = db.value("INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at)"
                                " VALUES (?, 'all', '{\"backend\": \"sendgrid\"}', ?) RETURNING id",
                                (f"2026-{month:02d}", started))
            db.execute("INSERT INTO deliveries (campaign_id, subscriber_id, language, state, provider_event,"
                       f" updated_at) SELECT ?, s.id, s.language, 'sent', {last_word()}, ? FROM subscribers s"
                       " ORDER BY s.id", (campaign, started))
            db.executemany("INSERT INTO campaign_tallies (campaign_id, language, kind, count) VALUES (?, ?, ?, ?)",
                           [(campaign, language, kind, readers // 1000) for language in ("en", "de", "ru")
                            for kind in ("complaint", "unsubscribe", "preferences")])
        db.executemany("INSERT INTO unmatched_reports (day, source, kind, reader, count) VALUES (?, ?, ?, 0, ?)",
                       [(f"2026-{month:02d}-{day:02d}", source, kind, 3) for month in range(1, ISSUES + 1)
                        for day in range(1, 29) for source, kind in (("webhook", "delivered"),
                                                                      ("webhook", "bounce"), ("mailbox", "dsn"))])
    store.db.update_statistics("subscribers", "campaigns", "deliveries", "campaign_tallies", "unmatched_reports")


def best(work, rounds: int) -> str:
    """The best of `rounds` runs: wall time, and this process's CPU time (on a shared machine the steadier one; it
    leaves out PostgreSQL's server, whose work is in the wall time only)."""
    wall = cpu = float("inf")
    for _ in range(rounds):
        started, used = time.perf_counter(), time.process_time()
        work()
        wall, cpu = min(wall, time.perf_counter() - started), min(cpu, time.process_time() - used)
    return f"{wall:.3f} s (CPU {cpu:.3f} s)"


def python_peak(work) -> float:
    """MiB that Python allocated at the peak of one run of `work` (tracemalloc)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def command(workspace: Path, store_env: str, *args: str) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MiB) of `mco-newsletter ARGS` as a child process."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MCO_NEWSLETTER_DB": store_env,
           "MCO_NEWSLETTER_WORKSPACE": str(workspace)}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "mco_newsletter", *args], env=env, cwd=workspace,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{args} exited {child.returncode}: {child.stderr.read().decode()}")
    child.stderr.close()
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(location: StoreLocation, store_env: str, workspace: Path, readers: int,
            rounds: int) -> list[tuple[str, str]]:
    store = open_store(location)
    fill(store, readers)
    newest = f"2026-{ISSUES:02d}"
    found = issue_report(store=store, issue_id=newest)
    assert found.total.planned == readers and len(found.trend) == ISSUES
    assert found.total.delivered == sum(1 for i in range(1, readers + 1) if i % 100 < 90)
    rows = ReportRows(store.db)
    ids = [campaign.id for campaign in rows.campaigns()]
    assert sorted(rows._filtered(ids)) == sorted(rows._grouped(ids))
    results = []
    for name, work in ((f"report {newest}", lambda: issue_report(store=store, issue_id=newest)),
                       ("report (every campaign)", lambda: overview(store=store))):
        results.append((f"{name}, in process", f"{best(work, rounds)}, Python's peak {python_peak(work):.1f} MiB"))
    results.append((f"the page of report {newest} alone",
                    best(lambda: report_page(newsletter="MCO", report=found), rounds)))
    for name, work in (("counts filtered (SQLite's way)", lambda: rows._filtered(ids)),
                       ("counts as groups (PostgreSQL's way)", lambda: rows._grouped(ids))):
        results.append((f"{len(ids)} campaigns' {name}", best(work, rounds)))
    store.close()
    page = workspace / "report.html"
    for args in (("report", newest), ("report",), ("report", newest, "--html", str(page))):
        timings = [command(workspace, store_env, *args) for _ in range(rounds)]
        results.append((f"mco-newsletter {' '.join(args[:2] if len(args) > 2 else args)}"
                        f"{' --html' if len(args) > 2 else ''}, a process",
                        f"{min(t for t, _, _ in timings):.3f} s (CPU {min(c for _, c, _ in timings):.3f} s), peak RSS"
                        f" {max(m for _, _, m in timings):.0f} MiB"))
    return results


def main() -> None:
    import sqlite3

    from conftest import copy_sample
    from postgres_cluster import DURABLE_OPTIONS, Cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · SQLite {sqlite3.sqlite_version}; {ISSUES} campaigns of {args.readers:,} "
          f"readers ({ISSUES * args.readers:,} ledger rows)", flush=True)
    with tempfile.TemporaryDirectory(prefix="mco-bench-report-") as folder:
        workspace = copy_sample(Path(folder) / "ws")
        (workspace / "private").mkdir(mode=0o700)
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="mco-bench-pg-")))
        cluster.start(DURABLE_OPTIONS)
        try:
            with cluster.admin() as admin:
                admin.execute("CREATE DATABASE bench")
            sqlite_file = workspace / "private" / "bench.sqlite3"
            for label, location, env in (("SQLite", StoreLocation(path=sqlite_file), str(sqlite_file)),
                                         ("PostgreSQL", StoreLocation(url=cluster.url("bench")),
                                          cluster.url("bench"))):
                for name, figure in measure(location, env, workspace, args.readers, args.rounds):
                    print(f"{label:<11} {name:<52} {figure}", flush=True)
        finally:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
