"""What every delivery backend keeps to: the Backend it is, the Recipient it is given, the Report it gives."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from ..message import PreparedEdition


class Recipient(NamedTuple):
    """One reader of a batch: the ledger row, the address as it travels, their link's token, and the return path
    naming their delivery (VERP, delivery/return_path.py; "": the connection's sender, as without [bounces])."""

    row_id: int
    email: str
    token: str
    return_path: str = ""


class Report(Protocol):
    """What a backend tells the ledger about each reader, as soon as it knows.

    `starting` comes before a request's readers are transmitted in a way that may reach the provider
    (commits them as `sending`); `transmitting` before one reader's message goes out on one connection
    (cheaper: see delivery/inflight.py). A backend whose resend replaces the first copy, like the
    outbox, calls neither. `accepted` comes with (row id, provider message id) pairs the moment the
    provider took them; `taken` when the server took the message `transmitting` announced on this
    connection (noted beside it, committed in groups); `refused` for an address the
    provider refused for good; `deferred` for one it refused for now (tried again later, the others
    go on). `stop` is set when the person asked to stop: finish what is on the wire, start nothing new.
    """

    stop: threading.Event

    def starting(self, recipients: list[Recipient]) -> None: ...

    def accepted(self, pairs: Sequence[tuple[int, str | None]]) -> None: ...

    def transmitting(self, recipient: Recipient) -> None: ...

    def taken(self, recipient: Recipient) -> None: ...

    def refused(self, row_id: int, error: str, *, bounce: bool = True) -> None: ...

    def deferred(self, row_id: int, error: str) -> None: ...


class Backend(Protocol):
    """Sends one edition to a batch of readers, reporting on each reader as soon as it is known.

    A whole-batch problem raises TransientError (retry what was not yet accepted; `unanswered` when a
    request may have been accepted without the answer arriving) or PermanentError (stop).
    """

    name: str
    batch_size: int

    def expect(self, editions: Iterable[PreparedEdition]) -> None:
        """The editions a run may send, told before the first is sent: a backend that can find one of them
        unsendable as a whole (SMTP: larger than the server's SIZE) refuses before anything goes out."""

    def send(
        self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int, report: Report
    ) -> None: ...

    def close(self) -> None: ...
