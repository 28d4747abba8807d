"""Unpacking an .argosmodel into the packages folder as Argos's installer does, without importing Argos.

Argos's `install_from_path` is `ZipFile.extractall(packages_dir)`: the archive's one top-level folder
lands in the packages folder, file for file. This does the same, but refuses members that would land
outside that folder or are links, unpacks into a temporary folder beside the target and renames it
into place, so that a package is either fully installed or not at all, and an older install of the
same package is replaced as a whole.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import NewsletterError


def unpack_package(path: Path, packages: Path) -> Path:
    """Unpack the package file at `path` into `packages`; return the package's folder."""
    packages.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        top = _top_folder(path, members)
        staging = packages / f".{top}.installing-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            for member in members:
                _extract(archive, member, top, staging, path)
            target = packages / top
            retired = packages / f".{top}.replaced-{os.getpid()}"
            if target.exists():
                os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return packages / top


def _top_folder(path: Path, members: list[zipfile.ZipInfo]) -> str:
    tops = {PurePosixPath(member.filename).parts[0] for member in members if member.filename.strip("/")}
    if len(tops) != 1:
        raise NewsletterError(f"{path}: not an Argos package (expected one top-level folder, found {len(tops)})")
    top = tops.pop()
    if top in (".", "..") or top.startswith("."):
        raise NewsletterError(f"{path}: not an Argos package (its folder is named {top!r})")
    return top


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, top: str, staging: Path, path: Path) -> None:
    parts = PurePosixPath(member.filename).parts
    if member.filename.startswith("/") or ".." in parts or "\\" in member.filename:
        raise NewsletterError(
            f"{path}: the package holds a file outside its folder ({member.filename!r})",
            hint="this is not a genuine Argos package: do not install it",
        )
    if stat.S_ISLNK(member.external_attr >> 16):
        raise NewsletterError(
            f"{path}: the package holds a symbolic link ({member.filename!r})",
            hint="this is not a genuine Argos package: do not install it",
        )
    relative = Path(*parts[1:]) if len(parts) > 1 else Path()
    destination = staging / relative
    if member.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(member) as source, destination.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
