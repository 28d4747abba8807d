"""Files the tool writes: atomically (old or new, never half, across a power cut), public or owner-only.

Public outputs (rendered editions, the archive, PO catalogs) follow the umask, so a web server or a
translator's tool can read them. Private ones (database, keys, outbox, exports, rejects) are 0600 in
folders that are 0700, whatever existed before.

A file is written beside its target under a name of the tool's own (`.<name>.<random>.mco-newsletter.tmp`),
locked (flock) while its writer lives. A killed writer leaves it; the next write of the same target removes
it, and so may anyone who finds it unlocked (`remove_abandoned`): never a file whose writer still runs, nor
another program's file.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
TEMPORARY_SUFFIX = ".mco-newsletter.tmp"
_RANDOM = r"\.[0-9a-f]{12}" + re.escape(TEMPORARY_SUFFIX)


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


def is_temporary(path: Path) -> bool:
    """True when `path` has the name of one of the tool's own unfinished files (for any target)."""
    return path.name.startswith(".") and re.search(_RANDOM + "$", path.name) is not None


def remove_abandoned(temporary: Path) -> bool:
    """Remove one of the tool's unfinished files if its writer is gone (nobody holds its lock); True if removed."""
    if not is_temporary(temporary):
        return False
    try:
        handle = os.open(temporary, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # gone meanwhile, or not ours to open
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return False
        temporary.unlink()  # under the lock: its writer cannot be starting on it
        return True
    except OSError:
        return False  # locked: a writer is at work on it
    finally:
        os.close(handle)


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the unfinished files killed writers of `path` left beside it; the ones removed."""
    pattern = re.compile(re.escape(f".{path.name}") + _RANDOM)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / name for name in names if pattern.fullmatch(name) and remove_abandoned(path.parent / name)]


def _locked_temporary(path: Path) -> tuple[Path, int]:
    """A new file beside `path` under the tool's temporary name, created owner-only and locked (flock)."""
    while True:
        temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}"
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits only while remove_abandoned looks at it
        try:
            ours = os.stat(temporary, follow_symlinks=False).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            ours = False
        if ours:
            return temporary, handle
        os.close(handle)  # removed as abandoned in the instant before the lock: make another


@contextmanager
def atomic_writer(path: Path, *, private: bool, noted_in: Path | None = None) -> Iterator[BinaryIO]:
    """A binary stream whose content replaces `path` only when the block ends without an error.

    The data is written to a temporary file beside `path`, fsynced, renamed over it, and the folder
    is fsynced: after a crash or a power cut `path` holds the old content or the new, never half.
    Unfinished files that killed writers of `path` left are removed first. With `noted_in`, a note
    there names the unfinished file while it is written (see abandoned_writes).
    """
    folder = path.parent
    if private:
        make_private_folder(folder)
    else:
        make_public_folder(folder)
    remove_leftovers(path)
    mode = PRIVATE_FILE if private else public_mode()
    temporary, handle = _locked_temporary(path)
    note = None
    try:
        with os.fdopen(handle, "wb") as stream:
            if noted_in is not None:
                note = noted_in / _note_name(temporary)
                create_private_file(note, os.fsencode(temporary.absolute()))
            yield stream
            stream.flush()
            os.fchmod(stream.fileno(), mode)  # os.open's mode is filtered by the umask: set it exactly
            os.fsync(stream.fileno())
            os.replace(temporary, path)  # still locked: a finished file is never taken for an abandoned one
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        if note is not None:
            note.unlink(missing_ok=True)
    fsync_folder(folder)


def abandoned_writes(notes: Path) -> list[Path]:
    """The unfinished files that the notes in `notes` name and whose writers are gone (killed); notes of files
    that no longer exist are removed."""
    found = []
    for note in sorted(notes.glob(f"*{TEMPORARY_SUFFIX}.note")) if notes.is_dir() else []:
        try:
            temporary = Path(os.fsdecode(note.read_bytes()))
        except OSError:
            continue
        if not temporary.is_absolute() or _note_name(temporary) != note.name or not is_temporary(temporary):
            continue  # not a note this tool wrote
        if not temporary.exists():
            note.unlink(missing_ok=True)
        elif _unlocked(temporary):
            found.append(temporary)
    return found


def forget_abandoned(notes: Path, temporary: Path) -> bool:
    """Remove an abandoned unfinished file and its note; True if the file was removed."""
    removed = remove_abandoned(temporary)
    if removed or not temporary.exists():
        (notes / _note_name(temporary)).unlink(missing_ok=True)
    return removed


def _note_name(temporary: Path) -> str:
    # Not hidden, and not a temporary file's name itself: nothing takes a note for an unfinished file.
    return f"{temporary.name[1:]}.note"


def _unlocked(temporary: Path) -> bool:
    try:
        handle = os.open(temporary, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(handle)


@contextmanager
def atomic_text_writer(
    path: Path, *, private: bool, encoding: str = "utf-8", noted_in: Path | None = None
) -> Iterator[TextIO]:
    """A text stream (newlines written as given, as the csv module wants) with atomic_writer's guarantees."""
    with atomic_writer(path, private=private, noted_in=noted_in) as binary:
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
    remove_leftovers(path)
    temporary, handle = _locked_temporary(path)
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
