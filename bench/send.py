"""SendGrid sending figures: readers per second end to end, requests made, and peak memory as the list grows, on
SQLite and on PostgreSQL side by side.

Run from the repository: python bench/send.py [--sizes 10000,100000,1000000] [--stores sqlite,postgresql]
The local SendGrid server (tests/sendgrid_server.py, validating every request against the published
spec) runs in its own process. Each size runs `send` in a fresh process so peak memory is its own, once per
store: an SQLite file, and a database of a throwaway PostgreSQL cluster this script starts (Debian's server, as a
deployment runs it: durable commits, Unix socket; tests/postgres_cluster.py), the same readers in each. The time
`send` takes to make the campaign (one row per reader) is printed too.
Targets: at least 20,000 readers/s on SQLite (issue 5), 15,000 on PostgreSQL (issue 23); one request per 1,000
readers of an edition; peak memory flat, under 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


def copy_workspace(folder: Path) -> Path:
    """A copy of the repository's workspace (settings, issues; the templates are the package's) in folder/ws."""
    root = folder / "ws"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root)
    shutil.copytree(REPO / "issues", root / "issues")
    return root


def make_workspace(folder: Path, readers: int, *, url: str | None = None, domain: str = "example.org") -> Path:
    """A workspace copy with `readers` active subscribers in three languages (reader<n>@`domain`); its store the
    SQLite file under private/, or the PostgreSQL database at `url` (then give the child MCO_NEWSLETTER_DB=url too),
    with its keys."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.storage.location import StoreLocation
    from mco_newsletter.subscribers.keys import make_keys
    from mco_newsletter.subscribers.store import open_store

    root = copy_workspace(folder)
    settings = load_settings(root)
    store = open_store(StoreLocation(url=url) if url else settings.store)
    languages = ("en", "de", "ru")
    rows = ((f"reader{i}@{domain}", f"reader{i}@{domain}", languages[i % 3], secrets.token_bytes(16))
            for i in range(readers))
    if url:  # a million rows through COPY: seconds, not minutes
        with store.db.connection.cursor() as cursor:
            with cursor.copy("COPY subscribers (email, email_key, language, status, consent_source, consent_at,"
                             " created_at, updated_at, nonce) FROM STDIN") as copying:
                for email, key, language, nonce in rows:
                    copying.write_row((email, key, language, "active", "bench", "2026-01-01", "2026-01-01",
                                       "2026-01-01", nonce))
        store.db.update_statistics("subscribers")
        make_keys(settings.private_dir, store=store)  # `keys init`: a shared store's keys are never made silently
    else:
        with store.transaction() as db:
            db.executemany(
                "INSERT INTO subscribers (email, email_key, language, status, consent_source, consent_at, created_at,"
                " updated_at, nonce) VALUES (?, ?, ?, 'active', 'bench', '2026-01-01', '2026-01-01', '2026-01-01', ?)",
                rows)
    store.close()
    return root


# The child's wrapper: times the whole command and the campaign's making, reports CPU and peak memory. With
# BENCH_STORE_WIDE=1 every write (a transaction, or a statement of Database.write) takes the store's write lock,
# as the code did before issue 23 narrowed it.
CHILD = (
    "import os, resource, sys, time\n"
    "from mco_newsletter.cli import main\n"
    "from mco_newsletter.delivery import ledger\n"
    "made = ledger.Ledger.create\n"
    "def timed(self, **given):\n"
    "    began = time.perf_counter()\n"
    "    try:\n        return made(self, **given)\n"
    "    finally:\n        print('CREATE', time.perf_counter() - began, file=sys.stderr)\n"
    "ledger.Ledger.create = timed\n"
    "if os.environ.get('BENCH_STORE_WIDE'):\n"
    "    from mco_newsletter.storage import postgresql\n"
    "    begin = postgresql.PostgresDialect.begin\n"
    "    postgresql.PostgresDialect.begin = lambda self, connection, store_wide=True: begin(self, connection)\n"
    "    from mco_newsletter.storage.database import Database\n"
    "    def write(self, sql, params=()):\n"
    "        with self.transaction():\n            return self.execute(sql, params)\n"
    "    Database.write = write\n"
    "start = time.perf_counter()\n"
    "try:\n    main()\n"
    "except SystemExit as exit:\n    code = exit.code\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('BENCH', time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code, "
    "file=sys.stderr)\n")


def start_child(root: Path, backend: str, env: dict, src: Path = REPO / "src", issue: str = "2024-05",
                ) -> subprocess.Popen:
    """`send ISSUE --segment all --backend …` in a child process with the code in `src` (finish_child reads it)."""
    return subprocess.Popen([sys.executable, "-c", CHILD, "--workspace", str(root), "send", issue, "--segment", "all",
                             "--backend", backend, "--yes"], env={**os.environ, **env, "PYTHONPATH": str(src)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(process: subprocess.Popen) -> dict:
    """A child's wall time, CPU time (user + system, all threads, start-up included), peak RSS, exit code and the
    time it took to make its campaign."""
    stdout, stderr = process.communicate()
    line = next((line for line in stderr.splitlines() if line.startswith("BENCH")), None)
    if line is None:
        raise SystemExit(f"the send did not run:\n{stderr}")
    _, seconds, cpu, rss_kib, code = line.split()
    created = next((float(line.split()[1]) for line in stderr.splitlines() if line.startswith("CREATE")), None)
    return {"seconds": float(seconds), "cpu": float(cpu), "rss_mib": int(rss_kib) / 1024, "exit": code,
            "stdout": stdout, "created": created}


def run_child(root: Path, backend: str, env: dict, src: Path = REPO / "src") -> dict:
    """Run `send --backend …` in a child process with the code in `src`; return its figures (finish_child)."""
    return finish_child(start_child(root, backend, env, src))


def run_send(root: Path, server_url: str, env: dict | None = None) -> dict:
    """`send` through the local SendGrid server."""
    return run_child(root, "sendgrid", {"SENDGRID_API_KEY": "SG.test-key-for-the-local-server",
                                        "SENDGRID_API_HOST": server_url, **(env or {})})


class Stores:
    """Where each run's store is: an SQLite file in its workspace, or a fresh database of a throwaway PostgreSQL
    cluster (started at the first use, stopped by close())."""

    def __init__(self):
        self.cluster = None
        self.folder = None
        self.count = 0

    def url(self, kind: str) -> str | None:
        if kind == "sqlite":
            return None
        if self.cluster is None:
            from postgres_cluster import DURABLE_OPTIONS, Cluster

            self.folder = Path(tempfile.mkdtemp(prefix="mco-send-bench-pg-"))
            self.cluster = Cluster(self.folder)
            self.cluster.start(options=DURABLE_OPTIONS)
        self.count += 1
        with self.cluster.admin() as admin:
            admin.execute(f"CREATE DATABASE bench_{self.count}")
        return self.cluster.url(f"bench_{self.count}")

    def drop(self, url: str | None) -> None:
        if url:
            with self.cluster.admin() as admin:
                admin.execute(f"DROP DATABASE bench_{self.count} WITH (FORCE)")

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            shutil.rmtree(self.folder, ignore_errors=True)


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """A process's CPU time so far (all its threads), with its ended children's when `children` (a PostgreSQL
    server's connections are its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(stores: Stores, database: str | None) -> float:
    if database is None:
        return 0.0
    return cpu_seconds(int((stores.cluster.data / "postmaster.pid").read_text().split()[0]), children=True)


def server_version(stores: Stores) -> str:
    if stores.cluster is None:
        return ""
    with stores.cluster.admin() as admin:
        return " · PostgreSQL " + admin.execute("SHOW server_version").fetchone()[0].split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.stores.split(",")
    import sqlite3

    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · SQLite {sqlite3.sqlite_version} · load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "sendgrid_server.py")], stdout=subprocess.PIPE,
                              text=True)
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    stores = Stores()
    sent_total = 0
    try:
        for size in sizes:
            rates = {}
            for kind in kinds:
                folder = Path(tempfile.mkdtemp(prefix="mco-send-bench-"))
                database = stores.url(kind)
                env = {"MCO_NEWSLETTER_DB": database} if database else {}
                try:
                    # Each run's readers have addresses of their own: the server's distinct count checks them all.
                    root = make_workspace(folder, size, url=database, domain=f"{kind}-{size}.example.org")
                    before = cpu_seconds(server.pid), postgres_cpu(stores, database)
                    figures = run_send(root, url, env)
                    time.sleep(0.3)  # the send's server processes have ended and are counted
                    used = cpu_seconds(server.pid) - before[0], postgres_cpu(stores, database) - before[1]
                    status = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(root),
                                             "send-status", "2024-05", "--json"], capture_output=True, text=True,
                                            env={**os.environ, **env, "PYTHONPATH": str(REPO / "src")})
                    editions = json.loads(status.stdout)["campaigns"][0]["editions"]
                    sent = sum(states.get("sent", 0) for states in editions.values())
                    sent_total += size
                    target = 20000 if kind == "sqlite" else 15000
                    rates[kind] = sent / figures["seconds"]
                    print(f"{kind:<10} {size:>9,} readers: {sent:,} sent in {figures['seconds']:.2f} s = "
                          f"{sent / figures['seconds']:,.0f} readers/s (target {target:,}/s → "
                          f"{sent / figures['seconds'] / target:.2f}× of target); campaign made in "
                          f"{figures['created']:.2f} s; sender CPU {figures['cpu']:.1f} s; peak memory "
                          f"{figures['rss_mib']:.0f} MiB (target 100 MB); exit {figures['exit']}"
                          f"{server_version(stores) if database else ''}", flush=True)
                    # On a machine shared with other work the wall time says little; CPU per reader does not depend
                    # on the load, and bounds the rate the three processes could reach on these two cores.
                    per_reader = [figures["cpu"] / size * 1e6, used[0] / size * 1e6, used[1] / size * 1e6]
                    print(f"{'':<10} {'':>9}  CPU per reader: sender {per_reader[0]:.0f} µs, SendGrid server "
                          f"{per_reader[1]:.0f} µs" + (f", PostgreSQL server {per_reader[2]:.0f} µs" if database else "")
                          + f" (all three on {os.cpu_count()} cores: at most "
                          f"{os.cpu_count() * 1e6 / sum(per_reader):,.0f} readers/s; the sender alone on a core: at most "
                          f"{1e6 / per_reader[0]:,.0f})", flush=True)
                finally:
                    shutil.rmtree(folder)
                    stores.drop(database)
            if len(rates) == 2:
                print(f"{'':<10} {size:>9,} readers: PostgreSQL/SQLite {rates['postgresql'] / rates['sqlite']:.2f}× the "
                      f"readers/s; load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        from urllib.request import urlopen

        stats = json.load(urlopen(f"{url}/stats"))
        print(f"each reader exactly once: {stats['distinct_recipients'] == stats['accepted_recipients'] == sent_total}"
              f" ({stats['accepted_recipients']:,} accepted, {stats['distinct_recipients']:,} distinct, "
              f"{sent_total:,} readers in all runs)")
        print(f"requests: {stats['accepted_requests']:,} accepted for {stats['accepted_recipients']:,} readers "
              f"({stats['accepted_recipients'] / max(stats['accepted_requests'], 1):,.0f} per request; every reader's "
              f"edition batches of ≤1,000 expected: at least {sent_total // 1000:,}); {stats['invalid']} invalid")
    finally:
        server.terminate()
        server.wait()
        stores.close()


if __name__ == "__main__":
    main()
