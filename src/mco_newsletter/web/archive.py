"""The static web archive: a page per approved edition, an index and an Atom feed per language."""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..edition import load_edition, ready_languages
from ..issue import local_images
from ..render import archive_url, render
from ..render.locale import format_date
from ..files import write_atomically
from .pages import render_page

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Entry:
    """One edition as listed in an index and a feed."""

    issue_id: str
    language: str
    title: str
    date: str
    iso_date: dt.date
    preheader: str
    url: str


def build_archive(settings: Settings, issues, out: Path) -> list[Path]:
    """Write the archive for the given issues into `out`; return the files written."""
    written: list[Path] = []
    entries: dict[str, list[Entry]] = {language: [] for language in settings.languages}
    for issue in issues:
        languages = ready_languages(issue, settings.languages)
        switcher = [(code, _language_name(code), archive_url(settings, issue.id, code)) for code in languages]
        for language in languages:
            edition = load_edition(settings, issue, language)
            rendered = render(edition, settings, archive=True, alternates=switcher)
            path = out / issue.id / f"{language}.html"
            write_atomically(path, rendered.html.encode("utf-8"))
            written.append(path)
            entries[language].append(Entry(issue.id, language, edition.title, format_date(edition.date, language),
                                           edition.date, edition.preheader, archive_url(settings, issue.id, language)))
        for image in local_images(issue.intro, issue.sections):
            (out / issue.id).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(issue.folder / image, out / issue.id / image)
    indexes = [(code, _language_name(code), f"{settings.base_url}/{code}/") for code in settings.languages]
    for language, listed in entries.items():
        listed.sort(key=lambda entry: (entry.iso_date, entry.issue_id), reverse=True)
        feed = f"{settings.base_url}/{language}/feed.atom"
        html = render_page(settings, "archive_index.html.j2", language, entries=listed, languages=indexes,
                           feed_url=feed)
        for path, data in ((out / language / "index.html", html.encode("utf-8")),
                           (out / language / "feed.atom", atom_feed(settings, language, listed, feed))):
            write_atomically(path, data)
            written.append(path)
    return written


def atom_feed(settings: Settings, language: str, entries: list[Entry], self_url: str) -> bytes:
    """An Atom 1.0 feed of a language's editions, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": language})
    _text(feed, "title", settings.name_for(language))
    _text(feed, "id", self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{settings.base_url}/{language}/", type="text/html")
    newest = max((entry.iso_date for entry in entries), default=dt.date(2000, 1, 1))
    _text(feed, "updated", _stamp(newest))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", settings.name_for(language))
    for item in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", item.title)
        _text(entry, "id", item.url)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=item.url, type="text/html", hreflang=language)
        _text(entry, "updated", _stamp(item.iso_date))
        _text(entry, "published", _stamp(item.iso_date))
        _text(entry, "summary", item.preheader)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _language_name(code: str) -> str:
    from babel import Locale

    return Locale.parse(code).get_display_name(code).capitalize()
