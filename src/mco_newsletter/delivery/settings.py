"""Sending settings: [sending], [sendgrid] and [smtp] of newsletter.toml, plus the environment."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..schema import Finding, Table

BACKENDS = ("outbox", "sendgrid", "smtp")
SENDGRID_HOST = "https://api.sendgrid.com"
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SendGridSettings:
    """How to talk to SendGrid; the API key is never here (it comes from SENDGRID_API_KEY)."""

    api_host: str = SENDGRID_HOST
    sandbox_mode: bool = False
    send_at: int | None = None
    batch_id: str | None = None  # a scheduled send's batch (`send --at`), never from newsletter.toml
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
    ca_file: str | None = None  # trust only this authority's certificates (a private CA), not the system's


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
    "sending": Table(
        optional={
            "backend": str,
            "outbox": str,
            "max_retries": int,
            "retry_base_seconds": NUMBER,
            "retry_max_seconds": NUMBER,
            "rate_limit_max_wait_seconds": NUMBER,
        }
    ),
    "sendgrid": Table(
        optional={
            "api_host": str,
            "sandbox_mode": bool,
            "send_at": int,
            "click_tracking": bool,
            "open_tracking": bool,
            "subscription_tracking": bool,
            "timeout": NUMBER,
        }
    ),
    "webhook": Table(optional={"public_key": str, "max_age_seconds": NUMBER, "retention_days": int}),
    "smtp": Table(
        optional={
            "host": str,
            "port": int,
            "security": str,
            "messages_per_second": NUMBER,
            "connections": int,
            "timeout": NUMBER,
            "ca_file": str,
        }
    ),
}


def check_sending(data: dict) -> Iterator[Finding]:
    """Yield (key path, message, hint) for sending values that are well-typed but cannot work as used."""
    sending = data.get("sending", {})
    if sending.get("backend", "outbox") not in BACKENDS:
        yield ("sending", "backend"), f"unknown backend {sending['backend']!r}", f"use one of {', '.join(BACKENDS)}"
    if "outbox" in sending and not sending["outbox"].strip():
        yield ("sending", "outbox"), "sending.outbox is empty", 'e.g. outbox = "private/outbox"'
    if not 0 <= sending.get("max_retries", 0) <= 100:
        yield ("sending", "max_retries"), "sending.max_retries must be between 0 and 100", None
    for key in ("retry_base_seconds", "retry_max_seconds", "rate_limit_max_wait_seconds"):
        if key in sending:
            yield from _seconds(("sending", key), sending[key], allow_zero=True)
    if sending.get("retry_max_seconds", 30.0) < sending.get("retry_base_seconds", 0.5):
        yield ("sending", "retry_max_seconds"), "sending.retry_max_seconds is below retry_base_seconds", None
    grid = data.get("sendgrid", {})
    if "api_host" in grid and api_host_problem(grid["api_host"]):
        yield (
            ("sendgrid", "api_host"),
            f"sendgrid.api_host {grid['api_host']!r} {api_host_problem(grid['api_host'])}",
            "use https://api.sendgrid.com (or another https address that answers as SendGrid)",
        )
    if "timeout" in grid:
        yield from _seconds(("sendgrid", "timeout"), grid["timeout"])
    if grid.get("send_at", 0) < 0:
        yield ("sendgrid", "send_at"), "sendgrid.send_at must be a Unix time (seconds), not negative", None
    smtp = data.get("smtp", {})
    if smtp.get("security", "starttls") not in SMTP_SECURITY:
        yield (
            ("smtp", "security"),
            f"unknown smtp.security {smtp['security']!r}",
            f"use one of {', '.join(SMTP_SECURITY)}",
        )
    host = smtp.get("host", "localhost")
    if not host or any(ch.isspace() or ch in "/@" for ch in host) or not host.isascii():
        yield (
            ("smtp", "host"),
            f"smtp.host {host!r} is not a host name",
            "a name such as smtp.example.org or an address (non-ASCII names in their xn-- form)",
        )
    if not 1 <= smtp.get("connections", 1) <= 64:
        yield ("smtp", "connections"), "smtp.connections must be between 1 and 64", None
    if not 0 < smtp.get("port", 25) < 65536:
        yield ("smtp", "port"), "smtp.port must be a TCP port", None
    if "timeout" in smtp:
        yield from _seconds(("smtp", "timeout"), smtp["timeout"])
    if "messages_per_second" in smtp:
        yield from _seconds(
            ("smtp", "messages_per_second"), smtp["messages_per_second"], allow_zero=True, what="a rate (0: no limit)"
        )
    webhook = data.get("webhook", {})
    if "max_age_seconds" in webhook:
        yield from _seconds(("webhook", "max_age_seconds"), webhook["max_age_seconds"])
    days = webhook.get("retention_days", 30)
    if isinstance(days, int) and not 3 <= days <= 3650:
        yield (
            ("webhook", "retention_days"),
            f"webhook.retention_days must be 3 to 3650, not {days}",
            "SendGrid retries a batch for 72 hours: its event ids must be kept longer to be known as duplicates",
        )
    if "public_key" in webhook:
        from .webhook_signature import public_key_problem

        problem = public_key_problem(webhook["public_key"])
        if problem:
            yield (
                ("webhook", "public_key"),
                f"webhook.public_key cannot be loaded: {problem}",
                "paste the verification key from SendGrid's Mail Settings → Event Webhook (base64, one line)",
            )


def check_sending_files(data: dict, root: Path) -> Iterator[Finding]:
    """Yield (key path, message, hint) for files the sending settings name that cannot be used."""
    ca_file = data.get("smtp", {}).get("ca_file")
    if ca_file is None:
        return
    import ssl

    path = _in_workspace(root, ca_file)
    hint = "the PEM file of the authority that signed the relay's certificate (docs/sending.md)"
    if not path.is_file():
        yield ("smtp", "ca_file"), f"smtp.ca_file {ca_file!r} is not a file", hint
        return
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        yield (
            ("smtp", "ca_file"),
            f"smtp.ca_file {ca_file!r} holds no certificate that can be loaded "
            f"({getattr(exc, 'reason', None) or exc.__class__.__name__})",
            hint,
        )


def _in_workspace(root: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _seconds(path: tuple[str, str], value, *, allow_zero: bool = False, what: str = "a number of seconds"):
    limit = 86_400
    low_ok = value >= 0 if allow_zero else value > 0
    if isinstance(value, bool) or not math.isfinite(value) or not low_ok or value > limit:
        bound = "0" if allow_zero else "above 0"
        yield path, f"{'.'.join(path)} must be {what}: {bound} to {limit:,}, not {value!r}", None


def is_loopback(host: str) -> bool:
    """True for this machine's own addresses: nothing sent there crosses a network."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def api_host_problem(url: str) -> str | None:
    """Why an API host cannot be used (https only, or http to this machine for tests), or None."""
    from urllib.parse import urlsplit

    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "must be an ASCII address on one line"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 — raises on a port that is not a number
    except ValueError:
        return "is not an address"
    if not hostname or parts.query or parts.fragment or parts.username:
        return "is not a plain https address"
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(hostname)):
        return None
    return "must start with https://"


def sending_settings(root: Path, data: dict) -> SendingSettings:
    """The typed sending settings; SENDGRID_API_HOST overrides [sendgrid] api_host."""
    sending = dict(data.get("sending", {}))
    outbox = _in_workspace(root, sending.pop("outbox", "private/outbox"))
    grid = dict(data.get("sendgrid", {}))
    grid["api_host"] = (os.environ.get("SENDGRID_API_HOST") or grid.get("api_host") or SENDGRID_HOST).rstrip("/")
    smtp = dict(data.get("smtp", {}))
    if "ca_file" in smtp:
        smtp["ca_file"] = str(_in_workspace(root, smtp["ca_file"]))
    return SendingSettings(outbox=outbox, sendgrid=SendGridSettings(**grid), smtp=SmtpSettings(**smtp), **sending)
