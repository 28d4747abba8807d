"""What a reader sees: each edition in headless Chromium at phone and desktop widths, and SpamAssassin's verdict."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import SAMPLE_ISSUES

EDITIONS = [(issue_id, language) for issue_id in SAMPLE_ISSUES for language in ("en", "de", "ru")]


@pytest.fixture(scope="module")
def browser():
    from mco_newsletter.render.browser import chromium

    with chromium() as instance:
        yield instance


@pytest.mark.browser
@pytest.mark.parametrize("issue_id,language", EDITIONS)
@pytest.mark.parametrize("width", [375, 600])
def test_no_horizontal_overflow(browser, render_edition, tmp_path, issue_id, language, width):
    """At 375 and 600 CSS pixels nothing scrolls sideways and the content is at most 600 px wide."""
    from mco_newsletter.render.browser import horizontal_overflow, open_page

    html = tmp_path / "edition.html"
    html.write_text(render_edition(issue_id, language).html, encoding="utf-8")
    page = open_page(browser, html, width)
    try:
        assert page.evaluate("window.innerWidth") == width
        assert horizontal_overflow(page) == 0
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('body *')]"
                               ".map(e => e.getBoundingClientRect().right))")
        assert widest <= min(width, 600) + 0.5
        body_text = page.inner_text("body")
        assert "IBAN" in body_text
    finally:
        page.close()


@pytest.mark.browser
def test_long_unbroken_words_do_not_overflow(browser, write_issue, render_edition, tmp_path):
    """A very long URL or word wraps instead of widening the phone layout."""
    from mco_newsletter.render.browser import horizontal_overflow, open_page

    write_issue("long", """\
---
title: Long
date: 2024-06-01
language: en
preheader: p
keywords: []
---

See https://example.org/""" + "a" * 300 + " and " + "Wort" * 60 + """.
""")
    html = tmp_path / "long.html"
    html.write_text(render_edition("long").html, encoding="utf-8")
    page = open_page(browser, html, 375)
    assert horizontal_overflow(page) == 0


@pytest.mark.browser
def test_preview_screenshot(workspace, tmp_path):
    """preview --screenshot writes a PNG as wide as asked (run as a process: one Playwright per thread)."""
    import sys

    png = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "preview",
                             "2024-05", "--screenshot", str(png), "--width", "375", "--out", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Screenshot of 2024-05 [en] at 375 px" in result.stdout
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 375


@pytest.mark.spamassassin
@pytest.mark.parametrize("issue_id,language", EDITIONS)
def test_spamassassin_score_below_3(render_edition, issue_id, language):
    """SpamAssassin, offline (-L), scores every edition's message below 3."""
    spamassassin = shutil.which("spamassassin")
    assert spamassassin, "spamassassin (Debian package spamassassin) is needed"
    eml = render_edition(issue_id, language).eml
    result = subprocess.run([spamassassin, "-L", "-t"], input=eml, capture_output=True, timeout=120)
    report = result.stdout.decode("utf-8", "replace")
    match = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert match, report[-2000:]
    assert float(match.group(1)) < 3, report[report.find("Content analysis details"):]
