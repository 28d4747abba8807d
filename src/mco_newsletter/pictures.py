"""An issue's own pictures: regular files inside the issue's folder that really are pictures of their type.

Anyone who can commit to issues/ could otherwise point a picture at the subscriber database through a
symbolic link, and `render` or `archive` would publish it. Every place that reads or copies a picture
goes through `picture_file`.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
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


def picture_file(folder: Path, src: str) -> Picture:
    """The verified picture `src` of the issue in `folder`, or NewsletterError saying what is wrong."""
    name = picture_name(src)
    if not name or name.startswith("/") or "\\" in name or ".." in Path(name).parts:
        raise NewsletterError(f"picture {src!r} must lie in the issue's folder", "write the file name, e.g. photo.jpg")
    suffix = Path(name).suffix.lower()
    if suffix not in PICTURE_TYPES:
        raise NewsletterError(f"picture {src!r} is not a PNG, JPEG, GIF or WebP file (by its name)",
                              "save the picture as .png, .jpg, .gif or .webp")
    path = folder / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise NewsletterError(f"picture file {name!r} not found in {folder.name}/",
                              "put the picture beside issue.md") from None
    root = folder.resolve()
    if root not in resolved.parents:
        raise NewsletterError(f"picture {name!r} leads outside the issue's folder (a symbolic link)",
                              "copy the picture itself into the issue's folder")
    mode = resolved.stat().st_mode
    if not stat.S_ISREG(mode):
        raise NewsletterError(f"picture {name!r} is not a regular file", "put the picture itself beside issue.md")
    mime_type, signatures = PICTURE_TYPES[suffix]
    with resolved.open("rb") as handle:
        head = handle.read(16)
    if not any(head.startswith(signature) for signature in signatures) \
            or (suffix == ".webp" and head[8:12] != b"WEBP"):
        raise NewsletterError(f"picture {name!r} is not a {suffix[1:].upper()} file (its content says otherwise)",
                              "save the picture again in the format its name says")
    return Picture(resolved, name, mime_type)
