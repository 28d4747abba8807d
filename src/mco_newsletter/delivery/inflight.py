"""What each SMTP connection has on the wire, and what the server took that the ledger has not recorded
yet, kept where a killed process leaves it.

Marking a ledger row `sending` before every message, and committing every message as `sent` on its
own, would cost two commits per message. Instead each sending thread (one per connection) owns a
region of a small file (private/locks/in-flight-<campaign>, mapped into memory: a note costs no
system call). The region's first slot holds the row id being transmitted; a slot is cleared when the
server puts the reader off (the row stays open), and otherwise simply overwritten by the next message.
The other slots hold rows the server took (250), until the thread commits them as `sent` in one
transaction, a region full at a time, and the send loop commits the rest after each batch.

The page cache keeps the file when the process is killed, as it keeps the WAL; a power cut may lose
it, as it may lose the ledger's last commits (see docs/sending.md). The next sender of the campaign
records the rows it finds taken as `sent`, and turns the rows it finds on the wire (still open, not
taken) into `sending` rows: the readers who may have it twice.
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from ..files import make_private_folder

SLOT = 8
REGION = 64  # slots per sending thread: the message on the wire, then up to 63 taken and not yet committed
REGIONS = 128  # far more than connections (at most 64): each sending thread gets one for good
SIZE = SLOT * REGION * REGIONS
OLD_SIZE = SLOT * 1024  # the layout before taken rows were noted: 1,024 slots, each a message on the wire


class InFlight:
    """Regions of row ids, one per sending thread, in a file mapped into memory.

    A thread's notes (mark, clear, take, taken, committed) are its own; `every_thread=True` reads or
    clears all regions, and is for when no thread is sending.
    """

    def __init__(self, path: Path | None) -> None:
        self.map = None
        self.old_layout = False
        if path is not None:
            make_private_folder(path.parent)
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                size = os.fstat(handle).st_size
                self.old_layout = size == OLD_SIZE
                if size != SIZE:
                    os.ftruncate(handle, max(size, SIZE))
                self.map = mmap.mmap(handle, SIZE)
            finally:
                os.close(handle)  # the mapping keeps the file
        self.local = threading.local()
        self.regions: list[list[int]] = [[] for _ in range(REGIONS)]  # the taken rows of each region, as noted
        self.count = 0
        self.lock = threading.Lock()

    def left_behind(self) -> tuple[set[int], set[int]]:
        """Row ids a process left: (on the wire, taken by the server and not recorded)."""
        if self.map is None:
            return set(), set()
        data = self.map[:]
        ids = [int.from_bytes(data[at : at + SLOT], "big") for at in range(0, len(data), SLOT)]
        if self.old_layout:
            return set(ids) - {0}, set()
        on_wire = {ids[at] for at in range(0, len(ids), REGION)} - {0}
        taken = {row_id for at, row_id in enumerate(ids) if at % REGION} - {0}
        return on_wire, taken

    def reset(self) -> None:
        if self.map is not None:
            self.map[:] = bytes(SIZE)
        self.old_layout = False
        for taken in self.regions:
            taken.clear()

    def batch(self, row_ids: list[int], *, in_doubt: Iterable[int] = ()) -> None:
        """The rows of the batch about to go, in order (the file's notes need nothing of it)."""

    def settle(self) -> None:
        """After an attempt at a batch, every answer recorded (the file's notes need nothing then)."""

    def mark(self, row_id: int) -> None:
        """This thread is about to transmit `row_id`."""
        self._write(self._region() * REGION, row_id)

    def clear(self) -> None:
        """This thread's message was answered (and recorded)."""
        region = getattr(self.local, "region", None)
        if region is not None:
            self._write(region * REGION, 0)

    def take(self, row_id: int) -> bool:
        """The server took this thread's message `row_id`; True when the region is full (or there is no file
        to keep the note): commit taken() now."""
        region = self._region()
        taken = self.regions[region]
        taken.append(row_id)
        self._write(region * REGION + len(taken), row_id)
        return self.map is None or len(taken) == REGION - 1

    def taken(self, *, every_thread: bool = False) -> list[int]:
        """Rows noted as taken and not yet committed: this thread's, or every thread's."""
        if every_thread:
            return [row_id for taken in self.regions for row_id in taken]
        return list(self.regions[self._region()])

    def committed(self, *, every_thread: bool = False) -> None:
        """The taken rows were recorded as sent: forget them (this thread's, or every thread's)."""
        for region in range(REGIONS) if every_thread else [self._region()]:
            taken = self.regions[region]
            if taken and self.map is not None:
                start = (region * REGION + 1) * SLOT
                self.map[start : start + len(taken) * SLOT] = bytes(len(taken) * SLOT)
            taken.clear()

    def _write(self, slot: int, row_id: int) -> None:
        if self.map is not None:
            self.map[slot * SLOT : slot * SLOT + SLOT] = row_id.to_bytes(SLOT, "big")

    def _region(self) -> int:
        region = getattr(self.local, "region", None)
        if region is None:
            with self.lock:
                region = self.local.region = self.count % REGIONS
                self.count += 1
        return region

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None
