"""The outbox backend: every message as a complete .eml file in a Maildir folder, no account needed."""

from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from ...email_addresses import address_key
from ...errors import NewsletterError
from ...files import make_private_folder
from ..message import PreparedEdition, personal_message
from ..retry import PermanentError
from .protocol import Recipient, Report

SUFFIX = ".mco-newsletter.eml"
PARTS = ("tmp", "new", "cur")


def message_name(campaign_id: int, row_id: int) -> str:
    """One name per ledger row: a resend after a crash overwrites the same file, never adds a second."""
    return f"{campaign_id}.{row_id}{SUFFIX}"


class OutboxBackend:
    """Writes each reader's message to <outbox>/new/ (via tmp/, as Maildir wants): byte for byte what SMTP would
    carry."""

    name = "outbox"
    batch_size = 500

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            for part in PARTS:
                make_private_folder(folder / part)
        except OSError as exc:
            raise NewsletterError(
                f"{folder}: cannot use this folder as the outbox: {exc.strerror or exc}",
                hint="set [sending] outbox to a folder you can write",
            ) from None

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int, report: Report) -> None:
        at = dt.datetime.now(dt.UTC)
        done = []
        try:
            for recipient in recipients:
                if report.stop.is_set():
                    break
                name = (
                    message_name(campaign_id, recipient.row_id)
                    if recipient.row_id and edition.bulk
                    else self._test_name(edition)
                )
                self._write(name, personal_message(edition, recipient.email, recipient.token, at))
                done.append((recipient.row_id, name))
        except OSError as exc:
            if done:
                report.accepted(done)
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise PermanentError(
                f"cannot write to the outbox {self.folder}: {exc.strerror or exc}",
                hint=(
                    "free some disk space, then run the same command again to send the rest"
                    if full
                    else "check the outbox folder, then run the same command again to send the rest"
                ),
                exit_code=3,
            ) from None
        if done:
            report.accepted(done)

    def _write(self, name: str, message: bytes) -> None:
        temporary = self.folder / "tmp" / name
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(message)
            os.replace(temporary, self.folder / "new" / name)
        except BaseException:
            temporary.unlink(missing_ok=True)  # never leave a cut-off message (it holds the address)
            raise

    @staticmethod
    def _test_name(edition: PreparedEdition) -> str:
        # A test send, or a message to one person that is not the newsletter (named by its kind: signup-confirm, …).
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        kind = "test." if edition.bulk else ""
        return f"{kind}{edition.issue_id}.{edition.language}.{stamp}.{secrets.token_hex(6)}{SUFFIX}"

    def expect(self, editions: Iterable[PreparedEdition]) -> None:
        pass  # no size limit to check before sending

    def close(self) -> None:
        pass


def remove_reader_messages(folder: Path, rows: list[tuple[int, int]], address: str) -> int:
    """Delete every message of the outbox meant for one reader: by ledger row, then by To: header
    (test sends, messages of rows already gone). Returns how many were deleted."""
    if not folder.is_dir():
        return 0
    prefixes = tuple(f"{campaign_id}.{row_id}." for campaign_id, row_id in rows)
    wanted = address_key(address)
    removed = 0
    for part in PARTS:
        box = folder / part
        if not box.is_dir():
            continue
        for entry in os.scandir(box):
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.name.startswith(prefixes) or _addressed_to(entry.path, wanted):
                os.unlink(entry.path)
                removed += 1
    return removed


def _addressed_to(path: str, wanted: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536).split(b"\r\n\r\n", 1)[0]
    except OSError:
        return False
    for line in head.split(b"\r\n"):
        if line[:4].lower() == b"to: ":
            return address_key(line[4:].decode("utf-8", "replace").strip().strip("<>")) == wanted
    return False
