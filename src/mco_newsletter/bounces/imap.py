"""The bounce mailbox on an IMAP server, over TLS only (imaplib, the system's trusted authorities or [bounces]
ca_file): messages fetched without marking them seen, handled ones moved to the `processed` folder.

The login comes from MCO_NEWSLETTER_IMAP_USER (or [bounces] user, or the mailbox address's user part) and
MCO_NEWSLETTER_IMAP_PASSWORD (or [bounces] password_file, which must be readable by its owner only). Neither
the password nor the server's answers to the login are shown; the password is in no error and no log.
"""

from __future__ import annotations

import imaplib
import os
import re
import ssl
import stat
from collections.abc import Iterator

from ..errors import NewsletterError
from .checks import PASSWORD_ENV
from .mailbox import Stored
from .settings import Mailbox

USER_ENV = "MCO_NEWSLETTER_IMAP_USER"
TIMEOUT = 60.0
_FETCHED = re.compile(rb"UID (\d+)")


class ImapBox:
    """One logged-in IMAP session on the bounce folder."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box
        user, password = credentials(box)
        context = ssl.create_default_context(cafile=str(box.ca_file) if box.ca_file else None)
        where = f"{box.host}:{box.port}"
        try:
            self.client = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=TIMEOUT)
        except ssl.SSLCertVerificationError as exc:
            raise NewsletterError(
                f"the IMAP server {where} has a certificate that is not valid "
                f"({exc.verify_message or exc}): nothing was read",
                hint="check the host in [bounces] mailbox; a server certified by your own "
                "authority needs its certificate in [bounces] ca_file",
            ) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise NewsletterError(
                f"cannot reach the IMAP server {where}: {getattr(exc, 'strerror', None) or exc}",
                hint="check [bounces] mailbox (imaps://host:port/folder) and the network",
            ) from None
        try:
            self.client.login(user, password)
        except imaplib.IMAP4.error:
            self._logout()
            raise NewsletterError(
                f"the IMAP server {where} refused the login of {user!r}",
                hint=f"check {USER_ENV} (or [bounces] user) and the password "
                f"({PASSWORD_ENV} or [bounces] password_file)",
            ) from None
        # What the server offers once logged in (MOVE, UIDPLUS), which its greeting need not have listed.
        _, data = self._command("capability", error="cannot ask what the server offers")
        self.capabilities = set(b" ".join(data).decode("ascii", "replace").upper().split())
        self._command("select", _quoted(box.folder), error=f"cannot open the folder {box.folder!r}")

    def messages(self) -> Iterator[Stored]:
        # \Deleted ones were handled by a run on a server without MOVE: they wait for its expunge.
        _, data = self._command("uid", "SEARCH", "UNDELETED", error="cannot list the messages")
        for number in (data[0] or b"").split():
            uid = number.decode("ascii")
            try:
                typ, fetched = self.client.uid("FETCH", uid, "(BODY.PEEK[])")
            except (OSError, imaplib.IMAP4.abort) as exc:
                raise NewsletterError(
                    f"the connection to the IMAP server broke: {exc}; nothing was changed",
                    hint="run `mco-newsletter bounces` again",
                ) from None
            body = next((item[1] for item in fetched if isinstance(item, tuple) and len(item) == 2), None)
            yield Stored(uid, body if typ == "OK" and isinstance(body, bytes) else None)

    def move_processed(self, keys: list[str]) -> int:
        if not keys:
            return 0
        folder = _quoted(self.box.processed)
        self.client.create(folder)  # NO when it exists: that is fine
        uids = ",".join(keys)
        if "MOVE" in self.capabilities:
            self._command("uid", "MOVE", uids, folder, error=f"cannot move handled messages to {self.box.processed!r}")
        else:
            self._command("uid", "COPY", uids, folder, error=f"cannot copy handled messages to {self.box.processed!r}")
            self._command("uid", "STORE", uids, "+FLAGS.SILENT", r"(\Deleted)", error="cannot flag handled messages")
            if "UIDPLUS" in self.capabilities:  # only these: a plain EXPUNGE would take others flagged by a person
                self._command("uid", "EXPUNGE", uids, error="cannot expunge handled messages")
        return len(keys)

    def close(self) -> None:
        self._logout()

    def _command(self, name: str, *args, error: str):
        try:
            typ, data = getattr(self.client, name)(*args)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise NewsletterError(
                f"{error} on the IMAP server: {exc}",
                hint="nothing more was changed; run `mco-newsletter bounces` again",
            ) from None
        if typ != "OK":
            answer = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
            raise NewsletterError(f"{error} on the IMAP server: {answer}", hint="check [bounces] mailbox")
        return typ, data

    def _logout(self) -> None:
        try:
            self.client.logout()
        except (TimeoutError, OSError, imaplib.IMAP4.error):
            pass


def credentials(box: Mailbox) -> tuple[str, str]:
    """(user, password) from the environment, newsletter.toml and the password file, in that order."""
    user = os.environ.get(USER_ENV) or box.user
    if not user:
        raise NewsletterError(
            "no IMAP user for the bounce mailbox",
            hint=f"set {USER_ENV}, or [bounces] user, or write it in the mailbox address (imaps://user@host/INBOX)",
        )
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return user, password
    path = box.password_file
    if path is None:
        raise NewsletterError(
            "no IMAP password for the bounce mailbox",
            hint=f"set {PASSWORD_ENV}, or [bounces] password_file (a file readable by you only)",
        )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise NewsletterError(
                f"{path}: the IMAP password file is readable by others (mode {mode:o})", hint=f"chmod 600 {path}"
            )
        password = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsletterError(
            f"cannot read the IMAP password file {path}: {getattr(exc, 'strerror', None) or exc}",
            hint=f"write the password there (chmod 600), or set {PASSWORD_ENV}",
        ) from None
    if not password:
        raise NewsletterError(f"the IMAP password file {path} is empty", hint="write the password there")
    return user, password


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
