"""Delivery backends: one Protocol (protocol.py), this registry, and outbox (Maildir), smtp and sendgrid behind it."""

from __future__ import annotations

from ...config import Settings
from ...errors import NewsletterError
from .protocol import Backend, Recipient, Report

__all__ = ["Backend", "Recipient", "Report", "make_backend"]


def make_backend(name: str, settings: Settings) -> Backend:
    """The backend called `name`, configured from settings; its settings and secrets are checked here,
    before anything is recorded."""
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
