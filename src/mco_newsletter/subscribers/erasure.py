"""Erasure: every copy the tool made of a person's address goes, or the person is told which one could not.

The list's own part: the subscriber row and tags (in one transaction), the rows naming them in the rejects files
under private/rejects/, the unfinished files holding the address that killed exports (wherever they were going)
and other killed commands (under private/) left; on SQLite the old pages in the database's write-ahead log (a
checkpoint that must complete). On PostgreSQL the rows are gone from every query at the commit, and the tables
that held them are vacuumed; their bytes stay in the tables' files until `database compact`, and in the server's
write-ahead log and backups for as long as those are kept (docs/subscribers.md). Every other domain that keeps
something about a person is a Forgetter, given to erase_person by the caller: delivery's (delivery/forgetting.py)
deletes the ledger's rows in the same transaction, while no batch is on the wire, and then the outbox messages
meant for the person.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import Settings
from ..errors import NewsletterError
from .store import Store, email_key

REJECTS = "rejects"
CHECKPOINT_SECONDS = 10.0
_ADDRESS = re.compile(r"[^\s,;<>\"'()]+@[^\s,;<>\"'()]+")


class Forgetter(Protocol):
    """One domain's part of an erasure, in three steps around the list's own transaction."""

    def holding(self, store: Store) -> AbstractContextManager[object]:
        """Held around the transaction (through `store` where hosts share it): nothing of the domain's uses the
        person's data meanwhile."""
        ...

    def forget_rows(self, store: Store, subscriber_id: int) -> None:
        """Inside the transaction: delete the domain's rows that name the person."""
        ...

    def forget_files(self, addresses: set[str]) -> None:
        """After the commit: delete the domain's files that hold one of the person's addresses."""
        ...


@dataclass(frozen=True)
class Erased:
    """What an erasure found: whether the person was on the list, and the unfinished files holding their address
    that it removed (left by killed exports or other killed commands)."""

    found: bool
    unfinished: tuple[Path, ...] = ()


def erase_person(store: Store, settings: Settings, email: str, *, forgetters: Sequence[Forgetter]) -> Erased:
    """Delete the person's data everywhere the tool put it (the list's, and each forgetter's); keep only the keyed
    hash."""
    from .csv_import import normalize_email
    from .signups import mailbox_key
    from .tokens import erasure_hash, erasure_key

    given = email.strip()
    normalized, _ = normalize_email(given)
    key = erasure_key(settings.private_dir, store=store)
    hashed = erasure_hash(key, email_key(normalized))
    with ExitStack() as held:
        for forgetter in forgetters:
            held.enter_context(forgetter.holding(store))
        with store.transaction():
            subscriber = store.get(normalized)
            if subscriber is not None:
                for forgetter in forgetters:
                    forgetter.forget_rows(store, subscriber.id)
            store.erase(subscriber.id if subscriber else None, hashed, erasure_hash(key, mailbox_key(normalized)))
    addresses = {given, normalized, *([subscriber.email] if subscriber else [])}
    for forgetter in forgetters:
        forgetter.forget_files(addresses)
    scrub_rejects(settings.private_dir / REJECTS, addresses)
    unfinished = remove_unfinished(settings.private_dir, addresses)
    complete_checkpoint(store, seconds=CHECKPOINT_SECONDS)
    vacuum_tables(store)
    return Erased(subscriber is not None, tuple(unfinished))


def remove_unfinished(private_dir: Path, addresses: set[str]) -> list[Path]:
    """Remove the unfinished files that hold one of the addresses, left by killed exports (wherever they were
    going) and by other killed commands under `private_dir` (an import's rejects file); the files removed.
    An unfinished file is an incomplete copy: it goes whole, nothing in it is worth keeping."""
    from ..files import TEMPORARY_SUFFIX, remove_abandoned
    from .roster import remove_unfinished_exports

    wanted = [address.casefold() for address in addresses if "@" in address]

    def holds(path: Path) -> bool:
        try:
            text = path.read_bytes().decode("utf-8", "replace").replace('""', '"').casefold()
        except OSError:
            return False
        return any(address in text for address in wanted)

    removed = remove_unfinished_exports(private_dir=private_dir, only=holds)
    inside = sorted(private_dir.rglob(f"*{TEMPORARY_SUFFIX}")) if private_dir.is_dir() else []
    return removed + [path for path in inside if holds(path) and remove_abandoned(path)]


def scrub_rejects(folder: Path, addresses: set[str]) -> int:
    """Remove every row that holds one of the addresses from the CSV files in `folder`; rows removed."""
    from ..email_addresses import address_key
    from ..files import write_atomically

    if not folder.is_dir():
        return 0
    keys = {address_key(address) for address in addresses if "@" in address}
    removed = 0
    for path in sorted(folder.glob("*.csv")):
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig", "replace")
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        kept = [row for row in rows if not any(_holds(cell, keys, address_key) for cell in row)]
        if len(kept) == len(rows):
            continue
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(kept)
        write_atomically(path, (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"), private=True)
        removed += len(rows) - len(kept)
    return removed


def _holds(cell: str, keys: set[str], address_key: Callable[[str], str]) -> bool:
    return "@" in cell and any(address_key(found.lstrip("'")) in keys for found in _ADDRESS.findall(cell))


def complete_checkpoint(store: Store, *, seconds: float) -> None:
    """Fold the write-ahead log into the database file and empty it, retrying while another connection
    reads an older snapshot; an error saying so when that does not end within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        busy, log, done = store.checkpoint(wait_ms=100)  # each try waits briefly; the loop bounds the whole wait
        if busy == 0 and log == done:
            return
        if time.monotonic() > deadline:
            log_file = f"{store.path.name}-wal" if store.path else "the database's log"  # only SQLite waits here
            raise NewsletterError(
                "the person is erased from the list, but another program is reading the subscriber database, "
                f"so older copies of the deleted rows remain in {log_file} for now",
                hint="end the other mco-newsletter commands (serve, send, …), then run the same erase again "
                "to finish the job",
            )
        time.sleep(0.05)


def vacuum_tables(store: Store) -> None:
    """PostgreSQL: vacuum the tables that held the person (storage/compaction.py), or say that it could not run now
    (the person is erased all the same); nothing to do on SQLite."""
    from ..storage.compaction import vacuum

    try:
        vacuum(store.db)
    except Exception as exc:
        if not store.db.dialect.is_error(exc):
            raise
        raise NewsletterError(
            f"the person is erased from the list, but the tables that held them could not be vacuumed now "
            f"({store.db.failed(exc).message}): their deleted rows stay in the database's files until the next vacuum",
            hint="run the same erase again, or `mco-newsletter database compact` at a quiet hour",
        ) from None
