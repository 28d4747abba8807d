"""The bounce mailbox as stored: a Maildir folder, an mbox file, or a folder on an IMAP server (bounces/imap.py;
processing.py opens the one [bounces] names).

Each gives its messages as bytes (None for one that cannot be read: it stays where it is) and moves the
messages it is told were handled into the `processed` folder, never deleting anything:

- Maildir: the Maildir++ folder `.processed` inside it (what Dovecot and Courier show as a folder), each message
  renamed into its cur/ marked seen: one rename, on the same disk;
- mbox: the mbox file `<name>.processed` beside it, written and flushed before the messages leave the inbox,
  all under the mbox's locks (fcntl and dot-lock, as Debian's mail delivery takes them), held for the whole run;
- IMAP: the folder `processed` on the server (MOVE, or COPY then \\Deleted).
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, Protocol

from ..errors import NewsletterError


class Stored(NamedTuple):
    """One message: its key in the mailbox, and its bytes (None: it could not be read)."""

    key: str
    raw: bytes | None


class Messages(Protocol):
    """A mailbox opened for one run."""

    def messages(self) -> Iterator[Stored]: ...

    def move_processed(self, keys: list[str]) -> int: ...

    def close(self) -> None: ...


class MaildirBox:
    """A Maildir: the messages in new/ and cur/, oldest name first."""

    def __init__(self, path: Path, processed: str) -> None:
        if not all((path / part).is_dir() for part in ("new", "cur", "tmp")):
            raise NewsletterError(
                f"{path} is not a Maildir folder (it needs new/, cur/ and tmp/)",
                hint="check [bounces] mailbox; for a single mail file write mbox:PATH",
            )
        self.path = path
        self.processed = path / f".{processed}"

    def messages(self) -> Iterator[Stored]:
        for part in ("new", "cur"):
            for name in sorted(os.listdir(self.path / part)):
                if name.startswith("."):
                    continue
                key = f"{part}/{name}"
                try:
                    yield Stored(key, (self.path / key).read_bytes())
                except OSError:
                    yield Stored(key, None)

    def move_processed(self, keys: list[str]) -> int:
        if not keys:
            return 0
        for part in ("new", "cur", "tmp"):
            (self.processed / part).mkdir(parents=True, exist_ok=True)
        (self.processed / "maildirfolder").touch()  # Maildir++: this is a folder of the Maildir above
        moved = 0
        for key in keys:
            name = key.split("/", 1)[1]
            unique, _, info = name.partition(":2,")
            flags = "".join(sorted(set(info) | {"S"}))  # seen: handled by the tool
            try:
                os.rename(self.path / key, self.processed / "cur" / f"{unique}:2,{flags}")
            except FileNotFoundError:
                continue  # moved (or deleted) by someone else meanwhile
            moved += 1
        return moved

    def close(self) -> None:
        pass


class MboxBox:
    """An mbox file, locked from opening to closing so that its keys stay valid (and the mail system waits)."""

    def __init__(self, path: Path, processed: str) -> None:
        if not path.is_file():
            raise NewsletterError(
                f"{path} is not an mbox file", hint="check [bounces] mailbox; for a Maildir folder write maildir:PATH"
            )
        self.path = path
        self.processed_path = path.with_name(f"{path.name}.{processed}")
        self.box = mailbox.mbox(path, create=False)
        try:
            self.box.lock()
        except mailbox.ExternalClashError:
            raise NewsletterError(
                f"{path} is locked by another program (the mail system delivering, or a mail client)",
                hint="run `mco-newsletter bounces` again in a minute; nothing was changed",
            ) from None

    def messages(self) -> Iterator[Stored]:
        for key in self.box.iterkeys():
            try:
                yield Stored(str(key), self.box.get_bytes(key))
            except (OSError, ValueError):
                yield Stored(str(key), None)

    def move_processed(self, keys: list[str]) -> int:
        if not keys:
            return 0
        processed = mailbox.mbox(self.processed_path, create=True)
        processed.lock()
        try:
            for key in keys:
                processed.add(self.box.get_message(int(key)))  # type: ignore[arg-type]  # an mbox's keys are ints
            processed.flush()  # synced before the inbox lets them go: a crash between leaves two copies, not none
        finally:
            processed.unlock()
            processed.close()
        for key in keys:
            self.box.remove(int(key))  # type: ignore[arg-type]  # typeshed types every mailbox's keys as str
        self.box.flush()
        return len(keys)

    def close(self) -> None:
        try:
            self.box.unlock()
        finally:
            self.box.close()
