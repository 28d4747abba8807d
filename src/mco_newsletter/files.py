"""Files the tool writes: atomically (old or new, never half, across a power cut), public or owner-only.

Public outputs (rendered editions, the archive, PO catalogs) follow the umask, so a web server or a
translator's tool can read them. Private ones (database, keys, outbox, exports, rejects) are 0600 in
folders that are 0700, whatever existed before.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, TextIO

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def current_umask() -> int:
    """The process's umask (read without changing it for longer than one call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def public_mode() -> int:
    """The mode a new public file gets: 0666 filtered by the umask, as `open()` would make it."""
    return 0o666 & ~current_umask()


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable."""
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # some file systems do not open folders; the rename is as durable as they allow
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def make_private_folder(folder: Path) -> None:
    """Create `folder` and any missing parents as 0700 (whatever the umask).

    An existing folder is left as it is: it may be the person's home, Desktop or /tmp, and the private
    files written into it are 0600 themselves.
    """
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        raise NotADirectoryError(20, "not a folder", str(current))
    for created in reversed(missing):
        try:
            os.mkdir(created, PRIVATE_FOLDER)
        except FileExistsError:
            pass
        os.chmod(created, PRIVATE_FOLDER)  # mkdir's mode is filtered by the umask
        fsync_folder(created.parent)
    if not folder.is_dir():
        raise NotADirectoryError(20, "not a folder", str(folder))


def make_public_folder(folder: Path) -> None:
    """Create `folder` and its parents with the umask's modes (as mkdir -p does)."""
    folder.mkdir(parents=True, exist_ok=True)


@contextmanager
def atomic_writer(path: Path, *, private: bool) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces `path` only when the block ends without an error.

    The data is written to a temporary file beside `path`, fsynced, renamed over it, and the folder
    is fsynced: after a crash or a power cut `path` holds the old content or the new, never half.
    """
    folder = path.parent
    if private:
        make_private_folder(folder)
    else:
        make_public_folder(folder)
    mode = PRIVATE_FILE if private else public_mode()
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fchmod(stream.fileno(), mode)  # os.open's mode is filtered by the umask: set it exactly
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(folder)


@contextmanager
def atomic_text_writer(path: Path, *, private: bool, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text stream (newlines written as given, as the csv module wants) with atomic_writer's guarantees."""
    with atomic_writer(path, private=private) as binary:
        stream = io.TextIOWrapper(binary, encoding=encoding, newline="")
        yield stream
        stream.flush()
        stream.detach()  # atomic_writer fsyncs and closes the file itself


def create_private_file(path: Path, data: bytes) -> bool:
    """Create `path` (0600) holding `data` unless it exists; True if this call created it.

    The data is written aside, fsynced, then linked into place: another process sees no file or the
    whole file, never half of it, and the first writer wins.
    """
    make_private_folder(path.parent)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)
            created = True
        except FileExistsError:
            created = False
    finally:
        temporary.unlink(missing_ok=True)
    fsync_folder(path.parent)
    return created


def make_private_file(path: Path) -> None:
    """Create `path` as an empty 0600 file if it is missing; take group and others' access from an existing one."""
    make_private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        fsync_folder(path.parent)
    except FileExistsError:
        pass
    tighten(path)


def tighten(path: Path) -> None:
    """Take group and others' access from an existing file (0644 → 0600); the owner's own bits stay."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        os.chmod(path, current & 0o700)


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write `data` to `path` atomically; public (umask) unless private (0600)."""
    with atomic_writer(path, private=private) as stream:
        stream.write(data)


def is_private(path: Path) -> bool:
    """True when nobody but the owner can read or write `path`."""
    return not stat.S_IMODE(path.stat().st_mode) & 0o077
