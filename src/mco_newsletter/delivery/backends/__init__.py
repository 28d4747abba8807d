"""Delivery backends: one Protocol, a registry, and outbox (Maildir), smtp and sendgrid behind it."""

from __future__ import annotations

from typing import Callable, NamedTuple, Protocol

from ...errors import NewsletterError
from ..message import PreparedEdition


class Recipient(NamedTuple):
    """One reader of a batch: the ledger row, the address, and the token of their unsubscribe link."""

    row_id: int
    email: str
    token: str


Accepted = Callable[[list[tuple[int, "str | None"]]], None]
Failed = Callable[[int, str], None]


class Backend(Protocol):
    """Sends one edition to a batch of readers, reporting each acceptance as soon as it is known.

    `accepted` is called with (row id, provider message id) pairs the moment the provider took them;
    `failed` for a reader the provider refused for good. A whole-batch problem raises TransientError
    (retry what was not yet accepted) or PermanentError (stop).
    """

    name: str
    batch_size: int

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int,
             accepted: Accepted, failed: Failed) -> None: ...

    def close(self) -> None: ...


def make_backend(name: str, settings) -> Backend:
    """The backend called `name`, configured from settings."""
    if name == "outbox":
        from .outbox import OutboxBackend

        return OutboxBackend(settings.sending.outbox)
    if name == "smtp":
        from .smtp import SmtpBackend

        return SmtpBackend(settings.sending.smtp)
    if name == "sendgrid":
        from .sendgrid import SendGridBackend

        return SendGridBackend(settings.sending.sendgrid)
    raise NewsletterError(f"unknown backend {name!r}", hint="use outbox, smtp or sendgrid")
