"""The [bounces] table of newsletter.toml: the bounce mailbox's address (each SMTP message's return path) and
where `mco-newsletter bounces` reads it (a Maildir, an mbox file, or IMAP over TLS).

    [bounces]
    address = "bounces@example.org"            # VERP: bounces+TOKEN@example.org (the server must deliver
    mailbox = "imaps://imap.example.org/INBOX"  # bounces+anything there); or "maildir:PATH", "mbox:PATH"
    user = "bounces@example.org"               # the IMAP login (or MCO_NEWSLETTER_IMAP_USER)
    password_file = "private/imap.password"    # owner-only; or MCO_NEWSLETTER_IMAP_PASSWORD
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..schema import Finding, Table

SCHEMA = {
    "bounces": Table(
        required={"address": str},
        optional={
            "delimiter": str,
            "mailbox": str,
            "user": str,
            "password_file": str,
            "ca_file": str,
            "processed": str,
        },
    )
}
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?")
_FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
MAILBOX_HINT = (
    'mailbox = "maildir:/home/bounces/Maildir", "mbox:/var/mail/bounces" or '
    '"imaps://imap.example.org/INBOX" (IMAP over TLS)'
)


@dataclass(frozen=True)
class Mailbox:
    """Where the bounce mailbox is read: `kind` maildir, mbox or imaps."""

    kind: str
    shown: str  # as newsletter.toml writes it
    path: Path | None = None
    host: str = ""
    port: int = 993
    folder: str = "INBOX"
    user: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    processed: str = "processed"  # the folder handled messages move to


@dataclass(frozen=True)
class BounceSettings:
    """The bounce mailbox: its address (return paths) and, when `bounces` reads it, where."""

    address: str
    delimiter: str = "+"
    mailbox: Mailbox | None = None


def check(data: dict) -> Iterator[Finding]:
    """Findings for a [bounces] table that cannot make return paths or name a mailbox."""
    from ..delivery.return_path import DELIMITERS, MAX_LOCAL

    table = data.get("bounces")
    if table is None:
        return
    address, delimiter = table["address"], table.get("delimiter", "+")
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        yield (
            ("bounces", "address"),
            f"bounces.address {address!r} is not a plain mailbox address",
            'e.g. address = "bounces@example.org" (letters, digits, dots, - and _ before the @; the domain in '
            "its xn-- form)",
        )
    elif len(local) > MAX_LOCAL:
        yield (
            ("bounces", "address"),
            f"bounces.address: {local!r} is too long to carry a return-path token (at "
            f"most {MAX_LOCAL} characters before the @: a local part holds 64)",
            'a shorter mailbox name, e.g. address = "bounces@…"',
        )
    elif delimiter in local:
        yield (
            ("bounces", "address"),
            f"bounces.address {address!r} holds the delimiter {delimiter!r}",
            "the mail server splits the address at it: choose a mailbox name without it",
        )
    if delimiter not in DELIMITERS:
        yield (
            ("bounces", "delimiter"),
            f"bounces.delimiter {delimiter!r} is not + or -",
            "the character your mail server puts between a mailbox and its extension (Postfix: "
            'recipient_delimiter; "+" almost everywhere)',
        )
    if "mailbox" in table:
        try:
            mailbox_parts(table["mailbox"])
        except ValueError as exc:
            yield ("bounces", "mailbox"), f"bounces.mailbox: {exc}", MAILBOX_HINT
    if "processed" in table and not _FOLDER.fullmatch(table["processed"]):
        yield (
            ("bounces", "processed"),
            f"bounces.processed {table['processed']!r} is not a folder name",
            'letters, digits, ".", "-" and "_", e.g. processed = "processed"',
        )
    for key in ("user", "password_file", "ca_file"):
        if key in table and not table[key].strip():
            yield ("bounces", key), f"bounces.{key} is empty", "leave it out, or give its value"


def mailbox_parts(value: str) -> dict:
    """The parts of a mailbox value ({"kind": …, "path" or "host", "port", "folder", "user"}); ValueError saying
    what is wrong."""
    kind, colon, rest = value.partition(":")
    if not colon:
        raise ValueError(f"{value!r} does not say which kind of mailbox it is")
    if kind in ("maildir", "mbox"):
        if not rest.strip():
            raise ValueError(f"{value!r} names no {kind} path")
        return {"kind": kind, "path": rest}
    if kind == "imap":
        raise ValueError(f"{value!r}: IMAP is read over TLS only (imaps://, port 993), never in the clear")
    if kind != "imaps":
        raise ValueError(f"{value!r} is not maildir:, mbox: or imaps://")
    try:
        parts = urlsplit(value)
        port = parts.port or 993
    except ValueError:
        raise ValueError(f"{value!r} is not an imaps:// address") from None
    if not parts.hostname or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{value!r} is not imaps://[user@]host[:port]/folder (a password never goes here)")
    folder = unquote(parts.path.strip("/")) or "INBOX"
    return {
        "kind": kind,
        "host": parts.hostname,
        "port": port,
        "folder": folder,
        "user": unquote(parts.username) if parts.username else None,
    }


def build(root: Path, data: dict) -> BounceSettings | None:
    """The typed [bounces] table, or None (messages return to the From address, and nothing reads bounces)."""
    table = data.get("bounces")
    if table is None:
        return None
    mailbox = None
    if "mailbox" in table:
        parts = mailbox_parts(table["mailbox"])
        if "path" in parts:
            parts["path"] = _in_workspace(root, parts["path"])
        for key in ("password_file", "ca_file"):
            if key in table:
                parts[key] = _in_workspace(root, table[key])
        if "user" in table:
            parts["user"] = table["user"]
        mailbox = Mailbox(shown=table["mailbox"], processed=table.get("processed", "processed"), **parts)
    return BounceSettings(address=table["address"], delimiter=table.get("delimiter", "+"), mailbox=mailbox)


def _in_workspace(root: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path
