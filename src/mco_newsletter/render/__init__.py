"""Edition → email: Jinja2 renders MJML and text, mjml-python compiles HTML, email builds the MIME message."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from ..config import Settings
from ..edition import Edition
from .locale import format_date, group_iban
from .mime import build_message
from .templates import templates_for

# Placeholder until sending exists: a per-reader link replaces it at send time.
PREVIEW_TOKEN = "preview"
FONT_STACK = ("-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', "
              "'Noto Sans', 'Liberation Sans', Arial, sans-serif")


@dataclass(frozen=True)
class Rendered:
    """One edition as email: subject, HTML, plain text and the complete message."""

    edition: Edition
    subject: str
    html: str
    text: str
    eml: bytes


def archive_url(settings: Settings, issue_id: str, language: str) -> str:
    """The edition's page in the web archive (the view-in-browser link)."""
    return f"{settings.base_url}/{quote(issue_id)}/{language}.html"


def image_url(settings: Settings, issue_id: str, src: str) -> str:
    """Images of the issue's folder are served beside its archive pages."""
    if urlsplit(src).scheme:
        return src
    return f"{settings.base_url}/{quote(issue_id)}/{quote(src)}"


def render(edition: Edition, settings: Settings, *, unsubscribe_url: str | None = None,
           to: str | None = None, now: dt.datetime | None = None, archive: bool = False,
           alternates: tuple | list = ()) -> Rendered:
    """Render an edition to HTML, text and a MIME message.

    archive=True renders the web archive's page: no unsubscribe or view-in-browser link, and a
    switcher to the `alternates` ((code, label, url), …) editions of the same issue.
    """
    from mjml import mjml2html

    unsubscribe_url = unsubscribe_url or f"{settings.base_url}/u/{PREVIEW_TOKEN}"
    context = _context(edition, settings, unsubscribe_url)
    context.update(archive=archive, alternates=alternates)
    html_template, text_template = templates_for(settings.templates_dir, settings.locales_dir, edition.language)
    # fonts={}: no web fonts, so the email loads nothing from font CDNs.
    html = mjml2html(html_template.render(context), fonts={})
    # Template blocks leave runs of blank lines; one blank line between paragraphs is the convention.
    text = re.sub(r"\n{3,}", "\n\n", text_template.render(context))
    subject = ("[DRAFT] " if edition.draft else "") + edition.title
    eml = build_message(
        subject=subject, text=text, html=html, language=edition.language,
        sender_name=settings.sender.name, sender_address=settings.sender.address,
        reply_to=settings.sender.reply_to, to=to or settings.sender.reply_to,
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=f"mailto:{settings.sender.reply_to}?subject=unsubscribe",
        list_id=urlsplit(settings.base_url).hostname or "newsletter", now=now,
    )
    return Rendered(edition, subject, html, text, eml)


def _context(edition: Edition, settings: Settings, unsubscribe_url: str) -> dict:
    donation = settings.donation
    return {
        "edition": edition,
        "lang": edition.language,
        "name": settings.name_for(edition.language),
        "identity": settings.identity,
        "date": format_date(edition.date, edition.language),
        "fonts": FONT_STACK,
        "donation": {
            "iban": group_iban(donation.iban), "bic": donation.bic, "holder": donation.holder,
            "bank": donation.bank, "purpose": donation.purpose, "currency": donation.currency,
        },
        "archive_url": archive_url(settings, edition.issue_id, edition.language),
        "unsubscribe_url": unsubscribe_url,
        "image_url": lambda src: image_url(settings, edition.issue_id, src),
    }
