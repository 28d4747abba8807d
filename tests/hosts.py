"""Hosts of one PostgreSQL store, played by workspaces on this machine: each its own folder and private folder (no
file shared with another), the same settings, the same store (MCO_NEWSLETTER_DB) and, unless a test says
otherwise, the same keys, copied from the first host as docs/subscribers.md says."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import copy_sample

KEY_FILES = ("unsubscribe.key", "erasure.key")


def make_keys(workspace: Path) -> None:
    """The first host's keys, as `keys init` writes them (owner-only files in private/)."""
    private = workspace / "private"
    private.mkdir(mode=0o700, exist_ok=True)
    for name in KEY_FILES:
        path = private / name
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32) + "\n", encoding="ascii")
            path.chmod(0o600)


def second_host(workspace: Path, folder: Path, *, keys: bool = True) -> Path:
    """Another host of the workspace's store: a workspace of its own with the same newsletter.toml, and the first
    host's keys copied into its own private folder (none with `keys=False`)."""
    other = copy_sample(folder)
    shutil.copy(workspace / "newsletter.toml", other / "newsletter.toml")
    if keys:
        make_keys(workspace)
        private = other / "private"
        private.mkdir(mode=0o700)
        for name in KEY_FILES:
            shutil.copy2(workspace / "private" / name, private / name)
    return other


def sender(workspace: Path, *extra: str, backend: str = "smtp", env: dict | None = None) -> subprocess.Popen:
    """`send 2024-05 --segment all --yes` of one host, as a process of its own."""
    command = [sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "send", "2024-05",
               "--segment", "all", "-b", backend, "--yes", *extra]
    given = {key: value for key, value in os.environ.items() if not key.startswith("MCO_NEWSLETTER_SMTP")}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**given, **(env or {})})


def wait_for(condition, timeout: float = 60, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)
