"""Installed Argos packages: where they live, which language pairs they cover, installing new ones.

Listing and translating never import argostranslate (stanza, torch and spacy take seconds to load);
installing does, because Argos's own installer and package index are the reference.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError

PIVOT = "en"


@dataclass(frozen=True)
class Package:
    """One installed translation package."""

    from_code: str
    to_code: str
    version: str
    name: str
    path: Path

    @property
    def label(self) -> str:
        name = self.name or f"{self.path.name} ({self.from_code}→{self.to_code})"
        return f"{name} {self.version}".strip()


def packages_dir() -> Path:
    """Argos's own packages folder: $ARGOS_PACKAGES_DIR, else $XDG_DATA_HOME/argos-translate/packages."""
    given = os.environ.get("ARGOS_PACKAGES_DIR")
    if given:
        return Path(given)
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "argos-translate" / "packages"


def installed() -> list[Package]:
    """Every installed package with a readable metadata.json, sorted by language pair."""
    folder = packages_dir()
    found = []
    if folder.is_dir():
        for meta in sorted(folder.glob("*/metadata.json")):
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if data.get("type", "translate") == "translate" and data.get("from_code") and data.get("to_code"):
                found.append(
                    Package(
                        data["from_code"],
                        data["to_code"],
                        str(data.get("package_version", "")),
                        str(data.get("package_name", "")),
                        meta.parent,
                    )
                )
    return sorted(found, key=lambda p: (p.from_code, p.to_code))


def route(from_code: str, to_code: str, available: list[Package] | None = None) -> list[Package]:
    """The packages that take text from one language to another: direct, or through English."""
    available = installed() if available is None else available
    by_pair = {(p.from_code, p.to_code): p for p in available}
    if (from_code, to_code) in by_pair:
        return [by_pair[from_code, to_code]]
    if (from_code, PIVOT) in by_pair and (PIVOT, to_code) in by_pair:
        return [by_pair[from_code, PIVOT], by_pair[PIVOT, to_code]]
    have = ", ".join(f"{p.from_code}→{p.to_code}" for p in available) or "none"
    raise NewsletterError(
        f"no translation package for {from_code}→{to_code} (installed: {have})", hint=_install_hint(from_code, to_code)
    )


def _install_hint(from_code: str, to_code: str) -> str:
    direct = f"mco-newsletter models install {from_code} {to_code}"
    if PIVOT in (from_code, to_code):  # English is one end: there is no way round through it
        return direct
    return f"{direct}, or install {from_code}→{PIVOT} and {PIVOT}→{to_code} to go through English"


def check_package_file(path: Path) -> dict:
    """The metadata of an .argosmodel file, or a clear error if it is not a usable translation package."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NewsletterError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise NewsletterError(
            f"{path}: not an Argos package (not a zip file: {exc})",
            hint="download the .argosmodel again; it may be incomplete",
        ) from None
    with archive:
        names = archive.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        if len(tops) != 1:
            raise NewsletterError(f"{path}: not an Argos package (expected one top-level folder, found {len(tops)})")
        top = tops.pop()
        try:
            metadata = json.loads(archive.read(f"{top}/metadata.json"))
        except KeyError:
            raise NewsletterError(f"{path}: not an Argos package (no metadata.json)") from None
        except (ValueError, zipfile.BadZipFile) as exc:
            raise NewsletterError(f"{path}: metadata.json is unreadable ({exc})") from None
        missing = [part for part in ("model/model.bin", "sentencepiece.model") if f"{top}/{part}" not in names]
        if (
            not isinstance(metadata, dict)
            or metadata.get("type", "translate") != "translate"
            or not metadata.get("from_code")
            or not metadata.get("to_code")
        ):
            raise NewsletterError(
                f"{path}: metadata.json does not describe a translation package",
                hint='it needs type "translate", from_code and to_code',
            )
        if missing:
            raise NewsletterError(
                f"{path}: the package lacks {', '.join(missing)}",
                hint="it does not hold a CTranslate2 model and SentencePiece model",
            )
        bad = archive.testzip()
        if bad:
            raise NewsletterError(f"{path}: the package is corrupt ({bad} fails its checksum)")
    return metadata


ARGOS_EXTRA = "pip install 'mco-newsletter[argos]'"


def _argos():
    """Argos Translate's package module (only to download from its index: the extra `argos` brings it)."""
    # argostranslate reads these at import time: point it at the same folder we list, and again on
    # every call, since a long-lived process may have imported it for another folder.
    folder = packages_dir()
    os.environ["ARGOS_PACKAGES_DIR"] = str(folder)
    try:
        import argostranslate.package
        import argostranslate.settings
    except ImportError:
        raise NewsletterError(
            "downloading from the Argos package index needs Argos Translate, which is not installed",
            hint=f"{ARGOS_EXTRA} (it brings torch, about 1.5 GB), or download "
            "the .argosmodel elsewhere and run `mco-newsletter models "
            "install --file PACKAGE.argosmodel`",
        ) from None
    argostranslate.settings.package_data_dir = folder
    argostranslate.settings.package_dirs = [folder]
    return argostranslate.package


def install_file(path: Path, step: Callable[[str], None] | None = None) -> Package:
    """Check and install a package file; step(message) says what it is doing.

    The result is the folder Argos's own installer makes (the archive unpacked into the packages
    folder), made without importing Argos (and torch): unpacked beside it first, then moved into place.
    """
    from .unpack import unpack_package

    step = step or (lambda message: None)
    step(f"Checking {path.name} ({path.stat().st_size / 2**20:.1f} MiB)" if path.is_file() else f"Checking {path}")
    metadata = check_package_file(path)
    step(f"Installing {metadata['from_code']}→{metadata['to_code']} into {packages_dir()}")
    unpack_package(path, packages_dir())
    for package in installed():
        if (package.from_code, package.to_code) == (metadata["from_code"], metadata["to_code"]):
            return package
    raise NewsletterError(f"{path}: the package was unpacked but its metadata.json names no usable language pair")


def install_from_index(from_code: str, to_code: str, step: Callable[[str], None] | None = None) -> Package:
    """Download a package from the Argos index and install it (needs the internet)."""
    step = step or (lambda message: None)
    step("Loading Argos Translate (a few seconds)")
    package_module = _argos()
    import argostranslate.settings

    _reachable(argostranslate.settings.remote_package_index)
    step("Reading the Argos package index")
    try:
        package_module.update_package_index()
        candidates = [
            p for p in package_module.get_available_packages() if (p.from_code, p.to_code) == (from_code, to_code)
        ]
    except Exception as exc:  # noqa: BLE001 — urllib, ssl and json errors all mean "index not reachable"
        raise NewsletterError(
            f"cannot reach the Argos package index: {exc}",
            hint="offline, download the .argosmodel elsewhere and run "
            "`mco-newsletter models install --file PACKAGE.argosmodel`",
        ) from None
    if not candidates:
        hint = (
            None
            if PIVOT in (from_code, to_code)
            else f"install {from_code}→{PIVOT} and {PIVOT}→{to_code}: translation then goes through English"
        )
        raise NewsletterError(f"the Argos index has no {from_code}→{to_code} package", hint=hint)
    step(f"Downloading {from_code}→{to_code}")
    try:
        downloaded = Path(candidates[0].download())
    except Exception as exc:  # noqa: BLE001
        raise NewsletterError(
            f"download failed: {exc}", hint="offline, use `mco-newsletter models install --file PACKAGE.argosmodel`"
        ) from None
    return install_file(downloaded, step)


def _reachable(url: str, timeout: float = 5.0) -> None:
    """Fail fast, with the offline hint, when the index's host cannot be reached (instead of long retries)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout):
            pass
    except Exception as exc:  # noqa: BLE001 — DNS, refused, timeout: all mean offline for us
        raise NewsletterError(
            f"cannot reach the Argos package index at {parts.hostname}: {exc}",
            hint="offline, download the .argosmodel elsewhere and run "
            "`mco-newsletter models install --file PACKAGE.argosmodel`",
        ) from None
