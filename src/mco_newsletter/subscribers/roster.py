"""One-subscriber operations: add, look up, unsubscribe, erase, and the full export."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

from ..config import Settings
from ..errors import NewsletterError
from ..files import abandoned_writes, atomic_text_writer, forget_abandoned
from .csv_import import spreadsheet_safe, subscriber_address
from .store import Store, Subscriber, email_key

EXPORT_COLUMNS = (
    "id",
    "email",
    "name",
    "language",
    "tags",
    "status",
    "consent_source",
    "consent_at",
    "consent_version",
    "created_at",
    "updated_at",
)
# Under the private folder: a note per export being written, naming its unfinished file (files.atomic_writer), so
# that the file a killed export left is found wherever it was going, by the next export and by an erasure.
EXPORT_NOTES = Path("locks") / "exports"


def add_subscriber(
    store: Store,
    settings: Settings,
    *,
    email: str,
    language: str,
    tags: tuple[str, ...],
    name: str | None,
    consent: str,
    resubscribe: bool,
) -> str:
    """Add a subscriber (or re-activate one with resubscribe); return what happened, in words."""
    from .tokens import erasure_hash, erasure_key

    normalized, problem = subscriber_address(email.strip())
    if problem:
        raise NewsletterError(f"{email!r} is not a valid address: {problem}")
    if language not in settings.languages:
        raise NewsletterError(f"unknown language {language!r}", hint=f"use one of {', '.join(settings.languages)}")
    tags = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
    hashed = erasure_hash(erasure_key(settings.private_dir, store=store), email_key(normalized))
    with store.transaction():
        existing = store.get(normalized)
        if existing is not None and existing.status == "pending":
            # A web sign-up not yet confirmed: the organisation's own addition takes its place (an erased
            # address still needs --resubscribe below).
            store.delete(existing.id)
            existing = None
        if existing is not None:
            if existing.status == "active":
                raise NewsletterError(
                    f"{normalized} is already subscribed", hint="see it with `mco-newsletter subscribers show`"
                )
            if not resubscribe:
                raise NewsletterError(
                    f"{normalized} is {existing.status}",
                    hint="add --resubscribe only if the person asked to receive the digest again",
                )
            store.delete(existing.id)
        elif store.is_erased(hashed):
            if not resubscribe:
                raise NewsletterError(
                    "this address was erased at the person's request",
                    hint="add --resubscribe only if the person asked to subscribe again",
                )
            store.forget_erasure(hashed)
        store.add(email=normalized, name=name or None, language=language, tags=tags, consent_source=consent)
    return f"Added {normalized} ({language})." if existing is None else f"Resubscribed {normalized} ({language})."


def require(store: Store, email: str) -> Subscriber:
    """The subscriber with this address, or an error."""
    subscriber = store.get(email.strip())
    if subscriber is None:
        raise NewsletterError(f"no subscriber {email!r}")
    return subscriber


def unsubscribe(store: Store, email: str) -> bool:
    """Mark as unsubscribed; True when the status changed."""
    with store.transaction():
        return store.set_status(require(store, email).id, "unsubscribed")


def remove_unfinished_exports(*, private_dir: Path, only: Callable[[Path], bool] = lambda path: True) -> list[Path]:
    """Remove the files that killed exports left unfinished (those `only` accepts); the ones removed."""
    notes = private_dir / EXPORT_NOTES
    return [path for path in abandoned_writes(notes) if only(path) and forget_abandoned(notes, path)]


def export_csv(store: Store, out: Path | None, *, private_dir: Path) -> int:
    """Write every subscriber with every field held to `out` or standard output; return how many.

    The file is owner-only (0600) even when it existed before with wider permissions, and replaced
    atomically; cells a spreadsheet would run as formulas are written as text. While it is written, a
    note under `private_dir` names the unfinished file (EXPORT_NOTES).
    """
    if out is None:
        return _write_export(store, sys.stdout)
    if not out.parent.is_dir():
        raise NewsletterError(
            f"cannot export to {out}: the folder {out.parent} does not exist",
            hint="create the folder first, or give another --out",
        )
    try:
        with atomic_text_writer(out, private=True, noted_in=private_dir / EXPORT_NOTES) as stream:
            return _write_export(store, stream)
    except OSError as exc:
        raise NewsletterError(
            f"cannot export to {out}: {exc.strerror or exc}",
            hint="choose a folder you can write to, with room for the file",
        ) from None


def _write_export(store: Store, stream) -> int:
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for subscriber in store.subscribers():
        row = [getattr(subscriber, column) for column in EXPORT_COLUMNS]
        row[EXPORT_COLUMNS.index("tags")] = "|".join(subscriber.tags)
        writer.writerow(spreadsheet_safe("" if value is None else value for value in row))
        count += 1
    return count
