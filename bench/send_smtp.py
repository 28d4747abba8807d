"""SMTP sending figures: messages per second to a local sink that only counts, and peak memory.

Run from the repository: python bench/send_smtp.py [--readers 100000] [--connections 4]
The sink (tests/smtp_sink.py) runs in its own process; `send` runs in a child process so its peak
memory is its own. Messages are the real editions (about 40–50 KB each with their text part).
Peer to beat (issue 5, same kind of machine and sink): listmonk v5, about 100 messages/s with its
defaults and 870–980 messages/s tuned, at 7 GB peak. Target: above 2,000 messages/s under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from send import make_workspace, run_child  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    sink = subprocess.Popen([sys.executable, str(REPO / "tests" / "smtp_sink.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    port = int(sink.stdout.readline())
    folder = Path(tempfile.mkdtemp(prefix="mco-smtp-bench-"))
    try:
        root = make_workspace(folder, args.readers)
        settings = (root / "newsletter.toml").read_text()
        settings = settings.replace('host = "localhost"\nport = 587\nsecurity = "starttls"',
                                    f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"')
        settings = settings.replace("connections = 4", f"connections = {args.connections}")
        (root / "newsletter.toml").write_text(settings)
        figures = run_child(root, "smtp", {})
        seconds, rss_mib, exit_code = figures["seconds"], figures["rss_mib"], figures["exit"]
        sink.stdin.write("STAT\n")
        sink.stdin.flush()
        messages, size = map(int, sink.stdout.readline().split())
        print(f"{messages:,} messages ({size / max(messages, 1) / 1024:.1f} KiB each) over {args.connections} "
              f"connections in {seconds:.1f} s = {messages / seconds:,.0f} messages/s (target 2,000/s → "
              f"{messages / seconds / 2000:.2f}× of target; listmonk tuned ~900/s → {messages / seconds / 900:.1f}×); "
              f"peak memory {rss_mib:.0f} MiB (target 300 MB; listmonk 7 GB); exit {exit_code}")
    finally:
        shutil.rmtree(folder)
        sink.stdin.close()
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
