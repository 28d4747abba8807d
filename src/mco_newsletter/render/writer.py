"""Rendered editions → files: DIR/<id>/<lang>.html, .txt and .eml, plus the issue's own images."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..files import write_atomically
from ..issue import local_images
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
        shutil.copyfile(issue_folder / src, folder / src)
    return [path for path, _ in files]
