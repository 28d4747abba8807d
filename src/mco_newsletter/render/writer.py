"""Rendered editions → files: DIR/<id>/<lang>.html, .txt and .eml, plus the issue's pictures beside them.

The .html file shows the pictures from the files beside it, whatever [privacy] images says: a preview
needs neither the published archive nor a mail client that understands cid: references.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomically
from .edition_email import Rendered


def write_edition(rendered: Rendered, out_dir: Path, issue_folder: Path | None = None) -> list[Path]:
    """Write one edition's three files and its pictures (as the message shows them); return the three files."""
    folder = out_dir / rendered.edition.issue_id
    lang = rendered.edition.language
    files = [
        (folder / f"{lang}.html", rendered.browsable_html().encode("utf-8")),
        (folder / f"{lang}.txt", rendered.text.encode("utf-8")),
        (folder / f"{lang}.eml", rendered.eml),
    ]
    for path, data in files:
        write_atomically(path, data)
    for _, name, data in rendered.local_pictures:
        write_atomically(folder / name, data)
    return [path for path, _ in files]
