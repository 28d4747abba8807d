"""Per-reader messages: an edition rendered once with a placeholder, and the reader's link put in its place."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ..config import Settings
from ..errors import NewsletterError
from ..render.edition_email import Rendered
from ..render.mime import MessageTemplate, check_header_value
from ..subscribers.tokens import TOKEN_LENGTH


class Signing(Protocol):
    """What signs each reader's copy (delivery.dkim.EditionSigner, for smtp and the outbox with [dkim])."""

    def signed(self, message: bytes, token: str) -> bytes: ...


@dataclass(frozen=True)
class PreparedEdition:
    """One edition, rendered once; `tag` stands where each reader's link token goes (their unsubscribe and
    preferences links share it). bulk=False: a message to one person that is not the newsletter (a sign-up's
    confirmation), without List-Unsubscribe and the list's headers."""

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
    template: MessageTemplate
    bulk: bool = True
    signer: Signing | None = None  # each copy DKIM-signed, when given
    bounce_address: str = ""  # [bounces] address: the envelope sender, and where mailto unsubscribe requests go
    bounce_delimiter: str = "+"

    @property
    def envelope_sender(self) -> str:
        """MAIL FROM for a message that names no delivery (a test send, a sign-up's email)."""
        return self.bounce_address or self.sender_address


def placeholder_tag() -> str:
    """A tag no issue text can contain by chance: random letters and digits (safe in URLs, HTML and
    quoted-printable), exactly as long as a token, so each reader's copy is a replacement, not a re-encoding."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "mcounsub" + "".join(secrets.choice(alphabet) for _ in range(TOKEN_LENGTH - 8))


def prepare(rendered: Rendered, settings: Settings, tag: str, *, subject_prefix: str = "") -> PreparedEdition:
    """Keep what every reader's copy shares, with its message encoded once."""
    subject = subject_prefix + rendered.subject
    list_id = urlsplit(settings.base_url).hostname or "newsletter"
    bounces = settings.bounces
    try:
        # The renderer's template: the sender in the reader's language, the pictures, the bulk headers.
        template = rendered.message_template(tag=tag, subject_prefix=subject_prefix)
    except (ValueError, UnicodeError) as exc:
        raise NewsletterError(
            f"issue {rendered.edition.issue_id} [{rendered.edition.language}]: the message cannot be built: {exc}",
            hint=f"run `mco-newsletter check {rendered.edition.issue_id}`; nothing was sent or recorded",
        ) from None
    return PreparedEdition(
        issue_id=rendered.edition.issue_id,
        language=rendered.edition.language,
        subject=subject,
        html=rendered.html,
        text=rendered.text,
        tag=tag,
        sender_name=rendered.envelope.sender_name,
        sender_address=settings.sender.address,
        reply_to=settings.sender.reply_to,
        list_id=list_id,
        base_url=settings.base_url,
        template=template,
        bounce_address=bounces.address if bounces else "",
        bounce_delimiter=bounces.delimiter if bounces else "+",
    )


def unsubscribe_url(base_url: str, token: str, issue: str | None = None) -> str:
    """The reader's one-click unsubscribe page (served by `mco-newsletter serve`); with the issue whose message
    carries the link, so that `report` can count the unsubscribe for that issue (a number, not who)."""
    return f"{base_url}/u/{token}{_from_issue(issue)}"


def preferences_url(base_url: str, token: str, issue: str | None = None) -> str:
    """The reader's preferences page: language, topics, what is held (the same token as unsubscribing)."""
    return f"{base_url}/p/{token}{_from_issue(issue)}"


def _from_issue(issue: str | None) -> str:
    # Issue ids are letters, digits, dots, dashes and underscores (issue.ISSUE_ID_RE): nothing to quote.
    return f"?issue={issue}" if issue else ""


def unsubscribe_mailto(edition: PreparedEdition, token: str) -> str:
    """The mailto alternative of List-Unsubscribe: with [bounces], the reader's own address at the bounce mailbox
    (`bounces` applies what arrives there); without, the reply-to address with the token in the subject (read by
    a person)."""
    # Tokens are lower-case letters and digits: nothing in them needs quoting.
    if edition.bounce_address:
        from .return_path import unsubscribe_address

        return (
            f"mailto:{unsubscribe_address(edition.bounce_address, edition.bounce_delimiter, token)}?subject=unsubscribe"
        )
    return f"mailto:{edition.reply_to}?subject=unsubscribe%20{token}"


def list_unsubscribe(edition: PreparedEdition, token: str) -> str:
    """The reader's List-Unsubscribe value, checked here as well as by `check`: SendGrid's request carries it
    as it is, without MessageTemplate.fill, and a line break in it would forge headers (a Bcc:)."""
    value = f"<{unsubscribe_url(edition.base_url, token, edition.issue_id)}>, <{unsubscribe_mailto(edition, token)}>"
    check_header_value("List-Unsubscribe", value)
    return value


def personal_message(edition: PreparedEdition, email: str, token: str, at: dt.datetime | None = None) -> bytes:
    """The complete message one reader gets: the edition with their own links and unsubscribe headers."""
    message = edition.template.fill(
        to=email, token=token, now=at, list_unsubscribe=list_unsubscribe(edition, token) if edition.bulk else None
    )
    return message if edition.signer is None else edition.signer.signed(message, token)
