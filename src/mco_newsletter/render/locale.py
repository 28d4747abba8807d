"""What changes with the reader's language: the template's words (gettext catalogs), dates, bank numbers."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from .theme import catalog_path, words_version

if TYPE_CHECKING:
    from babel.support import NullTranslations


@lru_cache(maxsize=16)
def _translations(version: tuple):
    """The words of the catalogs in `version` ((path, file time), the package's first), each later catalog's
    messages over the earlier's."""
    from babel.support import Translations

    words = None
    for path, _ in version:
        found = Translations(_compiled(path), domain="messages")
        words = found if words is None else words.merge(found)
    return words


def _compiled(path: Path):
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    try:
        with path.open("rb") as handle:
            catalog = read_po(handle)
    except ValueError as exc:  # not UTF-8, or not PO at all
        raise WorkspaceError(
            f"{path}: not a catalog of template words that can be read ({exc})",
            hint="`mco-newsletter check` names the line to fix",
        ) from None
    # Fuzzy and empty entries are not trusted: the message falls back to the package's words, or to English.
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return buffer


def translations(locales_dir: Path, language: str) -> NullTranslations:
    """gettext translations of the template's words for a language: the package's catalog, overridden message by
    message by the workspace's (render/theme.py), compiled in memory from the .po files."""
    from babel.support import NullTranslations

    version = words_version(locales_dir, language)
    if not version:
        if language == "en":
            return NullTranslations()
        raise WorkspaceError(
            f"{catalog_path(locales_dir, language)}: no catalog of template words for {language!r}",
            hint="the tool has none for this language: add it with pybabel init, see docs/translating-templates.md",
        )
    return _translations(version)


def format_date(value: dt.date, language: str) -> str:
    """A date as readers of the language write it (babel's long format), never broken across lines."""
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format="long", locale=language).replace(" ", "\xa0")


def stored_day(stored: str, language: str) -> str:
    """A time as the store keeps it (UTC, ISO 8601) as the day readers of the language write it: 5. März 2024."""
    try:
        day = dt.datetime.fromisoformat(stored).date()
    except (TypeError, ValueError):  # not a time the store wrote: shown as it is
        return str(stored or "")
    return format_date(day, language)


@lru_cache(maxsize=32)
def text_direction(language: str) -> str:
    """ "rtl" for languages written right to left (Arabic, Hebrew, Persian …), else "ltr" (babel's character order)."""
    from babel import Locale, UnknownLocaleError

    try:
        order = Locale.parse(language).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def group_iban(iban: str) -> str:
    """An IBAN in groups of four, as printed on bank statements."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
