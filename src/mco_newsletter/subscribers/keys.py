"""Secret keys: from the environment, or from an owner-only file generated on first use."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from ..errors import NewsletterError
from ..files import create_private_file

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
    if not path.is_file():
        raise NewsletterError(f"{path} is not a file", hint="move it away so that a new key file can be generated")
    try:
        key = path.read_bytes().decode("ascii").strip()
    except UnicodeDecodeError:
        raise NewsletterError(f"{path}: the key file is not a key (not ASCII text)",
                              hint="restore it from a backup, or delete it to generate a new key") from None
    if len(key) < MIN_LENGTH:
        raise NewsletterError(f"{path}: the key file is empty or too short", hint="delete it to generate a new key")
    return key.encode("ascii")


def _create(path: Path) -> None:
    # Another process may create it at the same moment: the first key written is the one both use.
    create_private_file(path, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
