"""What the reader pages and the reader's emails show besides their own values: the topics, the languages by
their own names, the version of the consent text, and the record of everything held about a reader (the
subject-access email), masked where whoever holds a link may see it."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from ..config import Settings
from ..subscribers.preferences import HeldRecord
from ..subscribers.segments import public_topics
from ..subscribers.store import Store

CONSENT_TEMPLATE = "pages/consent.html.j2"


@lru_cache(maxsize=16)
def native_name(code: str) -> str:
    """A language's name in itself (Deutsch, русский → Русский), or its code when babel does not know it."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:]


def consent_version(settings: Settings) -> str:
    """The version of the consent text: the first 8 hex digits of SHA-256 over its source words (the msgid in
    templates/pages/consent.html.j2, the workspace's or the package's). Changing the words makes a new version;
    translations follow them."""
    from ..render.theme import template_file

    path = template_file(settings.templates_dir, CONSENT_TEMPLATE)
    return _consent_version(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _consent_version(path: Path, mtime_ns: int) -> str:
    from jinja2.ext import babel_extract

    with path.open("rb") as handle:
        found = babel_extract(handle, ("_", "gettext"), [], {"trim_blocks": "true", "lstrip_blocks": "true"})
        words = [
            part
            for _, _, message, _ in found
            for part in ((message,) if isinstance(message, str) else message or ())
            if isinstance(part, str)
        ]
    return hashlib.sha256("\x00".join(words).encode("utf-8")).hexdigest()[:8]


def reader_context(settings: Settings) -> dict:
    """What every reader page may show besides its own values: the topics, the languages, the consent version."""
    return {
        "topics": public_topics(settings.segments),
        "native_name": native_name,
        "languages": settings.languages,
        "consent_version": consent_version(settings),
    }


def mask_name(name: str | None) -> str | None:
    """A name as the page may show it to whoever holds the link: its first letter."""
    return f"{name.strip()[:1]}\u2022\u2022\u2022" if name and name.strip() else None


def held_record(store: Store, subscriber_id: int) -> HeldRecord | None:
    """The subject-access record of one reader (None when there is no such reader): the list's record and the
    ledger's, side by side."""
    from ..delivery.ledger import Ledger
    from ..subscribers.preferences import list_record

    return list_record(store, subscriber_id, deliveries=Ledger(store).history)


def record_context(settings: Settings, record: HeldRecord, language: str) -> dict:
    """What the subject-access email shows (templates/mail/subject-access.txt.j2): everything held."""
    subscriber = record.subscriber
    topics = public_topics(settings.segments)
    return {
        "record": subscriber,
        "language_name": native_name(subscriber.language),
        "topic_labels": [topic.label_in(language) for topic in topics if topic.chosen_by(subscriber.tags)],
        "request": record.request,
        "request_language": native_name(record.request.language) if record.request else "",
        "deliveries": record.deliveries,
    }
