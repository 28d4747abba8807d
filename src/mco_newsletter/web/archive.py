"""The static web archive of what was published: a page per approved edition, an index and an Atom feed per language.

Pelican's conventions: an issue whose front matter says `status: draft` is left out; a broken issue
is skipped with its reason and the rest is built; `relative_urls` makes a copy browsable from disk.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..config import Settings
from ..errors import NewsletterError, ProblemsError
from ..files import write_atomically
from .pages import render_page


@dataclass(frozen=True)
class Entry:
    """One edition as listed in an index and a feed."""

    issue_id: str
    language: str
    title: str
    date: str
    iso_date: dt.date
    preheader: str
    url: str  # absolute, for the feed
    content: str  # the edition as an HTML fragment, for the feed


@dataclass
class ArchiveReport:
    """What `archive` did: the files written, the issues published, left out as drafts, or broken."""

    written: list[Path] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    broken: list[tuple[str, list[str]]] = field(default_factory=list)  # (issue id, the reasons)
    languages: list[str] = field(default_factory=list)  # those with an index and a feed


@dataclass(frozen=True)
class Site:
    """Addresses on the published site: absolute under base_url, or relative to the page that links."""

    base_url: str
    relative: bool

    def url(self, target: str, page: str, *, folder: bool = False) -> str:
        """The address of `target` (a path in the archive) as written on `page`; `folder` drops index.html."""
        if self.relative:
            return posixpath.relpath(target, posixpath.dirname(page) or ".")
        if folder and target.endswith("/index.html"):
            target = target[: -len("index.html")]
        return f"{self.base_url}/{quote(target)}"


def build_archive(settings: Settings, out: Path, *, relative_urls: bool = False) -> ArchiveReport:
    """Write the archive of every published issue into `out`; skip drafts and broken issues, saying why."""
    from ..workspace import issue_ids, load_issue

    report = ArchiveReport()
    site = Site(settings.base_url, relative_urls)
    absolute = Site(settings.base_url, False)
    entries: dict[str, list[Entry]] = {language: [] for language in settings.languages}
    for issue_id in issue_ids(settings):
        try:
            issue = load_issue(settings, issue_id)
            if not issue.published:
                report.drafts.append(issue_id)
                continue
            pages = _issue_pages(settings, issue, site, absolute)
        except ProblemsError as exc:
            report.broken.append((issue_id, [problem.format(settings.root) for problem in exc.problems]))
            continue
        except NewsletterError as exc:
            report.broken.append((issue_id, [exc.message]))
            continue
        for path, data in pages.files:
            write_atomically(out / path, data)
            report.written.append(out / path)
        for entry in pages.entries:
            entries[entry.language].append(entry)
        report.published.append(issue_id)
    listed = [language for language in settings.languages if entries[language]]
    for language in listed:
        report.written += _index_and_feed(settings, site, language, listed, entries[language], out)
    report.languages = listed
    return report


@dataclass(frozen=True)
class _IssuePages:
    files: list  # (path inside the archive, bytes)
    entries: list


def _issue_pages(settings: Settings, issue, site: Site, absolute: Site) -> _IssuePages:
    """Render every approved edition of an issue (nothing is written until all of them rendered)."""
    from ..edition import load_edition, ready_languages
    from ..render.edition_email import render
    from ..render.locale import format_date
    from .feed import edition_content

    languages = ready_languages(issue, settings.languages)
    files: dict[str, bytes] = {}  # by path: every page of the issue shows the same pictures, written once
    entries = []
    for language in languages:
        page = f"{issue.id}/{language}.html"
        switcher = [(code, language_name(code), site.url(f"{issue.id}/{code}.html", page)) for code in languages]
        links = {
            "index": site.url(f"{language}/index.html", page, folder=True),
            "feed": site.url(f"{language}/feed.atom", page),
        }
        edition = load_edition(settings, issue, language)
        rendered = render(edition, settings, archive=True, alternates=switcher, links=links)
        # The pictures lie beside the page: the same relative address works on the site and on disk.
        files[page] = rendered.browsable_html().encode("utf-8")
        files.update((f"{issue.id}/{name}", data) for _, name, data in rendered.local_pictures)
        url = absolute.url(page, page)
        entries.append(
            Entry(
                issue.id,
                language,
                edition.title,
                format_date(edition.date, language),
                edition.date,
                edition.preheader,
                url,
                edition_content(settings, edition),
            )
        )
    return _IssuePages(list(files.items()), entries)


def _index_and_feed(
    settings: Settings, site: Site, language: str, listed: list[str], entries: list[Entry], out: Path
) -> list[Path]:
    from .feed import atom_feed

    entries.sort(key=lambda entry: (entry.iso_date, entry.issue_id), reverse=True)
    page = f"{language}/index.html"
    indexes = [(code, language_name(code), site.url(f"{code}/index.html", page, folder=True)) for code in listed]
    links = [(site.url(f"{entry.issue_id}/{language}.html", page), entry) for entry in entries]
    feed_url = f"{settings.base_url}/{language}/feed.atom"
    html = render_page(
        settings,
        "archive_index.html.j2",
        language,
        entries=links,
        languages=indexes,
        feed_url=site.url(f"{language}/feed.atom", page),
    )
    written = []
    for path, data in (
        (out / page, html.encode("utf-8")),
        (out / language / "feed.atom", atom_feed(settings, language, entries, feed_url)),
    ):
        write_atomically(path, data)
        written.append(path)
    return written


def language_name(code: str) -> str:
    """A language's name in itself: Deutsch, Русский."""
    from babel import Locale

    return (Locale.parse(code).get_display_name(code) or code).capitalize()
