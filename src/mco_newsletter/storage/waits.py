"""Waiting for the subscriber store: after a short wait, the person is told which programs hold it (an SQLite
file's holders are found in /proc)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Past this wait the person is told who holds the database, not left in silence.
WAIT_NOTICE_S = 2


@contextmanager
def waiting(holders_of: Callable[[], list[str]], on_wait: Callable[[list[str]], None] | None) -> Iterator[None]:
    """Call on_wait(holders_of()) once if the block is still waiting for the database after WAIT_NOTICE_S."""
    if on_wait is None:
        yield
        return
    timer = threading.Timer(WAIT_NOTICE_S, lambda: on_wait(holders_of()))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def holders(path: Path) -> list[str]:
    """The other processes that have the database (or its WAL) open, as `pid N (command)`; Linux only."""
    targets = {str(path.resolve()) + suffix for suffix in ("", "-wal", "-shm")}
    found = []
    for process in sorted(Path("/proc").glob("[0-9]*"), key=lambda p: int(p.name)):
        if int(process.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (process / "fd").iterdir()):
                words = (process / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ").split()
                command = " ".join(words)
                found.append(f"pid {process.name} ({command[:80] + '…' if len(command) > 80 else command})")
        except OSError:
            continue  # gone meanwhile, or another user's
    return found
