"""Sending on a PostgreSQL store from several processes: how soon a waiting sender takes over a killed one's claim,
and what the store-wide write lock costs senders of different campaigns.

Run from the repository: python bench/send_hosts.py [--takeovers 20] [--readers 200000]
A throwaway PostgreSQL cluster (Debian's server, durable commits, tests/postgres_cluster.py) listening on its Unix
socket and on 127.0.0.1; the local SendGrid server (tests/sendgrid_server.py) in its own process.

- takeover: a process holds an issue's send claim (delivery/shared_locks.py), another waits for it; the holder is
  killed (SIGKILL) and the time until the waiter holds the claim is taken (CLOCK_MONOTONIC is the machine's, the
  same in every process), over the Unix socket and over TCP.
- narrowing: `send 2024-05` of `--readers` readers through SendGrid, alone; beside `send 2023-12` of the same readers
  (a second campaign, which makes its rows while the first sends); and the same pair with every write transaction
  taking the store's write lock (BENCH_STORE_WIDE=1: the code before the narrowing), in alternating rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from send import finish_child, make_workspace, start_child  # noqa: E402
from postgres_cluster import DURABLE_OPTIONS, Cluster  # noqa: E402  (tests/ is on the path through send)

CLAIMANT = """
import sys, time
from mco_newsletter.delivery.shared_locks import SharedClaim
from mco_newsletter.storage.location import StoreLocation
claim = SharedClaim.take(StoreLocation(url=sys.argv[1]), "2024-05", segment="all", wait=True,
                         waiting=lambda holder: print("waiting", flush=True))
print("holding", time.monotonic(), flush=True)
sys.stdin.readline()
"""


class TcpCluster(Cluster):
    """The throwaway cluster, also on a TCP port of 127.0.0.1 (its Unix socket is named by that port too)."""

    def __init__(self, folder: Path, port: int):
        super().__init__(folder)
        self.port = port

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def claimant(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLAIMANT, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})


def takeovers(url: str, rounds: int) -> list[float]:
    """Seconds from a holder's SIGKILL to its waiter holding the claim, `rounds` times."""
    found = []
    holder = claimant(url)
    assert holder.stdout.readline().startswith("holding")
    for _ in range(rounds):
        waiter = claimant(url)
        assert waiter.stdout.readline().strip() == "waiting"
        time.sleep(0.2)  # the waiter is blocked in the server now
        killed = time.monotonic()
        holder.kill()
        holder.wait()
        line = waiter.stdout.readline().split()
        found.append(float(line[1]) - killed)
        holder = waiter
    holder.kill()
    holder.wait()
    return found


def sends(cluster: TcpCluster, server_url: str, readers: int, *, pair: bool, store_wide: bool) -> list[dict]:
    """One or two sends (2024-05, and 2023-12 started a second later) of `readers` readers on a fresh database."""
    folder = Path(tempfile.mkdtemp(prefix="mco-hosts-bench-"))
    name = f"pair_{time.monotonic_ns()}"
    with cluster.admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = cluster.url(name)
    try:
        root = make_workspace(folder, readers, url=url)
        env = {"MCO_NEWSLETTER_DB": url, "SENDGRID_API_KEY": "SG.test-key-for-the-local-server",
               "SENDGRID_API_HOST": server_url, **({"BENCH_STORE_WIDE": "1"} if store_wide else {})}
        children = [start_child(root, "sendgrid", env)]
        if pair:
            time.sleep(1.0)  # the first is sending when the second makes its campaign
            children.append(start_child(root, "sendgrid", env, issue="2023-12"))
        return [finish_child(child) for child in children]
    finally:
        shutil.rmtree(folder)
        with cluster.admin() as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takeovers", type=int, default=20)
    parser.add_argument("--readers", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mco-hosts-bench-pg-"))
    port = free_port()
    cluster = TcpCluster(folder, port)
    cluster.start(options=DURABLE_OPTIONS.replace("listen_addresses=''", "listen_addresses='127.0.0.1'")
                  + f" -c port={port}")
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "sendgrid_server.py")], stdout=subprocess.PIPE,
                              text=True)
    server_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
    try:
        with cluster.admin() as admin:
            admin.execute("CREATE DATABASE claims")
            version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
        print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
              f"{platform.python_version()} · PostgreSQL {version} · load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        from mco_newsletter.storage.database import open_database
        from mco_newsletter.storage.location import StoreLocation

        open_database(StoreLocation(url=cluster.url("claims"))).close()  # the schema, send_claims included
        for way, url in (("Unix socket", cluster.url("claims")),
                         ("TCP 127.0.0.1", f"postgresql://postgres@127.0.0.1:{port}/claims")):
            found = sorted(takeovers(url, args.takeovers))
            print(f"takeover after SIGKILL over {way}: median {statistics.median(found) * 1000:.1f} ms, "
                  f"max {found[-1] * 1000:.1f} ms, min {found[0] * 1000:.1f} ms ({len(found)} kills)", flush=True)
        for round_number in range(1, args.rounds + 1):
            for label, pair, store_wide in (("alone", False, False), ("pair, narrowed", True, False),
                                            ("pair, store-wide lock", True, True)):
                figures = sends(cluster, server_url, args.readers, pair=pair, store_wide=store_wide)
                shown = "; ".join(
                    f"{issue}: {args.readers / run['seconds']:,.0f} readers/s ({run['seconds']:.1f} s, campaign made "
                    f"in {run['created']:.2f} s, exit {run['exit']})"
                    for issue, run in zip(("2024-05", "2023-12"), figures))
                print(f"round {round_number} {label:<22} {shown}", flush=True)
    finally:
        server.terminate()
        server.wait()
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
