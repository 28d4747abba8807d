"""The Atom feed of a language's editions, each entry carrying the whole edition as HTML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from ..config import Settings
from ..edition import Edition

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TEMPLATE = "pages/edition_content.html.j2"


def edition_content(settings: Settings, edition: Edition) -> str:
    """The edition's text as an HTML fragment for feed readers: headings, paragraphs, lists, quotes, pictures."""
    from urllib.parse import quote

    from ..pictures import is_local
    from ..render.templates import environment_for

    def picture_src(src: str) -> str:
        return f"{settings.base_url}/{quote(edition.issue_id)}/{src}" if is_local(src) else src

    env = environment_for(settings.templates_dir, settings.locales_dir, edition.language)
    return env.get_template(CONTENT_TEMPLATE).render(edition=edition, picture_src=picture_src)


def atom_feed(settings: Settings, language: str, entries: list, self_url: str) -> bytes:
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
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = item.content
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
