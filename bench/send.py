"""SendGrid sending figures: readers per second end to end, requests made, and peak memory as the list grows.

Run from the repository: python bench/send.py [--sizes 10000,100000,1000000]
The local SendGrid server (tests/sendgrid_server.py, validating every request against the published
spec) runs in its own process. Each size runs `send` in a fresh process so peak memory is its own.
Targets (issue 5): at least 20,000 readers/s; one request per 1,000 readers of an edition;
peak memory under 300 MB and flat as the list grows.
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


def make_workspace(folder: Path, readers: int) -> Path:
    """A workspace copy with `readers` active subscribers in three languages."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.subscribers.store import open_store

    root = copy_workspace(folder)
    settings = load_settings(root)
    store = open_store(settings.store)
    languages = ("en", "de", "ru")
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO subscribers (email, email_key, language, status, consent_source, consent_at, created_at,"
            " updated_at, nonce) VALUES (?, ?, ?, 'active', 'bench', '2026-01-01', '2026-01-01', '2026-01-01', ?)",
            ((f"reader{i}@example.org", f"reader{i}@example.org", languages[i % 3], secrets.token_bytes(16))
             for i in range(readers)))
    store.close()
    return root


def run_child(root: Path, backend: str, env: dict, src: Path = REPO / "src") -> dict:
    """Run `send --backend …` in a child process with the code in `src`; return its wall time, CPU time
    (user + system, all threads, start-up included), peak RSS and exit code."""
    code = (
        "import resource, sys, time\n"
        "from mco_newsletter.cli import main\n"
        "start = time.perf_counter()\n"
        "try:\n    main()\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print('BENCH', time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, code, "
        "file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code, "--workspace", str(root), "send", "2024-05", "--segment",
                             "all", "--backend", backend, "--yes"], env={**os.environ, **env, "PYTHONPATH": str(src)},
                            capture_output=True, text=True)
    line = next((line for line in result.stderr.splitlines() if line.startswith("BENCH")), None)
    if line is None:
        raise SystemExit(f"the send did not run:\n{result.stderr}")
    _, seconds, cpu, rss_kib, code = line.split()
    return {"seconds": float(seconds), "cpu": float(cpu), "rss_mib": int(rss_kib) / 1024, "exit": code,
            "stdout": result.stdout}


def run_send(root: Path, server_url: str) -> dict:
    """`send` through the local SendGrid server."""
    return run_child(root, "sendgrid", {"SENDGRID_API_KEY": "SG.test-key-for-the-local-server",
                                        "SENDGRID_API_HOST": server_url})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "sendgrid_server.py")], stdout=subprocess.PIPE,
                              text=True)
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    try:
        for size in sizes:
            folder = Path(tempfile.mkdtemp(prefix="mco-send-bench-"))
            try:
                root = make_workspace(folder, size)
                figures = run_send(root, url)
                status = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(root),
                                         "send-status", "2024-05", "--json"], capture_output=True, text=True,
                                        env={**os.environ, "PYTHONPATH": str(REPO / "src")})
                editions = json.loads(status.stdout)["campaigns"][0]["editions"]
                sent = sum(states.get("sent", 0) for states in editions.values())
                print(f"{size:>9,} readers: {sent:,} sent in {figures['seconds']:.2f} s = "
                      f"{sent / figures['seconds']:,.0f} readers/s (target 20,000/s → "
                      f"{sent / figures['seconds'] / 20000:.2f}× of target); peak memory {figures['rss_mib']:.0f} MiB "
                      f"(target 300 MB); exit {figures['exit']}")
            finally:
                shutil.rmtree(folder)
        from urllib.request import urlopen

        stats = json.load(urlopen(f"{url}/stats"))
        total = sum(sizes)
        print(f"requests: {stats['accepted_requests']:,} accepted for {stats['accepted_recipients']:,} readers "
              f"({stats['accepted_recipients'] / max(stats['accepted_requests'], 1):,.0f} per request; every reader's "
              f"edition batches of ≤1,000 expected: at least {total // 1000:,}); {stats['invalid']} invalid")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
