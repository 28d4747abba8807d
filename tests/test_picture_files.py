"""An issue's pictures: only regular picture files of the issue's own folder are checked in, rendered and published."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLE, VALID_FRONT

PNG = (SAMPLE / "issues" / "2024-05" / "aktion-suedkorea-2015.png").read_bytes()
SECRET = "secret.reader@example.org"


def picture_issue(write_issue, src: str, issue_id: str = "pics") -> Path:
    return write_issue(issue_id, VALID_FRONT + f"\n![A map of the raids]({src})\n\nText.\n")


def same_picture(published: bytes, original: bytes) -> bool:
    """The published file is the picture (re-encoded without its metadata): same format, same size, same pixels."""
    import io

    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(published)) as out, Image.open(io.BytesIO(original)) as source:
        return out.format == source.format and out.size == source.size and \
            ImageChops.difference(out.convert("RGBA"), source.convert("RGBA")).getbbox() is None


def every_byte(folder: Path) -> bytes:
    """Everything written below `folder`, following no links."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


@pytest.fixture
def database_with_a_reader(run, settings) -> Path:
    """The real subscriber database, holding one reader's address."""
    assert run("subscribers", "add", SECRET, "--language", "en").exit_code == 0
    return settings.database_path


def test_symlink_to_the_database_is_refused_everywhere(run, workspace, write_issue, database_with_a_reader, tmp_path):
    """A picture that is a symbolic link to private/subscribers.sqlite3 fails check, render and archive; nothing leaks."""
    path = picture_issue(write_issue, "map.png")
    os.symlink("../../private/subscribers.sqlite3", path.parent / "map.png")
    assert SECRET.encode() in database_with_a_reader.read_bytes() + b"".join(
        p.read_bytes() for p in database_with_a_reader.parent.glob("*-wal"))
    checked = run("check")
    assert checked.exit_code == 1
    assert "issues/pics/issue.md:9: picture 'map.png' leads outside the issue's folder" in checked.stderr
    out = tmp_path / "out"
    rendered = run("render", "pics", "--out", str(out))
    archived = run("archive", "--out", str(tmp_path / "archive"))
    assert rendered.exit_code == 1 and archived.exit_code == 1
    for folder in (out, tmp_path / "archive"):
        assert not folder.exists() or SECRET.encode() not in every_byte(folder)


@pytest.mark.parametrize("content,message", [
    (b"this is text, not a picture" * 10, "picture 'map.png' is not a PNG file (its content says otherwise)"),
    (None, "picture 'map.png' is not a regular file"),
], ids=["text", "folder"])
def test_pictures_must_be_regular_picture_files(write_issue, run, content, message):
    """A text file named .png and a folder named .png are refused at the image's line."""
    path = picture_issue(write_issue, "map.png")
    if content is None:
        (path.parent / "map.png").mkdir()
    else:
        (path.parent / "map.png").write_bytes(content)
    result = run("check", "pics")
    assert result.exit_code == 1
    assert f"issues/pics/issue.md:9: {message}" in result.stderr


@pytest.mark.parametrize("name,src", [
    ("фото.png", "фото.png"),
    ("my photo.png", "<my photo.png>"),
    ("photos/2024/raid.png", "photos/2024/raid.png"),
], ids=["cyrillic", "space", "subfolder"])
def test_subfolder_non_ascii_and_spaced_names(write_issue, run, tmp_path, name, src):
    """Pictures in subfolders or with non-ASCII or spaced names pass check, and render and archive publish them."""
    from urllib.parse import unquote, urlsplit

    path = picture_issue(write_issue, src)
    (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
    (path.parent / name).write_bytes(PNG)
    assert run("check", "pics").exit_code == 0, run("check", "pics").stderr
    out = tmp_path / "out"
    result = run("render", "pics", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert same_picture((out / "pics" / name).read_bytes(), PNG)
    html = (out / "pics" / "en.html").read_text(encoding="utf-8")
    sources = [unquote(urlsplit(part.split('"')[0]).path) for part in html.split('src="')[1:]]
    assert name in sources  # the rendered page shows the picture beside it, under its own name
    assert run("archive", "--out", str(tmp_path / "archive")).exit_code == 0
    assert same_picture((tmp_path / "archive" / "pics" / name).read_bytes(), PNG)


def test_render_copies_only_a_verified_picture(settings, write_issue, database_with_a_reader, tmp_path):
    """A picture swapped for a link to the database after the edition was rendered: render wrote what it verified."""
    from mco_newsletter.edition import build_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.render.writer import write_edition
    from mco_newsletter.workspace import load_issue

    path = picture_issue(write_issue, "map.png")
    (path.parent / "map.png").write_bytes(PNG)
    issue = load_issue(settings, "pics")
    rendered = render(build_edition(issue), settings)
    (path.parent / "map.png").unlink()
    os.symlink(database_with_a_reader, path.parent / "map.png")
    write_edition(rendered, tmp_path / "out", issue.folder)
    assert same_picture((tmp_path / "out" / "pics" / "map.png").read_bytes(), PNG)
    assert SECRET.encode() not in every_byte(tmp_path / "out")


def test_archive_copies_only_a_verified_picture(settings, write_issue, database_with_a_reader, tmp_path):
    """The archive refuses a picture that became a link to a database copied inside the folder; nothing leaks."""
    from mco_newsletter.web.archive import build_archive
    from mco_newsletter.workspace import load_issue

    path = picture_issue(write_issue, "map.png")
    (path.parent / "map.png").write_bytes(PNG)
    issue = load_issue(settings, "pics")
    (path.parent / "map.png").unlink()
    shutil.copy(database_with_a_reader, path.parent / "inside.png")  # inside the folder, but not a PNG
    os.symlink("inside.png", path.parent / "map.png")
    report = build_archive(settings, tmp_path / "archive")
    assert any(issue_id == "pics" and any("is not a PNG file" in reason for reason in reasons)
               for issue_id, reasons in report.broken), report.broken
    assert SECRET.encode() not in every_byte(tmp_path / "archive")


@pytest.mark.parametrize("swap", ["symlink", "same_size_text"])
def test_a_picture_checked_once_is_checked_again_after_any_change(settings, write_issue, database_with_a_reader, swap):
    """The parser keeps a picture's verdict only while its entry is unchanged: a picture swapped for a link to the
    database, or rewritten in place with text of the same size, is refused by the next parse in the same process."""
    from mco_newsletter.issue import read_issue

    path = picture_issue(write_issue, "map.png")
    picture = path.parent / "map.png"
    picture.write_bytes(PNG)
    issue, problems = read_issue(path)
    assert issue is not None and problems == []
    if swap == "symlink":
        picture.unlink()
        os.symlink(database_with_a_reader, picture)
        expected = "picture 'map.png' leads outside the issue's folder"
    else:
        with picture.open("r+b") as handle:  # same inode, same size: only its content and times change
            handle.write(b"not a picture at all, only text")
        expected = "picture 'map.png' is not a PNG file"
    issue, problems = read_issue(path)
    assert issue is None and any(expected in problem.message for problem in problems), problems
