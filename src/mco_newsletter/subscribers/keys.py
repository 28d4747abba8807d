"""Secret keys: from the environment, or from an owner-only file generated on first use."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from ..errors import NewsletterError

MIN_LENGTH = 32


def load_key(env_name: str, path: Path) -> bytes:
    """The key in $env_name, else the one in `path` (created 0600 with 256 random bits if missing)."""
    given = os.environ.get(env_name)
    if given is not None:
        if len(given) < MIN_LENGTH:
            raise NewsletterError(f"{env_name} is too short (at least {MIN_LENGTH} characters)",
                                  hint="generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return given.encode("utf-8")
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise NewsletterError(f"{path}: the key file is readable by others (mode {mode:o})",
                              hint=f"chmod 600 {path}")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_LENGTH:
        raise NewsletterError(f"{path}: the key file is empty or too short", hint="delete it to generate a new key")
    return key.encode("ascii")


def _create(path: Path) -> None:
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)
    # Written aside, then linked into place: another process sees no key or the whole key, never half.
    temporary = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        temporary.unlink()
