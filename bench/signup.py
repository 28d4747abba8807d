"""Sign-up figures: sign-ups per second through the real server, each with its confirmation email written to
the outbox, and the server's peak memory as the number of sign-ups grows.

Run from the repository: python bench/signup.py [--sizes 1000,10000,100000] [--connections 32]
Each size starts `mco-newsletter serve` in a fresh workspace (a copy of the repository's, with one public
topic) as its own process; a client of raw keep-alive connections posts the sign-ups as the embeddable
form does, from 1,000 client addresses (X-Forwarded-For, which uvicorn trusts from 127.0.0.1), each under
the per-client limit. The time runs from the first request to the last confirmation email in the outbox.
Targets (issue 14): at least 500 sign-ups/s; peak memory flat from 1,000 to 100,000 sign-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from send import copy_workspace  # noqa: E402  (bench/send.py: the repository's workspace, copied)

TOPIC = """
[segments.courts]
public = true
tags_any = ["courts"]
label = { en = "Court cases", de = "Gerichtsverfahren", ru = "Судебные дела" }

[signup]
client_limit = 1000
emails_per_hour = 0
"""
LANGUAGES = ("en", "de", "ru")
CLIENTS = 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(number: int) -> bytes:
    body = (f"email=reader{number}%40example.org&language={LANGUAGES[number % 3]}&name=&website="
            + ("&topics=courts" if number % 2 else "")).encode()
    return (f"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Forwarded-For: 10.{number % CLIENTS // 256}.{number % 256}.1\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def post_all(port: int, total: int, connections: int) -> dict[int, int]:
    """Post sign-ups 0 … total-1 over `connections` keep-alive connections; statuses counted."""
    statuses: dict[int, int] = {}
    numbers = iter(range(total))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for number in numbers:
            writer.write(request(number))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_size(total: int, connections: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="mco-signup-bench-"))
    root = copy_workspace(folder)
    with (root / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write(TOPIC)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        outbox = root / "private" / "outbox" / "new"
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        statuses = asyncio.run(post_all(port, total, connections))
        answered = time.perf_counter() - started
        while sum(1 for _ in os.scandir(outbox)) < total and time.perf_counter() - started < answered * 4 + 60:
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        mails = sum(1 for _ in os.scandir(outbox))
        peak = peak_rss_mib(server.pid)
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait()
    with sqlite3.connect(root / "private" / "subscribers.sqlite3") as db:
        pending = db.execute("SELECT count(*) FROM subscribers WHERE status = 'pending'").fetchone()[0]
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    return (f"{total:>7,} sign-ups: answered {statuses} in {answered:.2f} s; {mails:,} confirmation emails in the "
            f"outbox after {seconds:.2f} s = {total / seconds:,.0f} sign-ups/s (target 500/s → "
            f"{total / seconds / 500:.2f}× of target); {pending:,} pending; server CPU {cpu * 1000 / total:.2f} ms per "
            f"sign-up; server peak memory {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · SQLite {sqlite3.sqlite_version}")
    for size in (int(s) for s in args.sizes.split(",")):
        print(run_size(size, args.connections), flush=True)


if __name__ == "__main__":
    main()
