"""Where the templates and their words come from: the workspace's own templates/ and locales/ first, then the
package's (mco_newsletter/defaults), as Pelican looks up a theme.

A template is overridden file by file: the workspace's templates/pages/base.html.j2 is the one every page of the
package extends. The words are overridden message by message: the workspace's
locales/<lang>/LC_MESSAGES/messages.po holds only the messages it changes (or a language the package lacks), and
every other message keeps the package's translation. A whole-file override would freeze every other message at the
version it was copied from and show the tool's new words in English; message by message, an organisation that
changed one phrase still gets the tool's new and corrected words on upgrade.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..defaults import LOCALES, TEMPLATES

DOMAIN = "messages"


def template_folders(templates_dir: Path) -> list[str]:
    """The folders a template is looked up in, the first that has it winning."""
    return [str(templates_dir), str(TEMPLATES)]


def template_file(templates_dir: Path, name: str) -> Path:
    """The file a template is read from: the workspace's own, else the package's."""
    own = templates_dir / name
    return own if own.is_file() else TEMPLATES / name


def catalog_path(locales_dir: Path, language: str) -> Path:
    """Where a folder of locales keeps the template words of a language."""
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_files(locales_dir: Path, language: str) -> tuple[Path, ...]:
    """The catalogs of a language's words that exist, the package's first: the workspace's messages win."""
    return tuple(path for path, _ in words_version(locales_dir, language))


def words_version(locales_dir: Path, language: str) -> tuple:
    """What changes when a language's words change (each catalog and its file time): a key for caches.

    Asked at every page and edition rendered, so the paths are made once and each is one stat (pathlib's
    joins and is_file() then stat() took two thirds of an environment lookup's 50 µs)."""
    return _stamps(_catalog_candidates(locales_dir, language))


def templates_version(templates_dir: Path) -> tuple:
    """What changes when the workspace adds or removes a template: the file times of its folders (None for one it
    lacks). A template edited in place is seen by Jinja2's own check of the file; one added beside a package
    template that was already loaded would not be."""
    return tuple(stamp for _, stamp in _stamps(_template_folders(templates_dir), missing=True))


@lru_cache(maxsize=64)
def _catalog_candidates(locales_dir: Path, language: str) -> tuple[Path, ...]:
    return catalog_path(LOCALES, language), catalog_path(locales_dir, language)


@lru_cache(maxsize=16)
def _template_folders(templates_dir: Path) -> tuple[Path, ...]:
    folders = sorted(path.name for path in TEMPLATES.iterdir() if path.is_dir())
    return (templates_dir, *(templates_dir / name for name in folders))


def _stamps(paths: tuple[Path, ...], *, missing: bool = False) -> tuple[tuple[Path, int | None], ...]:
    """(path, modification time) of each path that exists (each path, with None, when `missing`)."""
    found: list[tuple[Path, int | None]] = []
    for path in paths:
        try:
            found.append((path, os.stat(path).st_mtime_ns))
        except OSError:
            if missing:
                found.append((path, None))
    return tuple(found)


@dataclass(frozen=True)
class Override:
    """A file of the workspace that takes the place of the package's, and what `check` says of it."""

    path: Path
    note: str


def overrides(templates_dir: Path, locales_dir: Path) -> list[Override]:
    """Every template and catalog of the workspace that the package's lookup finds before its own."""
    found = []
    for path in sorted(templates_dir.rglob("*.j2")) if templates_dir.is_dir() else ():
        package = TEMPLATES / path.relative_to(templates_dir)
        if not package.is_file():
            note = "not one of the tool's templates (used only where another template includes it)"
        elif package.read_bytes() == path.read_bytes():
            note = "the same as the tool's template: delete it to get the tool's changes on upgrade"
        else:
            note = "overrides the tool's template"
        found.append(Override(path, note))
    for path in own_catalogs(locales_dir):
        try:
            found.append(Override(path, _words_note(path, path.parent.parent.name)))
        except (OSError, ValueError):
            continue  # unreadable: a problem of check's own (workspace_check.py), not a note
    return found


def own_catalogs(locales_dir: Path) -> list[Path]:
    """The workspace's catalogs of template words, one per language."""
    return sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")) if locales_dir.is_dir() else []


def _words_note(path: Path, language: str) -> str:
    """How the workspace's words of a language stand to the package's: changed, the same, no longer used."""
    used = {message.id for message in _read(LOCALES / f"{DOMAIN}.pot") if message.id}
    package_path = catalog_path(LOCALES, language)
    package = (
        {
            message.id: message.string
            for message in _read(package_path)
            if message.id and message.string and not message.fuzzy
        }
        if package_path.is_file()
        else {}
    )
    own = [message for message in _read(path) if message.id and message.string and not message.fuzzy]
    unused = sum(message.id not in used for message in own)
    same = sum(message.id in used and package.get(message.id) == message.string for message in own)
    changed = len(own) - unused - same
    if not package_path.is_file():
        return (
            f"the words in {language!r}, which the tool does not ship: {changed} of its {len(used)} translated "
            "here (the rest show in English)"
        )
    if not changed and not unused:
        return f"the same as the tool's words in {language!r}: delete it to get the tool's changes on upgrade"
    extra = [f"{unused} no longer used by the templates"] if unused else []
    extra += [f"{same} the same as the tool's"] if same else []
    return f"overrides {changed} of the tool's words in {language!r}" + (f" ({', '.join(extra)})" if extra else "")


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle)
