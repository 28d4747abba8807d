"""`mco-newsletter bounces`: read the bounce mailbox, check whom each message is about, apply what it reports with
the webhook's rules (delivery/feedback.py), and move what was handled into the `processed` folder.

Whom a message is about is believed only from a token that opens under the tool's key: a return path names a
ledger row, and only while that row's reader still has the address the message went to; a link token names
a reader. A message with no token of ours (a person's message, mail for someone else) and one whose tokens do
not open (forged, or about a reader who left or changed address) change nothing and stay in the mailbox, as
does a message that cannot be read: counted, for a person to look at, never deleted.

Each message is applied once: its digest is remembered in the same transaction that applies it (beside the
webhook's event ids), so a second run, or a run after a crash between the commit and the move, applies nothing
again. Only then are the handled messages moved (dry run: nothing is applied, nothing moves).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from ..config import Settings
from ..delivery import feedback
from ..delivery.feedback import Feedback, apply_feedback
from ..delivery.ledger import Ledger
from ..delivery.return_path import ReturnPaths
from ..errors import NewsletterError
from ..subscribers.store import Store
from ..subscribers.tokens import read_token, unsubscribe_secret
from .mailbox import MaildirBox, MboxBox, Messages
from .reports import BLOCKED, COMPLAINT, DELAYED, HARD, OTHER, REQUEST, SOFT, UNREADABLE, Reading, read_message
from .settings import Mailbox

FEEDBACK_KIND = {
    HARD: feedback.BOUNCE,
    SOFT: feedback.SOFT_BOUNCE,
    BLOCKED: feedback.BLOCKED,
    DELAYED: feedback.DEFERRED,
    COMPLAINT: feedback.COMPLAINT,
    REQUEST: feedback.UNSUBSCRIBE,
    OTHER: feedback.OTHER,
}
READING_KIND = {value: key for key, value in FEEDBACK_KIND.items()}
KINDS = (HARD, SOFT, BLOCKED, DELAYED, COMPLAINT, REQUEST, OTHER)


def open_mailbox(box: Mailbox) -> Messages:
    """The mailbox [bounces] names, opened for reading (and, at the end of the run, for moving what was handled)."""
    if box.kind in ("maildir", "mbox"):
        assert box.path is not None, "a Maildir or an mbox is a path"
        return (MaildirBox if box.kind == "maildir" else MboxBox)(box.path, box.processed)
    from .imap import ImapBox

    return ImapBox(box)


@dataclass
class BounceRun:
    """What one run found: `applied` by kind (HARD, SOFT, …); the rest stayed in the mailbox or were seen before."""

    mailbox: str
    dry_run: bool = False
    read: int = 0
    applied: Counter = field(default_factory=Counter)
    already_applied: int = 0
    not_ours: int = 0
    forged: int = 0
    unreadable: int = 0
    worn_out: int = 0  # readers marked bounced: their last messages all soft-bounced
    moved: int = 0

    @property
    def kept(self) -> int:
        return self.not_ours + self.forged + self.unreadable


def process_bounces(*, settings: Settings, store: Store, dry_run: bool = False) -> BounceRun:
    """Read the bounce mailbox of [bounces] and apply what it reports (dry_run: count only)."""
    bounces = settings.bounces
    if bounces is None or bounces.mailbox is None:
        raise NewsletterError(
            "newsletter.toml names no bounce mailbox to read",
            hint='add [bounces] with address = "bounces@<your domain>" and mailbox = "maildir:…", '
            '"mbox:…" or "imaps://…" (docs/deliverability.md)',
        )
    paths = ReturnPaths(
        secret=unsubscribe_secret(settings.private_dir, store=store),
        address=bounces.address,
        delimiter=bounces.delimiter,
    )
    whom = _Whom(store, paths)
    done = BounceRun(mailbox=bounces.mailbox.shown, dry_run=dry_run)
    box = open_mailbox(bounces.mailbox)
    try:
        reports, handled = [], []
        for stored in box.messages():
            done.read += 1
            reading = read_message(stored.raw, paths=paths) if stored.raw is not None else Reading(UNREADABLE)
            if stored.raw is None or reading.kind == UNREADABLE:
                done.unreadable += 1
                continue
            report_id = "mail:" + hashlib.sha256(stored.raw).hexdigest()
            report = whom.feedback(reading, report_id)
            if report is None:
                if reading.deliveries or reading.readers:
                    done.forged += 1
                else:
                    done.not_ours += 1
                continue
            reports.append(report)
            handled.append(stored.key)
        applied = apply_feedback(store=store, reports=reports, dry_run=dry_run, source="mailbox")
        done.applied.update({READING_KIND[kind]: count for kind, count in applied.kinds.items()})
        done.already_applied, done.worn_out = applied.duplicates, applied.worn_out
        done.forged += applied.unmatched  # a reader who left between the check and the commit
        if not dry_run:
            done.moved = box.move_processed(handled)
    finally:
        box.close()
    return done


class _Whom:
    """Who a message is about, from the first of its tokens that opens under the tool's key."""

    def __init__(self, store, paths: ReturnPaths) -> None:
        self.store = store
        self.ledger = Ledger(store)
        self.paths = paths
        self.legacy_max_id = store.legacy_token_max_id()

    def feedback(self, reading: Reading, report_id: str) -> Feedback | None:
        kind = FEEDBACK_KIND[reading.kind]
        for token in reading.deliveries:
            owners: dict[int, tuple[int, int] | None] = {}
            row = self.paths.delivery(token, email_of=partial(self._row_email, owners=owners))
            owner = owners.get(row) if row is not None else None
            if row is not None and owner is not None:
                campaign, owner_id = owner
                return Feedback(report_id, kind, self.store.email_of(owner_id), campaign, row)
        for token in reading.readers:
            subscriber = read_token(
                self.paths.secret, token, nonce_of=self.store.nonce, legacy_max_id=self.legacy_max_id
            )
            email = self.store.email_of(subscriber) if subscriber is not None else None
            if email is not None:
                return Feedback(report_id, kind, email, None, None)
        return None

    def _row_email(self, row_id: int, owners: dict) -> str | None:
        owners[row_id] = owner = self.ledger.row_owner(row_id)
        return self.store.email_of(owner[1]) if owner else None
