"""The outbox backend: every message as a complete .eml file in a Maildir folder, no account needed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from ..message import PreparedEdition, personal_message
from . import Accepted, Failed, Recipient


class OutboxBackend:
    """Writes each reader's message to <outbox>/new/ (via tmp/, as Maildir wants): byte for byte what SMTP would carry."""

    name = "outbox"
    batch_size = 500

    def __init__(self, folder: Path):
        self.folder = folder
        for part in ("tmp", "new", "cur"):
            (folder / part).mkdir(mode=0o700, parents=True, exist_ok=True)

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int,
             accepted: Accepted, failed: Failed) -> None:
        at = dt.datetime.now(dt.timezone.utc)
        done = []
        for recipient in recipients:
            # One name per ledger row: a resend after a crash overwrites the same file, never adds a second.
            name = f"{campaign_id}.{recipient.row_id}.mco-newsletter.eml"
            temporary = self.folder / "tmp" / name
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(personal_message(edition, recipient.email, recipient.token, at))
            os.replace(temporary, self.folder / "new" / name)
            done.append((recipient.row_id, name))
        accepted(done)

    def close(self) -> None:
        pass
