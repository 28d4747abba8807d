"""The statements of web sign-up (subscribers/signups.py, subscribers/signup_queue.py): sign-ups as they arrived,
the requests waiting for their confirmation, and the mail log that keeps sign-up and subject-access emails to one
an hour per mailbox."""

from __future__ import annotations

from .database import Database

# pg_advisory_xact_lock(STORE_LOCKS, MAIL_CEILING_LOCK): replicas count sign-up emails for the ceiling one at a time.
MAIL_CEILING_LOCK = 102


class SignupRequests:
    """signup_requests: one per sign-up that was mailed, what was asked with it, until it expires."""

    COLUMNS = "id, subscriber_id, language, name, topics, nonce, requested_at, expires_at, confirmed_at"

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        subscriber_id: int,
        *,
        language: str,
        name: str | None,
        topics: str,
        nonce: bytes,
        requested_at: str,
        expires_at: str,
    ) -> int:
        """A new request of the subscriber; its id (what its confirmation link names)."""
        return self.db.value(
            "INSERT INTO signup_requests (subscriber_id, language, name, topics, nonce, requested_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (subscriber_id, language, name, topics, nonce, requested_at, expires_at),
        )

    def get(self, request_id: int) -> tuple | None:
        """(id, subscriber id, language, name, topics JSON, nonce, requested at, expires at, confirmed at), or None."""
        return self._row(self.db.one(f"SELECT {self.COLUMNS} FROM signup_requests WHERE id = ?", (request_id,)))

    def newest_of(self, subscriber_id: int) -> tuple | None:
        """The subscriber's newest request (as get gives it), or None."""
        return self._row(
            self.db.one(
                f"SELECT {self.COLUMNS} FROM signup_requests WHERE subscriber_id = ? ORDER BY id DESC LIMIT 1",
                (subscriber_id,),
            )
        )

    def nonce(self, request_id: int) -> bytes | None:
        value = self.db.value("SELECT nonce FROM signup_requests WHERE id = ?", (request_id,))
        return None if value is None else bytes(value)

    def confirmed(self, subscriber_id: int, at: str) -> None:
        """Every open request of the subscriber is settled: it keeps only that (and its expiry), not the choices."""
        self.db.execute(
            "UPDATE signup_requests SET confirmed_at = ?, name = NULL, topics = '[]'"
            " WHERE subscriber_id = ? AND confirmed_at IS NULL",
            (at, subscriber_id),
        )

    def purge(self, at: str) -> int:
        """Delete the requests that expired by `at`; how many."""
        return self.db.execute("DELETE FROM signup_requests WHERE expires_at <= ?", (at,)).rowcount

    @staticmethod
    def _row(row) -> tuple | None:
        return None if row is None else (*row[:5], bytes(row[5]), *row[6:])


class SignupQueue:
    """signup_queue: sign-ups as they arrived, until they are worked through (subscribers/signup_queue.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, *, email: str, language: str, name: str | None, topics: str, address_hash: str, received_at: str
    ) -> int:
        return self.db.value(
            "INSERT INTO signup_queue (email, language, name, topics, hash, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (email, language, name, topics, address_hash, received_at),
        )

    def ids(self) -> list[int]:
        """The sign-ups still waiting, oldest first."""
        return [row_id for (row_id,) in self.db.all("SELECT id FROM signup_queue ORDER BY id")]

    def take(self, queue_id: int) -> tuple | None:
        """(email, language, name, topics JSON, received at) of a waiting sign-up, deleted; None when it is gone
        (one statement: of two replicas working the same sign-up through, one gets it)."""
        return self.db.one(
            "DELETE FROM signup_queue WHERE id = ? RETURNING email, language, name, topics, received_at", (queue_id,)
        )

    def forget(self, address_hash: str) -> None:
        """An erasure: the address's sign-ups still waiting go."""
        self.db.execute("DELETE FROM signup_queue WHERE hash = ?", (address_hash,))


class MailLog:
    """mail_log: when the last email of a kind went to an address, by the keyed hash of the address."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def last(self, address_hash: str, kind: str) -> int | None:
        """When (Unix time) the last email of this kind went to the address, or None."""
        return self.db.value("SELECT sent_at FROM mail_log WHERE hash = ? AND kind = ?", (address_hash, kind))

    def claim(self, address_hash: str, kind: str, at: int, *, since: int) -> bool:
        """Note an email of this kind to the address at `at` unless one was noted after `since` (Unix times); whether
        it was noted. One statement, so that two connections claiming the same address at once cannot both win."""
        return (
            self.db.one(
                "INSERT INTO mail_log AS log (hash, kind, sent_at) VALUES (?, ?, ?)"
                " ON CONFLICT (hash, kind) DO UPDATE SET sent_at = excluded.sent_at"
                " WHERE log.sent_at <= ? RETURNING sent_at",
                (address_hash, kind, at, since),
            )
            is not None
        )

    def unclaim(self, claims: list[tuple[str, str, int]]) -> None:
        """Take back notes (address hash, kind, time noted) of emails that did not go out; a later note stays."""
        self.db.executemany("DELETE FROM mail_log WHERE hash = ? AND kind = ? AND sent_at = ?", claims)

    def count_since(self, kind: str, since: int) -> int:
        """How many addresses had an email of this kind noted after `since` (Unix time). On PostgreSQL this takes a
        lock of its own until the transaction ends, so that replicas counting for a ceiling count one at a time
        (SQLite's transactions are one at a time already)."""
        if self.db.kind == "postgresql":
            from .postgresql import STORE_LOCKS

            self.db.execute("SELECT pg_advisory_xact_lock(?, ?)", (STORE_LOCKS, MAIL_CEILING_LOCK))
        return self.db.value("SELECT count(*) FROM mail_log WHERE kind = ? AND sent_at > ?", (kind, since))

    def purge(self, before: int) -> None:
        """Forget the emails sent at or before `before` (Unix time)."""
        self.db.execute("DELETE FROM mail_log WHERE sent_at <= ?", (before,))

    def forget(self, *hashes: str) -> None:
        """An erasure: the notes of the address (and of its mailbox) go."""
        self.db.execute(f"DELETE FROM mail_log WHERE hash IN ({', '.join('?' * len(hashes))})", hashes)
