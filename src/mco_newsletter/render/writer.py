"""Rendered editions → files: DIR/<id>/<lang>.html, .txt and .eml, plus the issue's own images."""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomically
from ..issue import local_images
from ..pictures import copy_picture
from . import Rendered


def write_edition(rendered: Rendered, out_dir: Path, issue_folder: Path) -> list[Path]:
    """Write one edition's three files and copy the images it uses; return the files written."""
    folder = out_dir / rendered.edition.issue_id
    lang = rendered.edition.language
    files = [(folder / f"{lang}.html", rendered.html.encode("utf-8")),
             (folder / f"{lang}.txt", rendered.text.encode("utf-8")),
             (folder / f"{lang}.eml", rendered.eml)]
    for path, data in files:
        write_atomically(path, data)
    for src in local_images(rendered.edition.intro, rendered.edition.sections):
        copy_picture(issue_folder, src, folder)  # only a verified picture: never a link into private/
    return [path for path, _ in files]
