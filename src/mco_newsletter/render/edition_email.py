"""Edition → email: Jinja2 renders MJML and text, mjml-python compiles HTML, mime.py builds the MIME message."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from markupsafe import Markup

from ..config import Settings
from ..edition import Edition
from ..errors import NewsletterError
from .locale import format_date, group_iban, text_direction
from .mime import MessageTemplate, build_message, check_header_value, message_template
from .templates import templates_for

# Placeholder until sending exists: a per-reader link replaces it at send time.
PREVIEW_TOKEN = "preview"
# After the preheader, inbox previews would run on into the body's first words: a run of invisible
# characters fills the preview line instead, as mail senders do.
PREHEADER_PADDING = Markup("&zwnj;&nbsp;" * 90)
FONT_STACK = (
    "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', "
    "'Noto Sans', 'Liberation Sans', Arial, sans-serif"
)


@dataclass(frozen=True)
class Envelope:
    """Who an edition comes from, in its reader's language, and the headers every copy shares."""

    sender_name: str
    sender_address: str
    reply_to: str
    list_id: str
    feedback_id: str


@dataclass(frozen=True)
class Rendered:
    """One edition as email: subject, HTML, plain text, the complete message and the pictures inside it."""

    edition: Edition
    subject: str
    html: str
    text: str
    eml: bytes
    envelope: Envelope
    # Embedded pictures (ShownPicture): the HTML refers to each as cid:…; the message carries them.
    pictures: tuple = ()
    # The issue's own pictures as files beside a rendered HTML file: (what the HTML says, file name, bytes).
    local_pictures: tuple = ()

    def message_template(self, *, tag: str, subject_prefix: str = "") -> MessageTemplate:
        """The edition's message with `tag` where each reader's token goes (see delivery.message)."""
        envelope = self.envelope
        return message_template(
            subject=subject_prefix + self.subject,
            text=self.text,
            html=self.html,
            language=self.edition.language,
            sender_name=envelope.sender_name,
            sender_address=envelope.sender_address,
            reply_to=envelope.reply_to,
            list_id=envelope.list_id,
            tag=tag,
            pictures=self.pictures,
            feedback_id=envelope.feedback_id,
        )

    def browsable_html(self) -> str:
        """The HTML with every picture of the issue pointing at its file beside it (for render and preview)."""
        html = self.html
        for reference, name, _ in self.local_pictures:
            html = html.replace(f'src="{reference}"', f'src="{quote(name)}"')
        return html


def archive_url(settings: Settings, issue_id: str, language: str) -> str:
    """The edition's page in the web archive (the view-in-browser link)."""
    return f"{settings.base_url}/{quote(issue_id)}/{language}.html"


def image_url(settings: Settings, issue_id: str, src: str) -> str:
    """Images of the issue's folder are served beside its archive pages."""
    if urlsplit(src).scheme:
        return src
    return f"{settings.base_url}/{quote(issue_id)}/{quote(src)}"


def envelope(settings: Settings, edition: Edition) -> Envelope:
    """The sender in the edition's language, and the list's identifiers."""
    list_id = urlsplit(settings.base_url).hostname or "newsletter"
    # Campaign:language:kind:sender, as Gmail's feedback loop reads it; nothing about any reader.
    feedback_id = ":".join(
        re.sub(r"[^A-Za-z0-9._-]", "-", part) for part in (edition.issue_id, edition.language, "digest", list_id)
    )
    return Envelope(
        settings.sender.name.of(edition.language),
        settings.sender.address,
        settings.sender.reply_to,
        list_id,
        feedback_id,
    )


def render(
    edition: Edition,
    settings: Settings,
    *,
    unsubscribe_url: str | None = None,
    preferences_url: str | None = None,
    to: str | None = None,
    now: dt.datetime | None = None,
    archive: bool = False,
    alternates: tuple | list = (),
    links: dict | None = None,
) -> Rendered:
    """Render an edition to HTML, text and a MIME message.

    archive=True renders the web archive's page: no unsubscribe or view-in-browser link, pictures
    linked, a switcher to the `alternates` ((code, label, url), …) editions of the same issue and the
    `links` back to the archive ({"index": url, "feed": url}); its pictures are linked from base_url.
    """
    from mjml import mjml2html

    from .pictures import edition_pictures

    unsubscribe_url = unsubscribe_url or f"{settings.base_url}/u/{PREVIEW_TOKEN}"
    preferences_url = preferences_url or f"{settings.base_url}/p/{PREVIEW_TOKEN}"
    subject = ("[DRAFT] " if edition.draft else "") + edition.title
    sent_by = envelope(settings, edition)
    # Header values first: a control character stops here with its name, before anything is built from it.
    check_header_value("Subject", subject)
    check_header_value("From", sent_by.sender_name)
    mode = "linked" if archive else settings.privacy.images
    pictures = edition_pictures(settings, edition, mode)
    context = _context(edition, settings, unsubscribe_url)
    context["preferences_url"] = preferences_url
    context.update(archive=archive, alternates=alternates, links=links or {}, picture_src=pictures.src)
    html_template, text_template = templates_for(settings.templates_dir, settings.locales_dir, edition.language)
    try:
        # fonts={}: no web fonts, so the email loads nothing from font CDNs.
        html = mjml2html(html_template.render(context), fonts={})
    except ValueError as exc:  # mrml's parse errors: a template edited into invalid MJML
        where = Path(html_template.filename or "")  # the workspace's override, or the package's own
        where = where.relative_to(settings.root) if where.is_relative_to(settings.root) else where
        raise NewsletterError(
            f"{where}: not valid MJML ({exc})", hint="fix the template; `mco-newsletter render` shows the first error"
        ) from None
    # Template blocks leave runs of blank lines; one blank line between paragraphs is the convention.
    text = re.sub(r"\n{3,}", "\n\n", text_template.render(context))
    eml = build_message(
        subject=subject,
        text=text,
        html=html,
        language=edition.language,
        sender_name=sent_by.sender_name,
        sender_address=sent_by.sender_address,
        reply_to=sent_by.reply_to,
        to=to or sent_by.reply_to,
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=f"mailto:{sent_by.reply_to}?subject=unsubscribe",
        list_id=sent_by.list_id,
        now=now,
        pictures=pictures.embedded,
        feedback_id=sent_by.feedback_id,
    )
    return Rendered(edition, subject, html, text, eml, sent_by, pictures.embedded, pictures.local)


def _context(edition: Edition, settings: Settings, unsubscribe_url: str) -> dict:
    donation = settings.donation
    language = edition.language
    return {
        "edition": edition,
        "lang": language,
        "dir": text_direction(language),
        "name": settings.name_for(language),
        "identity": settings.identity.of(language),
        "postal_address": settings.postal_address.of(language) if settings.postal_address else "",
        "date": format_date(edition.date, language),
        "preheader_padding": PREHEADER_PADDING,
        "fonts": FONT_STACK,
        "donation": {
            "iban": group_iban(donation.iban),
            "bic": donation.bic,
            "holder": donation.holder,
            "bank": donation.bank,
            "purpose": donation.purpose,
            "currency": donation.currency,
            "note": donation.note.of(language) if donation.note else "",
        },
        "archive_url": archive_url(settings, edition.issue_id, language),
        "unsubscribe_url": unsubscribe_url,
    }
