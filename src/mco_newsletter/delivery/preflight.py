"""What mail providers hold against a send, found before anything goes: found without the network, by `check`
and by `send` (its plan and its test sends).

- base_url must be https: it is where every List-Unsubscribe link points, and one-click unsubscribe (RFC 8058,
  which Gmail and Yahoo require of bulk senders) is defined for https only. A base_url on this machine
  (127.0.0.1, localhost) is let through for tests.
- A From address at a mailbox provider (gmail.com, mail.ru, …) cannot pass DMARC when the mail comes through
  another service: those domains publish p=reject or p=quarantine, and nobody but the provider can sign for them.
- An edition whose HTML part passes Gmail's clipping size is cut off behind "[Message clipped]": the donation
  box and the unsubscribe link, at the end, are the first to go.
- [dkim] signs what the tool sends itself (smtp, outbox); SendGrid signs with the keys of its own domain
  authentication instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from email import message_from_bytes
from email.policy import compat32
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import NewsletterError
from ..issue import Issue
from ..render.edition_email import Rendered
from .settings import is_loopback

# Gmail publishes no figure. 102 KB is what the email community measured (github.com/hteumeuleu/email-bugs issue
# 41, "Gmail clips emails at 102 KB"), and the size that counts is the HTML as it travels, after its transfer
# encoding: Spam Resource's tests ("What is Gmail clipping and what to do about it", 2022) found the limit moves
# with quoted-printable and base64. So the encoded bytes of the text/html part are measured, against 102,000
# bytes (the lower reading of "102 KB": a warning a little early rather than a clipped edition).
GMAIL_CLIP_BYTES = 102_000
# Mailbox providers whose own DMARC policy refuses (or junks) their domain's mail sent from anywhere else.
MAILBOX_PROVIDERS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.de",
        "yahoo.co.uk",
        "ymail.com",
        "rocketmail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.de",
        "live.com",
        "msn.com",
        "aol.com",
        "mail.ru",
        "bk.ru",
        "inbox.ru",
        "list.ru",
        "internet.ru",
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "rambler.ru",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "mail.com",
        "zoho.com",
        "fastmail.com",
        "tutanota.com",
        "tuta.io",
        "posteo.de",
    }
)


def base_url_problem(base_url: str) -> str | None:
    """Why base_url cannot be the address of one-click unsubscribe links, or None."""
    parts = urlsplit(base_url)
    if parts.scheme == "https" or is_loopback(parts.hostname or ""):
        return None
    return (
        f"base_url {base_url!r} is not https: every message's one-click unsubscribe link starts with it, and "
        "RFC 8058 (which Gmail and Yahoo require of bulk senders) allows https only"
    )


def require_https(settings: Settings) -> None:
    """Refuse to send with a base_url that is not https (this machine's own addresses excepted, for tests)."""
    problem = base_url_problem(settings.base_url)
    if problem:
        raise NewsletterError(
            problem,
            hint="serve the web archive and `mco-newsletter serve` over https and write "
            'base_url = "https://…" in newsletter.toml; nothing was sent',
        )


def mailbox_provider_warning(address: str) -> str | None:
    """A warning when the From address belongs to a mailbox provider, or None."""
    domain = address.rpartition("@")[2].lower()
    if domain not in MAILBOX_PROVIDERS:
        return None
    return (
        f"sender.address {address!r} is at {domain}, a mailbox provider: its DMARC policy tells receivers to "
        f"refuse or junk mail from {domain} that it did not send itself, so the digest sent through SendGrid or "
        "your own server fails DMARC"
    )


MAILBOX_HINT = (
    "send from an address at the organisation's own domain (e.g. digest@your-organisation.org); "
    "reply_to may stay at the mailbox provider"
)


def html_part_size(eml: bytes) -> int:
    """The bytes of the message's text/html part as they travel (transfer-encoded), or 0 without one."""
    for part in message_from_bytes(eml, policy=compat32).walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload()
            return len(payload.encode("ascii", "replace")) if isinstance(payload, str) else 0
    return 0


def clipping_warning(rendered: Rendered) -> str | None:
    """A warning when the edition's HTML part passes Gmail's clipping size, or None."""
    size = html_part_size(rendered.eml)
    if size <= GMAIL_CLIP_BYTES:
        return None
    edition = rendered.edition
    return (
        f"issue {edition.issue_id} [{edition.language}]: the HTML part is {size / 1000:,.0f} KB as sent, past "
        f"Gmail's clipping size ({GMAIL_CLIP_BYTES / 1000:,.0f} KB): Gmail shows readers the start and "
        "'[Message clipped]', hiding the rest (the donation box and the unsubscribe link with it)"
    )


CLIPPING_HINT = "shorten the issue, or split it in two; pictures travel beside the HTML and do not count"


def edition_warnings(settings: Settings, issue: Issue, languages: Sequence[str]) -> list[str]:
    """Clipping warnings for the issue's editions in `languages` (each rendered once)."""
    from ..edition import load_edition
    from ..render.edition_email import render

    warnings = []
    for language in languages:
        try:
            rendered = render(load_edition(settings, issue, language), settings)
        except (NewsletterError, ValueError):
            continue  # not ready, or not renderable: check and send say so in their own words
        warning = clipping_warning(rendered)
        if warning:
            warnings.append(warning)
    return warnings


def send_warnings(*, settings: Settings, issue: Issue, languages: Sequence[str], backend_name: str) -> list[str]:
    """What the plan of a send warns about: clipped editions, a From that cannot align, [dkim] with SendGrid."""
    warnings = edition_warnings(settings, issue, languages)
    provider = mailbox_provider_warning(settings.sender.address)
    if provider:
        warnings.append(provider)
    if backend_name == "sendgrid" and "dkim" in settings.raw:
        warnings.append(
            "[dkim] signs only what this tool sends itself (smtp, outbox): SendGrid signs with its own "
            "keys; set up SendGrid's domain authentication (Settings → Sender Authentication) for "
            "your From domain (docs/deliverability.md)"
        )
    return warnings
