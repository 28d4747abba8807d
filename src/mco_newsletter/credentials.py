"""Secrets from systemd's credentials: a unit's `LoadCredential=NAME:/etc/…/file` puts the file, readable by the
service alone, in $CREDENTIALS_DIRECTORY; for each secret the tool reads from its environment that is not set
there, the credential of the same name is read instead (its last line ending dropped). The secret is then in the
process's own environment only, never on a command line, in a unit file or in `systemctl show`.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from .errors import NewsletterError

# Every variable the tool (or libpq, PGPASSWORD) reads a secret or a private setting from.
NAMES = (
    "MCO_NEWSLETTER_DB",
    "PGPASSWORD",
    "MCO_NEWSLETTER_SECRET",
    "MCO_NEWSLETTER_ERASURE_KEY",
    "SENDGRID_API_KEY",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "MCO_NEWSLETTER_SMTP_USER",
    "MCO_NEWSLETTER_SMTP_PASSWORD",
    "MCO_NEWSLETTER_IMAP_USER",
    "MCO_NEWSLETTER_IMAP_PASSWORD",
)
FOLDER_ENV = "CREDENTIALS_DIRECTORY"


def load_credentials(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set each of NAMES that the environment lacks from the credential of that name; the names set."""
    environ = os.environ if environ is None else environ
    folder = environ.get(FOLDER_ENV)
    if not folder:
        return []
    loaded = []
    for name in NAMES:
        path = Path(folder) / name
        if name in environ or not path.exists():
            continue
        try:
            value = path.read_bytes().decode("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise NewsletterError(
                f"the credential {name} cannot be read: {reason}",
                hint="check the unit's LoadCredential= line and the file it names",
            ) from None
        environ[name] = value
        loaded.append(name)
    return loaded
