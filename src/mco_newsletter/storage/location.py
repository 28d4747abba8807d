"""Where the subscriber store lives: an SQLite file (a path) or a PostgreSQL database (a URL), and how it is
shown to people (a URL never with its password)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

DATABASE_ENV = "MCO_NEWSLETTER_DB"
# Inside /private/, which the workspace's .gitignore keeps out of the content repository.
DEFAULT_DATABASE = "private/subscribers.sqlite3"
SCHEMES = ("postgresql", "postgres")
# Anything that starts like "scheme:" with a scheme of two letters or more is meant as a URL, not a file name.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
SECRET_PARAMETERS = ("password", "sslpassword")
HIDDEN = "***"


@dataclass(frozen=True)
class StoreLocation:
    """The store: `path` for SQLite, `url` (postgresql://…) for PostgreSQL; exactly one of them is set."""

    path: Path | None = None
    url: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def shown(self) -> str:
        """The store as messages name it: the path, or the URL with any password replaced by ***."""
        return redact(self.url) if self.url else str(self.path)

    def __str__(self) -> str:
        return self.shown


def looks_like_url(text: str) -> bool:
    """Whether a configured value names a database server rather than a file."""
    return bool(_SCHEME.match(text)) and (text.split(":", 1)[0].lower() in SCHEMES or "://" in text)


def url_problem(url: str) -> str | None:
    """What is wrong with a database URL that can be seen without connecting, or None."""
    scheme = url.split(":", 1)[0].lower()
    if scheme not in SCHEMES:
        return f"{scheme}: is not a database this tool can use (PostgreSQL URLs begin with postgresql://)"
    if re.search(r"[\s\x00-\x1f\x7f]", url):
        return "the URL holds a space or a control character"
    try:
        parts = urlsplit(url)
        for host in parts.netloc.rpartition("@")[2].split(","):
            if ":" in host and not host.endswith("]"):
                port = host.rsplit(":", 1)[1]
                if port and not (port.isdigit() and 0 < int(port) < 65536):
                    return f"{port!r} is not a port number"
    except ValueError as exc:
        return str(exc)
    return None


def redact(url: str) -> str:
    """The URL without its secrets: the password in the address part and in the query string become ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url.split(':', 1)[0]}://{HIDDEN}"  # unparseable: show nothing that could be a secret
    netloc = parts.netloc
    if "@" in netloc:
        user, _, hosts = netloc.rpartition("@")
        if ":" in user:
            user = f"{user.split(':', 1)[0]}:{HIDDEN}"
        netloc = f"{user}@{hosts}"
    query = parts.query
    if query:
        pairs = [
            (key, HIDDEN if key.lower() in SECRET_PARAMETERS else value)
            for key, value in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="/*", quote_via=quote)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_password(url: str) -> bool:
    """Whether the URL itself carries a password (which then sits wherever the URL is written)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    user = parts.netloc.rpartition("@")[0]
    return ":" in user or any(key.lower() in SECRET_PARAMETERS for key, _ in parse_qsl(parts.query))


def password_of(url: str) -> str | None:
    """The password the URL carries (to keep it out of any message), or None."""
    from urllib.parse import unquote

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    user = parts.netloc.rpartition("@")[0]
    if ":" in user:
        return unquote(user.split(":", 1)[1]) or None
    for key, value in parse_qsl(parts.query):
        if key.lower() in SECRET_PARAMETERS:
            return value or None
    return None


def database_path(root: Path, data: dict) -> Path:
    """The SQLite file of a workspace's settings (the folder of the keys, locks and outbox with a database URL too).

    Environment over file over default: one merge, in this order. A URL in the environment names the store, and
    the file's path (or the default) still says where the private folder is.
    """
    given = os.environ.get(DATABASE_ENV)
    if not given or looks_like_url(given):
        given = data.get("database", {}).get("path") or DEFAULT_DATABASE
    path = Path(given).expanduser()
    return path if path.is_absolute() else root / path
