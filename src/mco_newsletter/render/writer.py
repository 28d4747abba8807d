"""Rendered editions → files: DIR/<id>/<lang>.html, .txt and .eml, plus the issue's own images."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from ..issue import local_images
from . import Rendered


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


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
