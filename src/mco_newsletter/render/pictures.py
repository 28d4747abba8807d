"""The issue's pictures as an edition shows them: resized to the width they are shown at, without metadata, cached.

Every picture is read through `pictures.picture_file` (inside the issue's folder, a regular file, the
content its name says). The first render of a picture resizes it with Pillow to twice the width it is
shown at (sharp on high-density screens, small in the message) and drops its metadata (a phone photo's
EXIF can hold where it was taken); the result is kept in build/.cache/pictures under the hash of the
original, so later renders, sends and archives only read it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..config import Settings
from ..edition import Edition
from ..errors import NewsletterError
from ..files import write_atomically
from ..pictures import verified_picture

# The email's column is 600 px with 24 px of padding on each side; 2× for high-density screens.
SHOWN_WIDTH = 552
PIXEL_RATIO = 2
CACHE_FOLDER = Path("build") / ".cache" / "pictures"
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


@dataclass(frozen=True)
class ShownPicture:
    """A picture as an edition carries it: its file name, type, bytes, and its Content-ID when embedded."""

    name: str
    mime_type: str
    data: bytes
    cid: str = ""

    @property
    def reference(self) -> str:
        """What the HTML's src says for it in the message."""
        return f"cid:{self.cid}"


def shown_picture(root: Path, folder: Path, src: str, *, domain: str = "mco-newsletter") -> ShownPicture:
    """The picture `src` of the issue in `folder`, resized for the email (cached under `root`)."""
    picture = verified_picture(folder, src)
    stat = picture.path.stat()
    data, digest = _shown_bytes(root, picture.path, picture.mime_type, stat.st_mtime_ns, stat.st_size)
    # Derived from the content only: the same picture has the same id in every edition and every run.
    return ShownPicture(picture.name, picture.mime_type, data, f"{digest[:24]}@{domain}")


@lru_cache(maxsize=64)
def _shown_bytes(root: Path, path: Path, mime_type: str, mtime_ns: int, size: int) -> tuple[bytes, str]:
    original = path.read_bytes()
    digest = hashlib.sha256(original).hexdigest()
    width = SHOWN_WIDTH * PIXEL_RATIO
    cached = root / CACHE_FOLDER / f"{digest}-{width}{path.suffix.lower()}"
    try:
        return cached.read_bytes(), digest
    except OSError:
        pass
    data = _resized(original, mime_type, width, path.name)
    try:
        write_atomically(cached, data)
    except OSError:
        pass  # a read-only workspace renders all the same, only without the cache
    return data, digest


def _resized(original: bytes, mime_type: str, width: int, name: str) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(original)) as opened:
            if mime_type == "image/gif" and getattr(opened, "is_animated", False):
                return original  # re-encoding would lose the animation; GIFs carry no EXIF
            opened.load()
            image: Image.Image = opened
            if image.width > width:
                height = max(1, round(image.height * width / image.width))
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            if mime_type == "image/jpeg" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            options = (
                {"quality": 82, "optimize": True, "progressive": True}
                if mime_type == "image/jpeg"
                else {"quality": 82}
                if mime_type == "image/webp"
                else {"optimize": True}
            )
            image.save(out, FORMATS[mime_type], **options)  # no exif= or pnginfo=: metadata is dropped
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise NewsletterError(
            f"picture {name!r} cannot be read: {exc}", "save it again as an ordinary PNG or JPEG file"
        ) from None
    return out.getvalue()


@dataclass(frozen=True)
class EditionPictures:
    """An edition's pictures: where each `src` of the issue points, what the message carries, the local files."""

    sources: dict
    embedded: tuple = ()  # ShownPicture, each once
    local: tuple = ()  # (what the HTML says, file name, bytes) for the files beside a rendered HTML file

    def src(self, src: str) -> str | None:
        """What the HTML shows for a picture: cid:…, an address, or None (the alt text instead)."""
        return self.sources.get(src, src)


def edition_pictures(settings: Settings, edition: Edition, mode: str) -> EditionPictures:
    """The edition's pictures as `mode` says: embedded (cid:), linked (from base_url) or none (alt text)."""
    from urllib.parse import quote

    from ..pictures import is_local

    folder = settings.issues_dir / edition.issue_id
    domain = settings.sender.address.rpartition("@")[2] or "mco-newsletter"
    sources: dict[str, str | None] = {}
    embedded: dict[str, ShownPicture] = {}
    local: dict[str, tuple[str, str, bytes]] = {}
    for src in dict.fromkeys(_sources(edition)):
        if mode == "none":
            sources[src] = None
        elif not is_local(src):
            sources[src] = src  # a remote picture the organisation allowed ([privacy] allow_remote_images)
        else:
            shown = shown_picture(settings.root, folder, src, domain=domain)
            if mode == "embedded":
                shown_as = shown.reference
                embedded.setdefault(shown.cid, shown)
            else:
                shown_as = f"{settings.base_url}/{quote(edition.issue_id)}/{quote(shown.name)}"
            sources[src] = shown_as
            local.setdefault(shown.name, (shown_as, shown.name, shown.data))
    return EditionPictures(sources, tuple(embedded.values()), tuple(local.values()))


def _sources(edition) -> list[str]:
    """The src of every picture of the edition, in reading order."""
    from ..issue_blocks import Image
    from ..issue_walk import all_blocks

    return [block.src for block in all_blocks(edition.intro, edition.sections) if isinstance(block, Image)]
