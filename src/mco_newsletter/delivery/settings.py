"""Sending settings: [sending], [sendgrid] and [smtp] of newsletter.toml, plus the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..schema import Table

BACKENDS = ("outbox", "sendgrid", "smtp")
SENDGRID_HOST = "https://api.sendgrid.com"
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SendGridSettings:
    """How to talk to SendGrid; the API key is never here (it comes from SENDGRID_API_KEY)."""

    api_host: str = SENDGRID_HOST
    sandbox_mode: bool = False
    send_at: int | None = None
    click_tracking: bool = False
    open_tracking: bool = False
    subscription_tracking: bool = False
    timeout: float = 30.0


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP relay; user and password come from the environment."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    messages_per_second: float = 0.0
    connections: int = 4
    timeout: float = 30.0


@dataclass(frozen=True)
class SendingSettings:
    """Backend choice, retry policy and the outbox folder."""

    backend: str = "outbox"
    outbox: Path = Path("private/outbox")
    max_retries: int = 6
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    rate_limit_max_wait_seconds: float = 300.0
    sendgrid: SendGridSettings = SendGridSettings()
    smtp: SmtpSettings = SmtpSettings()


NUMBER = (int, float)
SENDING_SCHEMA = {
    "sending": Table(optional={
        "backend": str, "outbox": str, "max_retries": int, "retry_base_seconds": NUMBER,
        "retry_max_seconds": NUMBER, "rate_limit_max_wait_seconds": NUMBER,
    }),
    "sendgrid": Table(optional={
        "api_host": str, "sandbox_mode": bool, "send_at": int, "click_tracking": bool, "open_tracking": bool,
        "subscription_tracking": bool, "timeout": NUMBER,
    }),
    "webhook": Table(optional={"public_key": str, "max_age_seconds": NUMBER}),
    "smtp": Table(optional={
        "host": str, "port": int, "security": str, "messages_per_second": NUMBER, "connections": int,
        "timeout": NUMBER,
    }),
}


def check_sending(data: dict):
    """Yield (key path, message, hint) for sending values that are well-typed but wrong."""
    sending = data.get("sending", {})
    if sending.get("backend", "outbox") not in BACKENDS:
        yield ("sending", "backend"), f"unknown backend {sending['backend']!r}", f"use one of {', '.join(BACKENDS)}"
    for key in ("max_retries", "retry_base_seconds", "retry_max_seconds", "rate_limit_max_wait_seconds"):
        if key in sending and sending[key] < 0:
            yield ("sending", key), f"sending.{key} must not be negative", None
    smtp = data.get("smtp", {})
    if smtp.get("security", "starttls") not in SMTP_SECURITY:
        yield ("smtp", "security"), f"unknown smtp.security {smtp['security']!r}", f"use one of {', '.join(SMTP_SECURITY)}"
    if not 1 <= smtp.get("connections", 1) <= 64:
        yield ("smtp", "connections"), "smtp.connections must be between 1 and 64", None
    if not 0 < smtp.get("port", 25) < 65536:
        yield ("smtp", "port"), "smtp.port must be a TCP port", None


def sending_settings(root: Path, data: dict) -> SendingSettings:
    """The typed sending settings; SENDGRID_API_HOST overrides [sendgrid] api_host."""
    sending = dict(data.get("sending", {}))
    outbox = Path(sending.pop("outbox", "private/outbox")).expanduser()
    grid = dict(data.get("sendgrid", {}))
    grid["api_host"] = (os.environ.get("SENDGRID_API_HOST") or grid.get("api_host") or SENDGRID_HOST).rstrip("/")
    return SendingSettings(
        outbox=outbox if outbox.is_absolute() else root / outbox,
        sendgrid=SendGridSettings(**grid),
        smtp=SmtpSettings(**data.get("smtp", {})),
        **sending,
    )
