"""Headless Chromium, for what a reader sees: screenshots and layout measurements of an edition."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import NewsletterError

if TYPE_CHECKING:  # Playwright is an extra, imported when a browser is started
    from playwright.sync_api import Browser, Page

CHROMIUM_ENV = "MCO_NEWSLETTER_CHROMIUM"
BROWSER_EXTRA = "pip install --no-compile -c constraints.txt -e '.[browser]'"  # as README.md says
# Chromium's headless shell first (Debian: chromium-headless-shell): the same Blink and V8 without the full
# browser's GPU process and browser UI, made for screenshots like ours, at about half the CPU per page.
CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No sync, no component updates, no first-run pages: this machine may have no network, and a
# reader's email must not make the browser phone home while we look at it.
FLAGS = [
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--disable-quic",
    "--no-sandbox",
]


def chromium_path() -> str:
    """The Chromium executable: $MCO_NEWSLETTER_CHROMIUM, or the first one on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise NewsletterError(
        "no Chromium found",
        hint=f"install it (Debian: apt-get install chromium-headless-shell) or set {CHROMIUM_ENV} to its path",
    )


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, with a fresh profile of its own."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise NewsletterError(
            "screenshots (preview --screenshot) need Playwright, which the [browser] extra installs",
            hint=f"{BROWSER_EXTRA} in the tool's folder (README.md, Installing)",
        ) from None
    path = chromium_path()
    with sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(executable_path=path, args=FLAGS, headless=True)
        except Error as exc:
            raise NewsletterError(
                f"could not start Chromium at {path}: {str(exc).splitlines()[0]}",
                hint=f"set {CHROMIUM_ENV} to a working Chromium",
            ) from None
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser: Browser, html: Path, width: int, height: int = 800, *, color_scheme: Literal["light", "dark"] = "light"
) -> Page:
    """A page showing the HTML file at a viewport `width` CSS pixels wide (device metrics, not a window), on a
    device that prefers the light or dark colour scheme (prefers-color-scheme)."""
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=color_scheme)
    # The edition's own images live on the web archive; offline they would only stall the load.
    page.route("http*://**/*", lambda route: route.abort())
    page.goto(html.resolve().as_uri(), wait_until="load")
    return page


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways)."""
    return int(
        page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth")
    )


def screenshot(html: Path, png: Path, width: int, *, color_scheme: Literal["light", "dark"] = "light") -> Path:
    """A full-page PNG of the HTML file as a reader with a `width`-pixel-wide screen, in the light or dark scheme,
    sees it."""
    if not 200 <= width <= 2000:
        raise NewsletterError(f"--width {width} is out of range", hint="use 200 to 2000 pixels, e.g. 375 or 600")
    with chromium() as browser:
        page = open_page(browser, html, width, color_scheme=color_scheme)
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=True)
    return png
