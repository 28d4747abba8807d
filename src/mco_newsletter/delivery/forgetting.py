"""The delivery domain's part of an erasure (subscribers/erasure.py): no batch on the wire while the person's rows
go, the ledger's rows that name them, then the outbox messages meant for them."""

from __future__ import annotations

from contextlib import AbstractContextManager

from ..config import Settings
from ..subscribers.store import Store
from .backends.outbox import remove_reader_messages
from .ledger import Ledger
from .locks import transmissions_paused

PAUSE_SECONDS = 120.0  # the longest a send's current batch may take to end before the erasure gives up


class DeliveryForgetter:
    """Forgets a person in the ledger and the outbox (a subscribers.erasure.Forgetter)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rows: list[tuple[int, int]] = []  # (campaign id, row id) of the person's ledger rows, once forgotten

    def holding(self, store: Store) -> AbstractContextManager[object]:
        # A send checks every batch's readers inside its transmission window: once this is held, no message to
        # the person can go out, and none is on the wire.
        return transmissions_paused(self.settings.private_dir, timeout=PAUSE_SECONDS, store=store)

    def forget_rows(self, store: Store, subscriber_id: int) -> None:
        self.rows = Ledger(store).forget(subscriber_id)

    def forget_files(self, addresses: set[str]) -> None:
        for address in addresses:
            remove_reader_messages(self.settings.sending.outbox, self.rows, address)
