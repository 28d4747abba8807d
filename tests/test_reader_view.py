"""What a reader sees: each edition in headless Chromium at phone and desktop widths, light and dark, and
SpamAssassin's verdict. The German and Russian editions carry real translations (tests/translations)."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache

import pytest

from conftest import SAMPLE_ISSUES, built_once, copy_sample, render_issue
from translated import approve_translations, render_translated

EDITIONS = [(issue_id, language) for issue_id in SAMPLE_ISSUES for language in ("en", "de", "ru")]


@pytest.fixture(scope="module")
def edition_page(browser, tmp_path_factory):
    """The page of a sample edition (en as written, de and ru from approved catalogs) at a width, opened once per
    edition and width for the module's tests.

    The tests only look (each sets its own colour scheme first): loading the page and injecting axe-core (half a
    megabyte of script) once per page instead of once per test saves a second or two each.
    """
    from mco_newsletter.config import load_settings
    from mco_newsletter.render.browser import open_page
    from mco_newsletter.render.writer import write_edition

    root = tmp_path_factory.mktemp("editions")
    workspace = copy_sample(root / "ws")
    approve_translations(workspace)
    settings = load_settings(workspace)
    files, pages = {}, {}

    def page_for(issue_id: str, language: str, width: int):
        if (issue_id, language) not in files:
            rendered = render_translated(settings, issue_id, language)
            files[issue_id, language] = write_edition(rendered, root / f"{issue_id}-{language}")[0]
        if (issue_id, language, width) not in pages:
            pages[issue_id, language, width] = open_page(browser, files[issue_id, language], width)
        return pages[issue_id, language, width]

    yield page_for
    for page in pages.values():
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("issue_id,language", EDITIONS)
@pytest.mark.parametrize("width", [375, 600])
def test_no_horizontal_overflow(edition_page, issue_id, language, width):
    """At 375 and 600 CSS pixels, in the light and the dark scheme, nothing scrolls sideways and the content is at
    most 600 px wide."""
    from mco_newsletter.render.browser import horizontal_overflow

    page = edition_page(issue_id, language, width)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
        assert page.evaluate("window.innerWidth") == width
        assert horizontal_overflow(page) == 0, scheme
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('body *')]"
                               ".map(e => e.getBoundingClientRect().right))")
        assert widest <= min(width, 600) + 0.5, scheme
        body_text = page.inner_text("body")
        assert "IBAN" in body_text


@pytest.mark.browser
@pytest.mark.parametrize("issue_id,language", EDITIONS)
def test_the_preheader_stays_hidden(edition_page, issue_id, language):
    """The preheader is in the message (inbox previews read it) but takes no room and shows no text, in the light
    and the dark scheme: hidden without a text colour close to the background, which spam filters count against it."""
    page = edition_page(issue_id, language, 375)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found = page.evaluate("""() => {
            const element = document.querySelector('.preheader');
            if (!element) return null;
            const box = element.getBoundingClientRect();
            return {text: element.textContent.trim(), height: box.height, width: box.width,
                    color: element.style.color, shown: document.body.innerText.includes(element.textContent.trim())};
        }""")
        assert found is not None, "no preheader element"
        assert len(found["text"]) > 20, found
        assert found["height"] == 0 and found["width"] == 0 and not found["shown"], (scheme, found)
        assert found["color"] == "", found  # no colour trick for SpamAssassin's HTML_FONT_LOW_CONTRAST


@lru_cache(maxsize=1)
def axe_source() -> str:
    """axe.min.js from the axe-playwright-python wheel."""
    from importlib.resources import files

    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def with_axe(context):
    """The browser context, with axe-core in every document it opens before the page's own scripts run.

    An init script is the browser's own, not the page's: the page's Content-Security-Policy does not apply, so
    the pages are checked exactly as a reader's browser shows them (no bypass_csp), and Chromium compiles the
    half-megabyte once per renderer instead of once per document (an inline script tag: 140 ms each)."""
    context.add_init_script(script=axe_source())
    return context


def axe_violations(page, rules: list[str] | None = None) -> list[dict]:
    """axe-core's serious and critical violations on the page (axe-core from with_axe, or added to this document
    as a script tag); `rules` runs only those rules."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=axe_source())
    options = {"resultTypes": ["violations"], **({"runOnly": {"type": "rule", "values": rules}} if rules else {})}
    result = page.evaluate("options => axe.run(document, options)", options)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["failureSummary"] + " @ " + n["html"][:160]
                                                            for n in v["nodes"][:3]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.browser
@pytest.mark.parametrize("issue_id,language", EDITIONS)
@pytest.mark.parametrize("width", [375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious(edition_page, issue_id, language, width, scheme):
    """axe-core in Chromium, light and dark, phone and desktop: no serious or critical violation (contrast included).
    The dark scheme changes colours only (test_the_dark_scheme_changes_colours_only): there, the colour rules."""
    from reader_pages import COLOUR_RULES

    page = edition_page(issue_id, language, width)
    page.emulate_media(color_scheme=scheme)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert axe_violations(page, None if scheme == "light" else COLOUR_RULES) == []


# What a dark scheme may set: colours, and `background` as one colour. Anything else (a size, display, an image)
# could change what axe-core's other rules see, and the dark runs would have to run them all again.
COLOUR_PROPERTIES = {"color", "background-color", "border-color", "outline-color", "accent-color"}
DARK_BLOCK = re.compile(r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{((?:[^{}]*\{[^{}]*\})*)[^{}]*\}")


def dark_declarations(css: str) -> list[tuple[str, str]]:
    """(property, value) of every declaration inside the text's `prefers-color-scheme: dark` blocks."""
    found = []
    for block in DARK_BLOCK.findall(css):
        for body in re.findall(r"\{([^{}]*)\}", block):
            found += [tuple(part.strip() for part in declaration.split(":", 1))
                      for declaration in body.split(";") if declaration.strip()]
    return found


def test_the_dark_scheme_changes_colours_only(render_edition):
    """The editions' and the reader and review pages' dark schemes set colours and nothing else, which is what
    lets the dark axe-core runs here and in reader_pages.accessibility_problems check the colour rules only."""
    from mco_newsletter.defaults import TEMPLATES

    pages = {path.name: path.read_text(encoding="utf-8") for path in (TEMPLATES / "pages").glob("*.j2")}
    sources = {"edition 2024-05": render_edition("2024-05").html, **pages}
    assert dark_declarations("@media (prefers-color-scheme: dark) { a { color: red; width: 1px } }") == \
        [("color", "red"), ("width", "1px")]  # the parser sees every declaration
    checked = 0
    for name, text in sources.items():
        for prop, value in dark_declarations(text):
            value = value.removesuffix("!important").strip()
            assert prop in COLOUR_PROPERTIES or (prop == "background" and re.fullmatch(r"#[0-9a-fA-F]{3,8}", value)), \
                (name, prop, value)
            checked += 1
    assert checked >= 30 and sum(bool(dark_declarations(text)) for text in sources.values()) >= 4


INTERVIEW = """\
---
title: Интервью
date: 2024-07-09
language: ru
preheader: Разговор с отказчиком.
keywords: []
---

## Разговор

— Когда вы решили отказаться от службы?

— Когда получил повестку. Я понял, что не смогу взять в руки оружие.

— Что вы сделали потом?

- Подал заявление на альтернативную службу.
- Обратился за помощью к юристам.

> Первый абзац цитаты.
>
> Второй абзац цитаты.

Последний абзац.
"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 600])
def test_paragraphs_lists_and_quotes_have_rhythm(browser, write_issue, render_edition, tmp_path, width):
    """In an interview each turn is its own paragraph: a visible gap (≥ 0.75 em) between paragraphs, list items and
    quoted paragraphs, at 375 and 600 px."""
    from mco_newsletter.render.browser import open_page

    write_issue("interview", INTERVIEW)
    html = tmp_path / "interview.html"
    html.write_text(render_edition("interview").html, encoding="utf-8")
    page = open_page(browser, html, width)
    try:
        def gaps(selector: str) -> list[float]:
            return page.evaluate("""(selector) => {
                const boxes = [...document.querySelectorAll(selector)].map(e => e.getBoundingClientRect());
                return boxes.slice(1).map((box, i) => box.top - boxes[i].bottom);
            }""", selector)

        paragraphs = gaps("td.prose > div")
        assert len(paragraphs) >= 4 and min(paragraphs) >= 12, paragraphs
        assert min(gaps("li")) >= 6 and min(gaps("blockquote p")) >= 12
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


@pytest.mark.browser
def test_preview_screenshot_in_the_dark_scheme(run, workspace, tmp_path):
    """preview --screenshot --dark (or --color-scheme dark) shows the edition as a reader whose phone prefers the
    dark scheme sees it: the page's dark background and sheet where the light screenshot has light ones."""
    import sys

    from PIL import Image

    def shot(*scheme: str) -> Image.Image:
        png = tmp_path / f"shot{len(scheme)}{'-'.join(scheme)}.png"
        result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "preview",
                                 "2024-05", "--screenshot", str(png), *scheme, "--out", str(tmp_path / "b")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return Image.open(png).convert("L")

    light, dark, spelt_out = shot(), shot("--dark"), shot("--color-scheme", "dark")
    assert light.size == dark.size and light.getpixel((4, 4)) > 200 and dark.getpixel((4, 4)) < 40
    middle = (light.width // 2, 160)  # the sheet, below the title
    assert light.getpixel(middle) > 200 and dark.getpixel(middle) < 50
    assert spelt_out.tobytes() == dark.tobytes()
    refused = run("preview", "2024-05", "--dark")
    assert refused.exit_code == 2 and "--screenshot" in refused.stderr


def test_preview_screenshot_without_playwright_names_the_extra(workspace, tmp_path):
    """Without Playwright, preview --screenshot says it needs the [browser] extra and how to install it, as the
    README does; exit 1, no traceback, and the edition is still rendered."""
    import os
    import sys

    from conftest import REPO

    shadow = tmp_path / "shadow" / "playwright"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'playwright'\", "
                                        "name='playwright')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "preview",
                             "2024-05", "--screenshot", str(tmp_path / "shot.png"), "--out", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=120, env=env)
    install = "pip install --no-compile -c constraints.txt -e '.[browser]'"
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "the [browser] extra" in result.stderr and install in result.stderr, result.stderr
    assert (tmp_path / "b" / "2024-05" / "en.html").is_file() and not (tmp_path / "shot.png").exists()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert install in readme and "`[browser]` extra" in readme


@pytest.fixture(scope="session")
def spam_reports(tmp_path_factory) -> dict[tuple[str, str], str]:
    """SpamAssassin's test-mode output for each edition's message (rendered in a pristine workspace).

    One offline run over all six message files, once for all test workers: loading the rules takes
    seconds, and SpamAssassin scores each file given on its own (no auto-welcomelist is loaded: one
    message's score cannot move another's).
    """
    def score(folder):
        from mco_newsletter.config import load_settings

        spamassassin = shutil.which("spamassassin")
        assert spamassassin, "spamassassin (Debian package spamassassin) is needed"
        settings = load_settings(copy_sample(folder / "ws"))
        files = []
        for issue_id, language in EDITIONS:
            files.append(folder / f"{issue_id}-{language}.eml")
            files[-1].write_bytes(render_issue(settings, issue_id, language).eml)
        result = subprocess.run([spamassassin, "-L", "-t", *map(str, files)], capture_output=True, timeout=300)
        output = result.stdout.decode("utf-8", "replace")
        # Each message comes back with SpamAssassin's headers on top (a spam one wrapped in a new message).
        reports = re.split(r"(?m)^(?=X-Spam-Checker-Version: )", output)[1:]
        assert len(reports) == len(files), output[-3000:]
        for path, report in zip(files, reports):
            path.with_suffix(".report").write_text(report, encoding="utf-8")

    folder = built_once(tmp_path_factory, "spamassassin", score)
    return {(issue_id, language): (folder / f"{issue_id}-{language}.report").read_text(encoding="utf-8")
            for issue_id, language in EDITIONS}


@pytest.mark.spamassassin
@pytest.mark.parametrize("issue_id,language", EDITIONS)
def test_spamassassin_scores_nothing(spam_reports, issue_id, language):
    """SpamAssassin, offline (-L), scores every edition's message at 0 points or less: no rule it hits counts
    against it (the hidden preheader once hit HTML_FONT_LOW_CONTRAST, a To: without brackets TO_NO_BRKTS_HTML_IMG)."""
    report = spam_reports[issue_id, language]
    assert f"Feedback-ID: {issue_id}:{language}:" in report, report[:2000]  # the report is this edition's
    match = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert match, report[-2000:]
    details = report[report.find("Content analysis details"):]
    assert float(match.group(1)) <= 0, details
    # A negative rule (MAILING_LIST_MULTI) can hide one that counts: neither of the two may come back.
    assert "HTML_FONT_LOW_CONTRAST" not in details and "TO_NO_BRKTS" not in details, details
