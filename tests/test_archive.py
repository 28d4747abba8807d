"""The archive publishes what was published: drafts left out, broken issues skipped with their reason, pages linked
to their index and feed, feeds with the whole editions, and a copy that browses from disk."""

from __future__ import annotations

import json
import re

import pytest

from conftest import VALID_FRONT
from translated import approve_translations


def draft(write_issue, issue_id: str = "2024-06"):
    """A scaffold-like issue dated after the others, marked draft."""
    return write_issue(issue_id, VALID_FRONT.replace("2024-06-01", "2030-01-01").replace(
        "keywords: [Russia]", "keywords: [Russia]\nstatus: draft") + "\nNot ready.\n")


@pytest.mark.stores
def test_drafts_stay_out_and_send_refuses_them(run, workspace, write_issue, tmp_path):
    """status: draft keeps an issue out of the index, the feed and the pages (exit 0); send refuses it, a test
    send still works; status: published (or none) is published."""
    draft(write_issue)
    out = tmp_path / "archive"
    result = run("archive", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Skipped 2024-06: a draft (status: draft), not published." in result.stderr
    assert not (out / "2024-06").exists()
    assert "2024-06" not in (out / "en" / "index.html").read_text() + (out / "en" / "feed.atom").read_text()
    refused = run("send", "2024-06", "--segment", "all", "--yes")
    assert refused.exit_code == 1 and "issue 2024-06 is a draft" in refused.stderr and "status: published" in refused.stderr
    assert run("send", "2024-06", "--segment", "all", "--test-to", "me@example.org").exit_code == 0
    path = workspace / "issues" / "2024-06" / "issue.md"
    path.write_text(path.read_text().replace("status: draft", "status: published"))
    assert run("archive", "--out", str(out)).exit_code == 0
    assert (out / "2024-06" / "en.html").is_file()


def test_unknown_status_is_a_problem(run, write_issue):
    """status takes draft or published, nothing else."""
    write_issue("odd", VALID_FRONT.replace("keywords: [Russia]", "keywords: [Russia]\nstatus: ready") + "\nText.\n")
    result = run("check", "odd")
    assert result.exit_code == 1 and "issues/odd/issue.md:7: 'status' must be draft or published, not 'ready'" in \
        result.stderr


def test_broken_issues_are_skipped_and_the_rest_built(run, write_issue, tmp_path):
    """Two broken issues are each named with their problem; the good ones are built; the exit code is 1."""
    write_issue("broken-a", VALID_FRONT + "\n## Empty\n")
    write_issue("broken-b", "no front matter\n")
    out = tmp_path / "archive"
    result = run("archive", "--out", str(out))
    assert result.exit_code == 1
    assert "Skipped broken-a: it cannot be built:" in result.stderr and "section 'Empty' is empty" in result.stderr
    assert "Skipped broken-b: it cannot be built:" in result.stderr and "no front matter" in result.stderr
    assert (out / "2023-12" / "en.html").is_file() and (out / "2024-05" / "en.html").is_file()
    assert "Wrote 5 files for 2 issues" in result.stdout


def test_pages_link_back_and_index_announces_its_feed(run, workspace, tmp_path):
    """Edition pages link to their language's index and feed; the index has a feed <link>; only languages with an
    approved edition get an index."""
    approve_translations(workspace, issue_ids=("2023-12",), languages=("de",))
    out = tmp_path / "archive"
    assert run("archive", "--out", str(out)).exit_code == 0
    page = (out / "2023-12" / "de.html").read_text()
    assert 'href="https://digest.example.org/de/"' in page
    assert 'href="https://digest.example.org/de/feed.atom"' in page
    assert "Alle Ausgaben" in page and "Bewegung der Kriegsdienstverweigerer (MCO)" in page
    index = (out / "de" / "index.html").read_text()
    assert '<link rel="alternate" type="application/atom+xml" href="https://digest.example.org/de/feed.atom"' in index
    assert sorted(p.name for p in out.iterdir()) == ["2023-12", "2024-05", "de", "en"]  # no empty ru index
    assert 'hreflang="ru"' not in index


def test_feed_entries_carry_the_whole_edition(run, workspace, tmp_path):
    """Each Atom entry has the edition's full text as HTML content (feedparser reads it), not only a summary."""
    import feedparser

    out = tmp_path / "archive"
    assert run("archive", "--out", str(out)).exit_code == 0
    feed = feedparser.parse((out / "en" / "feed.atom").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    may = feed.entries[0]
    content = may.content[0]
    assert content.type == "text/html"
    assert "<h2>Mass raids on conscripts took place in Moscow</h2>" in content.value
    assert "Much in such a situation depends on the determination" in content.value
    assert 'src="https://digest.example.org/2024-05/aktion-suedkorea-2015.png"' in content.value
    assert may.summary.startswith("Mass raids on conscripts in Moscow")


@pytest.mark.browser
def test_relative_urls_browse_from_disk(run, workspace, tmp_path, browser):
    """--relative-urls: from an edition page on disk, the index, the feed, the other edition and the picture open."""
    from mco_newsletter.render.browser import open_page

    approve_translations(workspace, issue_ids=("2024-05",), languages=("ru",))
    out = tmp_path / "archive"
    assert run("archive", "--out", str(out), "--relative-urls").exit_code == 0
    page_html = (out / "2024-05" / "ru.html").read_text()
    assert "https://digest.example.org/" not in re.sub(r'href="https://digest\.example\.org/(?:2024-05/en\.html|u/)',
                                                       "", page_html).split("<body", 1)[1]
    page = open_page(browser, out / "2024-05" / "ru.html", 600)
    try:
        assert page.evaluate("[...document.images].map(i => i.naturalWidth)") == [600]
        targets = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        for target in targets:
            assert target.startswith("file://"), target
            assert (out / target.split(str(out), 1)[1].lstrip("/")).is_file(), target
        page.click("text=Все выпуски")
        assert page.url.endswith("/ru/index.html")
        page.click("text=Дайджест за май 2024")
        assert page.url.endswith("/2024-05/ru.html")
    finally:
        page.close()


def test_archive_json(run, write_issue, tmp_path):
    """archive --json lists published, draft and broken issues and the files written."""
    draft(write_issue)
    write_issue("broken", "no front matter\n")
    result = run("archive", "--out", str(tmp_path / "a"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["published"] == ["2023-12", "2024-05"] and report["drafts"] == ["2024-06"]
    assert [entry["issue"] for entry in report["broken"]] == ["broken"]
    assert report["languages"] == ["en"] and len(report["files"]) == 5


def test_the_files_counted_are_the_files_written(run, workspace, tmp_path):
    """With three languages an issue's picture is shared by its three pages: `archive` counts it once, and the
    number it says, the --json list and the files on disk are the same."""
    approve_translations(workspace)
    out = tmp_path / "archive"
    result = run("archive", "--out", str(out))
    on_disk = sorted(path for path in out.rglob("*") if path.is_file())
    assert result.exit_code == 0 and f"Wrote {len(on_disk)} files for 2 issues" in result.stdout, result.stdout
    assert (out / "2024-05" / "aktion-suedkorea-2015.png").is_file()
    listed = json.loads(run("archive", "--out", str(tmp_path / "again"), "--json").stdout)["files"]
    assert sorted(listed) == [str(tmp_path / "again" / path.relative_to(out)) for path in on_disk]
