"""What changes with the reader's language: the template's words (gettext catalogs), dates, bank numbers."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from ..errors import WorkspaceError

DOMAIN = "messages"


def catalog_path(locales_dir: Path, language: str) -> Path:
    """Where the template strings of a language are kept."""
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=16)
def _translations(path: Path, mtime_ns: int):
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with path.open("rb") as handle:
        catalog = read_po(handle)
    # Fuzzy entries are not trusted: they fall back to the English source text.
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translations(locales_dir: Path, language: str):
    """gettext translations of the template's words for a language (compiled in memory from the .po)."""
    from babel.support import NullTranslations

    path = catalog_path(locales_dir, language)
    if not path.is_file():
        if language == "en":
            return NullTranslations()
        raise WorkspaceError(f"{path}: no catalog of template strings for {language!r}",
                             hint="add it with pybabel init, see docs/translating-templates.md")
    return _translations(path, path.stat().st_mtime_ns)


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
    """"rtl" for languages written right to left (Arabic, Hebrew, Persian …), else "ltr" (babel's character order)."""
    from babel import Locale, UnknownLocaleError

    try:
        order = Locale.parse(language).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def group_iban(iban: str) -> str:
    """An IBAN in groups of four, as printed on bank statements."""
    compact = "".join(iban.split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
