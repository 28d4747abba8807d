"""The send claim and the transmission window on a PostgreSQL store: the same rules as the flock files of
delivery/locks.py, for senders and erasures on any host that uses the store.

A claim is an advisory lock held by a session of its own (storage/advisory.py) for the whole send, and a row in
`send_claims` saying who holds it (host, process, segment, start), written once the lock is ours: a second
sender names the holder, or waits with --wait and takes over the moment the holder's connection closes (a killed
process's at once). The window is a shared advisory lock taken on the same session for each batch, behind a
gate an erasure closes; `subscribers erase` takes both exclusively, so it returns only when no message to that
reader can still go out from any host. A batch that finds the claim's session gone stops the send: another
sender may have taken over.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import NewsletterError
from ..storage.advisory import GATE, WINDOW, ClaimHolder, Session, claim_key, store_key
from ..storage.location import StoreLocation

POLL_SECONDS = 0.02
INCOMPLETE = 3  # the send's exit code for "rerun to resume"


def host_name() -> str:
    return socket.gethostname() or "an unnamed host"


def described(holder: ClaimHolder | None) -> str:
    """The holder as a second sender names it."""
    if holder is None:
        return "a process that is just starting"
    since = holder.started_at[11:19] if len(holder.started_at) >= 19 else holder.started_at
    return f"pid {holder.pid} on {holder.host}, segment '{holder.segment}', since {since} UTC"


class SharedClaim:
    """This process's right to send one issue, on every host of the store; released by release() or by the end of
    its session (the process's death included)."""

    def __init__(self, session: Session, issue_id: str):
        self.session: Session | None = session  # None once released
        self.issue_id = issue_id

    @classmethod
    def take(
        cls,
        location: StoreLocation,
        issue_id: str,
        *,
        segment: str,
        wait: bool = False,
        waiting: Callable[[str], None] = lambda holder: None,
    ) -> SharedClaim:
        """Claim the issue, or refuse naming the process that holds it (wait for it with `wait`)."""
        session = Session.open(location)
        try:
            key = claim_key(issue_id)
            if not session.try_lock(key):
                holder = described(_holder(session, issue_id))
                if not wait:
                    raise NewsletterError(
                        f"another send of {issue_id} is running ({holder})",
                        hint="let it finish (or stop it), or add --wait to start when it ends",
                    )
                waiting(holder)
                session.lock(key)  # returns the moment the holder's session ends
            session.record_claim(issue_id=issue_id, segment=segment, host=host_name(), pid=os.getpid())
        except BaseException:
            session.close()
            raise
        return cls(session, issue_id)

    def transmissions(self) -> SharedTransmissions:
        if self.session is None:
            raise RuntimeError(f"the claim on {self.issue_id} was released already")
        return SharedTransmissions(self.session)

    def release(self) -> None:
        if self.session is not None:
            try:
                self.session.forget_claim(self.issue_id)
            except Exception as exc:  # noqa: BLE001 — a lost session has released the claim already
                if not self.session.db.dialect.is_error(exc):
                    raise
            finally:
                self.session.close()
                self.session = None


def _holder(session: Session, issue_id: str) -> ClaimHolder | None:
    # The holder writes who it is just after taking the lock: give it a moment to do so.
    for _ in range(25):
        holder = session.claim_holder(issue_id)
        if holder is not None:
            return holder
        time.sleep(POLL_SECONDS)
    return None


class SharedTransmissions:
    """The sender's side of the transmission window, on its claim's session."""

    def __init__(self, session: Session):
        self.session = session

    @contextmanager
    def window(self) -> Iterator[None]:
        """Held while a batch's readers are checked and sent: an erasure on any host waits until it ends."""
        try:
            self.session.lock(store_key(GATE), shared=True)  # waits while an erasure holds the gate
            try:
                self.session.lock(store_key(WINDOW), shared=True)
            finally:
                self.session.unlock(store_key(GATE), shared=True)
        except Exception as exc:  # noqa: BLE001 — raised again: as a lost claim when it is the driver's
            raise _lost(self.session, exc) from None
        try:
            yield
        finally:
            try:
                self.session.unlock(store_key(WINDOW), shared=True)
            except Exception as exc:  # noqa: BLE001 — a lost session holds nothing any more
                if not self.session.db.dialect.is_error(exc):
                    raise

    def close(self) -> None:
        """The session is the claim's: it ends with the claim."""


def _lost(session: Session, exc: BaseException) -> BaseException:
    if not session.db.dialect.is_error(exc):
        return exc
    return NewsletterError(
        "the connection to the database that holds this send's claim was lost, so another "
        "sender may have taken over: stopped before the next batch",
        hint="run the same command again to resume (nothing of that batch was sent)",
        exit_code=INCOMPLETE,
    )


@contextmanager
def shared_pause(
    location: StoreLocation,
    *,
    timeout: float,
    waiting: Callable[[], None] = lambda: None,
) -> Iterator[None]:
    """No batch is on the wire on any host while the block runs, and none starts (every sender waits at the gate)."""
    session = Session.open(location)
    try:
        deadline = time.monotonic() + timeout
        told = False
        for key in (store_key(GATE), store_key(WINDOW)):
            if session.try_lock(key):
                continue
            if not told:
                waiting()
                told = True
            # Queued behind the batches on the wire; senders asking after us queue behind us.
            if not session.lock(key, timeout=max(0.001, deadline - time.monotonic())):
                raise NewsletterError(
                    "a send in progress did not finish its current batch in time; nothing was erased",
                    hint="run the same command again (or stop the send first)",
                )
        yield
    finally:
        session.close()  # the server releases both locks
