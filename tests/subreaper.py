"""Run a mail server's master process in the foreground as a child subreaper (Linux), so that no service it
starts outlives it as a zombie: on SIGTERM the master is stopped, then every service it leaves behind (adopted
by this process) is waited for, and one still running after 5 s is killed.

`python tests/subreaper.py COMMAND ARG…` (Postfix's master and Dovecot's both leave services to their parent's
parent when they stop; in a container, process 1 may never reap them).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def supervise(argv: list[str]) -> None:
    """Run `argv` (in a process group of its own, which it leads) until it ends; exit with its status."""
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started: list[subprocess.Popen] = []
    stopping: list[int] = []

    def stop(signum, frame) -> None:
        stopping.append(signum)
        for master in started:
            master.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    # Its own process group, which it leads: that group is what a master signals when it stops.
    started.append(subprocess.Popen(argv, process_group=0))
    if stopping:  # asked to stop while the master was starting
        started[0].send_signal(signal.SIGTERM)
    status = started[0].wait()
    deadline = time.monotonic() + 5
    while True:  # the services, now ours: each is waited for, and one still running after 5 s is killed
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            continue
        if time.monotonic() > deadline:
            for child in children():
                os.kill(child, signal.SIGKILL)
        time.sleep(0.02)
    sys.exit(status if status > 0 else 0)


def children() -> list[int]:
    """This process's children (services a master left, adopted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.append(int(entry.name))
    return found


if __name__ == "__main__":
    supervise(sys.argv[1:])
