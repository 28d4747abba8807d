"""Which message each SMTP connection has on the wire, kept where a killed process leaves it.

Marking a ledger row `sending` before every message would cost a second commit per message. Instead
each connection writes the row id it is transmitting into its own 8-byte slot of a small file
(private/locks/in-flight-<campaign>, mapped into memory); a slot is cleared when the server puts the reader off (the row
stays open), and otherwise simply overwritten by the next message: a row found there whose ledger
state is already final was answered. The page cache keeps
the file when the process is killed, as it keeps the WAL; a power cut may lose it, as it may lose
the ledger's last commits (see docs/sending.md). The next sender of the campaign turns the rows it
finds there (still open) into `sending` rows: the readers who may have it twice.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

from ..files import make_private_folder

SLOT = 8
SLOTS = 1024  # far more than connections (at most 64): each sending thread gets one for good
EMPTY = bytes(SLOT)


class InFlight:
    """Slots of row ids being transmitted, one per sending thread, in a file mapped into memory (a note
    costs no system call)."""

    def __init__(self, path: Path | None):
        self.map = None
        if path is not None:
            make_private_folder(path.parent)
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(handle).st_size != SLOT * SLOTS:
                    os.ftruncate(handle, SLOT * SLOTS)
                self.map = mmap.mmap(handle, SLOT * SLOTS)
            finally:
                os.close(handle)  # the mapping keeps the file
        self.local = threading.local()
        self.count = 0
        self.lock = threading.Lock()

    def left_behind(self) -> set[int]:
        """Row ids a process left on the wire (its slots were never cleared)."""
        if self.map is None:
            return set()
        data = self.map[:]
        return {int.from_bytes(data[at:at + SLOT], "big") for at in range(0, len(data), SLOT)} - {0}

    def reset(self) -> None:
        if self.map is not None:
            self.map[:] = bytes(SLOT * SLOTS)

    def mark(self, row_id: int) -> None:
        """This thread is about to transmit `row_id`."""
        if self.map is not None:
            at = self._slot() * SLOT
            self.map[at:at + SLOT] = row_id.to_bytes(SLOT, "big")

    def clear(self) -> None:
        """This thread's message was answered (and recorded)."""
        slot = getattr(self.local, "slot", None)
        if self.map is not None and slot is not None:
            self.map[slot * SLOT:slot * SLOT + SLOT] = EMPTY

    def _slot(self) -> int:
        slot = getattr(self.local, "slot", None)
        if slot is None:
            with self.lock:
                slot = self.local.slot = self.count % SLOTS
                self.count += 1
        return slot

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None
