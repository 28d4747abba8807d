"""Per-reader messages: an edition rendered once with a placeholder, and the reader's link put in its place."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Settings
from ..render import Rendered
from ..render.mime import build_message


@dataclass(frozen=True)
class PreparedEdition:
    """One edition, rendered once; `tag` stands where each reader's unsubscribe token goes."""

    issue_id: str
    language: str
    subject: str
    html: str
    text: str
    tag: str
    sender_name: str
    sender_address: str
    reply_to: str
    list_id: str
    base_url: str


def placeholder_tag() -> str:
    """A tag no issue text can contain by chance: random, letters and digits only (safe in URLs and HTML)."""
    return "mcounsub" + secrets.token_hex(12)


def prepare(rendered: Rendered, settings: Settings, tag: str, *, subject_prefix: str = "") -> PreparedEdition:
    """Keep what every reader's copy shares."""
    return PreparedEdition(
        issue_id=rendered.edition.issue_id, language=rendered.edition.language,
        subject=subject_prefix + rendered.subject, html=rendered.html, text=rendered.text, tag=tag,
        sender_name=settings.sender.name, sender_address=settings.sender.address,
        reply_to=settings.sender.reply_to, list_id=urlsplit(settings.base_url).hostname or "newsletter",
        base_url=settings.base_url,
    )


def unsubscribe_url(base_url: str, token: str) -> str:
    """The reader's one-click unsubscribe page (served by `mco-newsletter serve`)."""
    return f"{base_url}/u/{token}"


def unsubscribe_mailto(edition: PreparedEdition, token: str) -> str:
    """The mailto alternative of List-Unsubscribe: the token in the subject says who wants to leave."""
    # Tokens are URL-safe base64 (letters, digits, - and _): nothing in them needs quoting.
    return f"mailto:{edition.reply_to}?subject=unsubscribe%20{token}"


def list_unsubscribe(edition: PreparedEdition, token: str) -> str:
    return f"<{unsubscribe_url(edition.base_url, token)}>, <{unsubscribe_mailto(edition, token)}>"


def personal_message(edition: PreparedEdition, email: str, token: str, at: dt.datetime | None = None) -> bytes:
    """The complete message one reader gets: the edition with their own unsubscribe link and headers."""
    return build_message(
        subject=edition.subject, text=edition.text.replace(edition.tag, token),
        html=edition.html.replace(edition.tag, token), language=edition.language,
        sender_name=edition.sender_name, sender_address=edition.sender_address, reply_to=edition.reply_to,
        to=email, unsubscribe_url=unsubscribe_url(edition.base_url, token),
        unsubscribe_mailto=unsubscribe_mailto(edition, token), list_id=edition.list_id, now=at,
    )
