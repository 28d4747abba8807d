"""An issue's own pictures: regular files inside the issue's folder that really are pictures of their type.

Anyone who can commit to issues/ could otherwise point a picture at the subscriber database through a
symbolic link, and `render` or `archive` would publish it. Every place that reads or copies a picture
goes through `picture_file`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import NewsletterError

# Extension → (MIME type, the signatures its files start with).
PICTURE_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
}


@dataclass(frozen=True)
class Picture:
    """A verified picture of an issue: where it is, its name relative to the folder, and its type."""

    path: Path
    name: str
    mime_type: str


def is_local(src: str) -> bool:
    """True for a picture of the issue's folder (no scheme, not an address on the web)."""
    return not urlsplit(src).scheme and not src.startswith("//")


def picture_name(src: str) -> str:
    """The file name a Markdown image source stands for (markdown-it percent-encodes non-ASCII and spaces)."""
    return unquote(urlsplit(src).path)


def picture_problem(folder: Path, src: str) -> str | None:
    """Why `src` is not a usable picture of the issue in `folder`, or None when it is."""
    try:
        picture_file(folder, src)
    except NewsletterError as exc:
        return exc.message
    return None


def verified_picture(folder: Path, src: str) -> Picture:
    """picture_file's answer, asked again whenever the folder or the file's entry changed in any way.

    Verifying walks every component of the path (a few hundred microseconds); a render repeats it only
    when an lstat of the folder or of the picture's own entry differs from the verified one.
    """
    name = picture_name(src)
    if "/" in name or not name:
        return picture_file(folder, src)
    try:
        entries = (_signature(os.lstat(folder)), _signature(os.lstat(folder / name)))
    except OSError:
        return picture_file(folder, src)  # says what is wrong
    return _verified_cached(folder, src, entries)


@lru_cache(maxsize=64)
def _verified_cached(folder: Path, src: str, entries: tuple) -> Picture:
    return picture_file(folder, src)


def _signature(info: os.stat_result) -> tuple:
    return info.st_dev, info.st_ino, info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def picture_file(folder: Path, src: str) -> Picture:
    """The verified picture `src` of the issue in `folder`, or NewsletterError saying what is wrong."""
    name = picture_name(src)
    if not name or name.startswith("/") or "\\" in name or ".." in Path(name).parts:
        raise NewsletterError(f"picture {src!r} must lie in the issue's folder", "write the file name, e.g. photo.jpg")
    suffix = Path(name).suffix.lower()
    if suffix not in PICTURE_TYPES:
        raise NewsletterError(
            f"picture {src!r} is not a PNG, JPEG, GIF or WebP file (by its name)",
            "save the picture as .png, .jpg, .gif or .webp",
        )
    path = folder / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise NewsletterError(
            f"picture file {name!r} not found in {folder.name}/", "put the picture beside issue.md"
        ) from None
    root = folder.resolve()
    if root not in resolved.parents:
        raise NewsletterError(
            f"picture {name!r} leads outside the issue's folder (a symbolic link)",
            "copy the picture itself into the issue's folder",
        )
    mode = resolved.stat().st_mode
    if not stat.S_ISREG(mode):
        raise NewsletterError(f"picture {name!r} is not a regular file", "put the picture itself beside issue.md")
    with resolved.open("rb") as handle:
        _check_content(name, handle.read(16))
    return Picture(resolved, name, PICTURE_TYPES[suffix][0])


def picture_bytes(folder: Path, src: str) -> tuple[Picture, bytes]:
    """The verified picture and its content, read from the very file that was checked.

    The file is opened without following a link and checked again after reading, so a picture swapped
    for a link to private/ between the check and the copy is refused, not published.
    """
    picture = picture_file(folder, src)
    try:
        handle = os.open(picture.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise NewsletterError(
            f"picture {picture.name!r} changed while it was being read", "run the command again"
        ) from None
    with os.fdopen(handle, "rb") as stream:
        opened = _opened_path(stream.fileno())
        if opened is not None and folder.resolve() not in opened.parents:
            raise NewsletterError(
                f"picture {picture.name!r} leads outside the issue's folder (a symbolic link)",
                "copy the picture itself into the issue's folder",
            )
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise NewsletterError(
                f"picture {picture.name!r} is not a regular file", "put the picture itself beside issue.md"
            )
        data = stream.read()
    _check_content(picture.name, data[:16])
    return picture, data


def copy_picture(folder: Path, src: str, destination: Path) -> Path:
    """Copy the verified picture `src` of the issue in `folder` to the same name below `destination`."""
    from .files import write_atomically

    picture, data = picture_bytes(folder, src)
    target = destination / picture.name
    write_atomically(target, data)
    return target


def _opened_path(handle: int) -> Path | None:
    # Where an open file really is (Linux): a folder on the way swapped for a link after the check shows here.
    try:
        return Path(os.readlink(f"/proc/self/fd/{handle}"))
    except OSError:
        return None


def _check_content(name: str, head: bytes) -> None:
    suffix = Path(name).suffix.lower()
    signatures = PICTURE_TYPES[suffix][1]
    if not any(head.startswith(signature) for signature in signatures) or (suffix == ".webp" and head[8:12] != b"WEBP"):
        raise NewsletterError(
            f"picture {name!r} is not a {suffix[1:].upper()} file (its content says otherwise)",
            "save the picture again in the format its name says",
        )
