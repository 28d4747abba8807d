"""Pictures without tracking: embedded in the message by default (resized, cached, no metadata), linked or left out
by choice; remote and plain-http pictures refused; every rendered file shows its pictures offline."""

from __future__ import annotations

import io
import re
from email import message_from_bytes
from email.policy import default

import pytest

from conftest import VALID_FRONT, set_setting
from translated import translated  # noqa: F401  (a fixture)

GMAIL_CLIPS_AT = 102 * 1024


def photo(path, width: int, height: int, *, description: str = "") -> None:
    """A real JPEG of the given size, with an EXIF description when asked."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (120, 40, 40))
    for x in range(0, width, 50):  # some detail, so that it does not compress to nothing
        image.paste((x % 255, 90, 200), (x, 0, x + 25, height))
    exif = Image.Exif()
    if description:
        exif[0x010E] = description  # ImageDescription
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())


def mode(workspace, images: str) -> None:
    set_setting(workspace, 'images = "embedded"', f'images = "{images}"')


@pytest.mark.parametrize("language", ["en", "de", "ru"])
def test_embedded_by_default_in_multipart_related(translated, language):
    """The May edition carries its picture inside: multipart/related, cid: matching the Content-ID, no defects in
    any part, and HTML well under Gmail's 102 KB clipping limit, in every language."""
    rendered = translated("2024-05", language)
    message = message_from_bytes(rendered.eml, policy=default)
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    assert all(not part.defects for part in message.walk())
    html = message.get_body(("html",)).get_content()
    picture = next(part for part in message.walk() if part.get_content_type() == "image/png")
    cid = picture["Content-ID"].strip("<>")
    assert re.findall(r'<img[^>]* src="([^"]+)"', html) == [f"cid:{cid}"]
    assert picture.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(html.encode("utf-8")) < GMAIL_CLIPS_AT
    assert "digest.example.org/2024-05/aktion" not in html  # nothing is fetched when the email is opened


def test_large_photo_is_resized_stripped_and_cached(workspace, write_issue, settings):
    """A 3000 px photo travels 1104 px wide (2× the 552 px it is shown at) without its EXIF; the resized copy is
    kept in build/.cache/pictures and read from there by the next render."""
    from PIL import Image

    from mco_newsletter.edition import build_edition
    from mco_newsletter.render import pictures
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    write_issue("photo", VALID_FRONT + "\n![A street in Moscow](street.jpg)\n\nText.\n")
    photo(workspace / "issues" / "photo" / "street.jpg", 3000, 1500, description="secret place")
    edition = build_edition(load_issue(settings, "photo"))
    embedded = render(edition, settings).pictures
    assert len(embedded) == 1
    shown = Image.open(io.BytesIO(embedded[0].data))
    assert shown.size == (1104, 552) and shown.format == "JPEG"
    assert b"secret place" not in embedded[0].data and not shown.getexif()
    cached = list((workspace / "build" / ".cache" / "pictures").iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == embedded[0].data
    cached[0].write_bytes(embedded[0].data + b"from the cache")
    pictures._shown_bytes.cache_clear()  # a new process: only the cache on disk is left
    assert render(edition, settings).pictures[0].data.endswith(b"from the cache")


def test_linked_keeps_addresses_on_the_archive(workspace, write_issue):
    """images = "linked": the picture is loaded from base_url when the email is opened, and nothing is attached."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.edition import build_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    mode(workspace, "linked")
    settings = load_settings(workspace)
    rendered = render(build_edition(load_issue(settings, "2024-05")), settings)
    assert 'src="https://digest.example.org/2024-05/aktion-suedkorea-2015.png"' in rendered.html
    message = message_from_bytes(rendered.eml, policy=default)
    assert [part.get_content_type() for part in message.walk()] == ["multipart/alternative", "text/plain",
                                                                     "text/html"]


def test_none_shows_the_alt_text(workspace):
    """images = "none": no picture at all, its alt text in its place."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.edition import build_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    mode(workspace, "none")
    settings = load_settings(workspace)
    rendered = render(build_edition(load_issue(settings, "2024-05")), settings)
    assert "<img" not in rendered.html and "Aktion in Südkorea, 2015. Foto: Connection e.V." in rendered.html
    assert b"image/png" not in rendered.eml


@pytest.mark.parametrize("images", ["embedded", "linked", "none"])
def test_each_mode_is_accepted_and_others_refused(workspace, images):
    """Each mode is accepted; anything else is a problem at its line."""
    from mco_newsletter.config import read_settings

    mode(workspace, images)
    assert read_settings(workspace)[1] == []
    set_setting(workspace, f'images = "{images}"', 'images = "inline"')
    assert [p.message for p in read_settings(workspace)[1]] == ["unknown privacy.images 'inline'"]


@pytest.mark.browser
@pytest.mark.parametrize("images", ["embedded", "linked"])
def test_render_and_preview_show_pictures_offline(run, workspace, tmp_path, browser, images):
    """The HTML that render writes shows its pictures from the files beside it, in Chromium with no network."""
    from mco_newsletter.render.browser import open_page

    mode(workspace, images)
    out = tmp_path / "out"
    assert run("render", "2024-05", "--out", str(out)).exit_code == 0
    html = out / "2024-05" / "en.html"
    assert (out / "2024-05" / "aktion-suedkorea-2015.png").is_file()
    page = open_page(browser, html, 600)
    try:
        loaded = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    finally:
        page.close()
    assert loaded == [600]


@pytest.mark.browser
def test_preview_shows_pictures_from_local_files(workspace, tmp_path, browser):
    """In both picture modes the page `preview` opens in the browser shows its picture from a local file: Chromium,
    with every web request refused, loads it at full width and asks no remote address for anything."""
    import os
    import stat
    import subprocess
    import sys


    opened = tmp_path / "opened.txt"
    program = tmp_path / "browser"  # a real program in $BROWSER: it notes the address it was asked to open
    program.write_text(f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'w').write(sys.argv[-1])\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    urls = []
    for images in ("embedded", "linked"):
        mode(workspace, images)
        out = tmp_path / images
        result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "preview",
                                 "2024-05", "--out", str(out)], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "BROWSER": str(program)}, check=False)
        assert result.returncode == 0 and "Opening " in result.stdout, result.stderr
        page = out / "2024-05" / "en.html"
        assert opened.read_text() == page.resolve().as_uri()
        sources = re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', page.read_text(encoding="utf-8"))
        assert sources == ["aktion-suedkorea-2015.png"], images  # beside the page: not on base_url, not cid:
        urls.append(opened.read_text())
    for url in urls:
        requested: list[str] = []
        page = browser.new_page(viewport={"width": 600, "height": 800})
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        page.route("http*://**/*", lambda route: route.abort())
        page.goto(url, wait_until="load")
        images = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
        page.close()
        assert images == [600], url
        assert requested and all(address.startswith(("file://", "data:")) for address in requested), requested


@pytest.mark.parametrize("src,allowed,message", [
    ("https://example.org/photo.jpg", False, "is loaded from another server when the email is opened"),
    ("http://example.org/photo.jpg", False, "is loaded over plain http"),
    ("http://example.org/photo.jpg", True, "is loaded over plain http"),
])
def test_check_refuses_remote_pictures(run, workspace, write_issue, src, allowed, message):
    """A remote picture is refused unless allowed; a plain-http one always; render refuses them the same way."""
    if allowed:
        set_setting(workspace, "allow_remote_images = false", "allow_remote_images = true")
    write_issue("remote", VALID_FRONT + f"\n![A photo]({src})\n\nText.\n")
    result = run("check", "remote")
    assert result.exit_code == 1
    assert f"issues/remote/issue.md:9: picture '{src}' {message}" in result.stderr
    assert run("render", "remote", "--out", str(workspace / "b")).exit_code == 1


def test_remote_picture_allowed(run, workspace, write_issue):
    """With allow_remote_images = true an https picture passes check and is linked as written."""
    set_setting(workspace, "allow_remote_images = false", "allow_remote_images = true")
    write_issue("remote", VALID_FRONT + "\n![A photo](https://example.org/photo.jpg)\n\nText.\n")
    assert run("check", "remote").exit_code == 0
    assert run("render", "remote", "--out", str(workspace / "b")).exit_code == 0
    assert 'src="https://example.org/photo.jpg"' in (workspace / "b" / "remote" / "en.html").read_text()


def test_plain_http_link_is_a_warning(run, write_issue):
    """An http:// link is named as a warning: check still exits 0."""
    write_issue("link", VALID_FRONT + "\nSee [the report](http://example.org/report).\n")
    result = run("check", "link")
    assert result.exit_code == 0, result.output
    assert "issues/link/issue.md:9: warning: link 'http://example.org/report' is plain http" in result.stderr
    assert "Issue link: no problems found (1 warning)." in result.stdout


def test_picture_that_is_a_symbolic_link_is_refused(run, workspace, write_issue):
    """A picture that leads out of the issue's folder is refused by check and never embedded."""
    write_issue("sneaky", VALID_FRONT + "\n![A photo](photo.png)\n\nText.\n")
    (workspace / "issues" / "sneaky" / "photo.png").symlink_to(workspace / "issues" / "2024-05" /
                                                               "aktion-suedkorea-2015.png")
    result = run("check", "sneaky")
    assert result.exit_code == 1 and "leads outside the issue's folder" in result.stderr
    assert run("render", "sneaky", "--out", str(workspace / "b")).exit_code == 1


def test_picture_swapped_for_a_link_after_a_render_is_refused(workspace, settings):
    """A picture verified by one render and then replaced by a symbolic link is verified again, and refused."""
    from mco_newsletter.edition import build_edition
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    edition = build_edition(load_issue(settings, "2024-05"))
    assert len(render(edition, settings).pictures) == 1
    picture = workspace / "issues" / "2024-05" / "aktion-suedkorea-2015.png"
    outside = workspace / "private-photo.png"
    picture.rename(outside)
    picture.symlink_to(outside)
    with pytest.raises(NewsletterError, match="leads outside the issue's folder"):
        render(edition, settings)
