"""Locks released when their process dies: one sender per issue, and erasures that wait for the batch on the
wire.

On SQLite both are flock(2) locks on files in <private>/locks/ (one host); on a PostgreSQL store, advisory locks
that every host of the store sees (delivery/shared_locks.py), behind the same names: Claim.take(…, store=…),
claim.transmissions(), transmissions_paused(…, store=…). A claim is held for a whole send: a second
`send` of the same issue refuses (naming the running one) or waits; rows left in `sending` are a
dead process's only when the claim could be taken. A transmission window is held (shared) while a
batch's readers are checked and sent; `subscribers erase` takes it exclusively, so it returns only
when no message to that reader can still go out. A gate in front of the window keeps a busy sender
from starving the erasure: the sender passes the gate before each batch, the erasure closes it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NewsletterError
from ..files import make_private_folder

if TYPE_CHECKING:
    from ..subscribers.store import Store
    from .shared_locks import SharedClaim

LOCKS = "locks"
POLL_SECONDS = 0.02


def _open(private_dir: Path, name: str) -> int:
    folder = private_dir / LOCKS
    make_private_folder(folder)
    return os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)


def _try(handle: int, mode: int) -> bool:
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Claim:
    """This process's right to send one issue; released by release() or by the process's death."""

    def __init__(self, handle: int, path: Path) -> None:
        self.handle = handle
        self.path = path

    @classmethod
    def take(
        cls,
        private_dir: Path,
        issue_id: str,
        *,
        segment: str,
        wait: bool = False,
        waiting: Callable[[str], None] = lambda holder: None,
        store: Store | None = None,
    ) -> Claim | SharedClaim:
        """Claim the issue, or refuse naming the process that holds it (wait for it with `wait`). On a PostgreSQL
        `store`, the claim holds for every host of the store (a SharedClaim, with the same methods)."""
        if store is not None and store.location.url:
            from .shared_locks import SharedClaim

            return SharedClaim.take(store.location, issue_id, segment=segment, wait=wait, waiting=waiting)
        name = f"send-{issue_id}.lock"
        handle = _open(private_dir, name)
        path = private_dir / LOCKS / name
        if not _try(handle, fcntl.LOCK_EX):
            holder = _holder(path)
            if not wait:
                os.close(handle)
                raise NewsletterError(
                    f"another send of {issue_id} is running ({holder})",
                    hint="let it finish (or stop it), or add --wait to start when it ends",
                )
            waiting(holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        # Who holds it, for the message a second sender shows; written after the lock is ours.
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()}, segment '{segment}', since {time.strftime('%H:%M:%S')}".encode(), 0)
        return cls(handle, path)

    def transmissions(self) -> Transmissions:
        """The window this claim's batches are sent in."""
        return Transmissions(self.path.parent.parent)

    def release(self) -> None:
        if self.handle >= 0:
            os.ftruncate(self.handle, 0)
            os.close(self.handle)  # closing the descriptor releases the lock
            self.handle = -1


def _holder(path: Path) -> str:
    # The holder writes who it is just after taking the lock: give it a moment to do so.
    for _ in range(25):
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        if text:
            return text
        time.sleep(POLL_SECONDS)
    return "a process that is just starting"


class Transmissions:
    """The sender's side of the transmission window."""

    def __init__(self, private_dir: Path) -> None:
        self.gate = _open(private_dir, "erasure-gate.lock")
        self.window_lock = _open(private_dir, "transmission.lock")

    @contextmanager
    def window(self) -> Iterator[None]:
        """Held while a batch's readers are checked and sent: an erasure waits until it ends."""
        fcntl.flock(self.gate, fcntl.LOCK_SH)  # blocks while an erasure holds the gate
        try:
            fcntl.flock(self.window_lock, fcntl.LOCK_SH)
        finally:
            fcntl.flock(self.gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self.window_lock, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.gate)
        os.close(self.window_lock)


@contextmanager
def transmissions_paused(
    private_dir: Path, *, timeout: float, waiting: Callable[[], None] = lambda: None, store: Store | None = None
) -> Iterator[None]:
    """No batch is on the wire while the block runs, and none starts (every sender checks again after it); on a
    PostgreSQL `store`, no batch of any host of the store."""
    if store is not None and store.location.url:
        from .shared_locks import shared_pause

        with shared_pause(store.location, timeout=timeout, waiting=waiting):
            yield
        return
    gate = _open(private_dir, "erasure-gate.lock")
    window = _open(private_dir, "transmission.lock")
    try:
        deadline = time.monotonic() + timeout
        told = False
        for handle in (gate, window):
            while not _try(handle, fcntl.LOCK_EX):
                if time.monotonic() > deadline:
                    raise NewsletterError(
                        "a send in progress did not finish its current batch in time; nothing was erased",
                        hint="run the same command again (or stop the send first)",
                    )
                if not told:
                    waiting()
                    told = True
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(window)  # closing releases the locks
        os.close(gate)
