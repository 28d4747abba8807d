"""When `serve`'s periodic purges last ran, so that several replicas on one store run each once per period between
them: the time of each chore's last run is kept in `meta`, and on PostgreSQL one connection at a time decides
(pg_try_advisory_xact_lock: a replica that finds another deciding skips the round instead of waiting for it)."""

from __future__ import annotations

from .database import Database

# pg_try_advisory_xact_lock(STORE_LOCKS, CHORES_LOCK): one replica at a time decides whether a chore is due.
CHORES_LOCK = 103


class Chores:
    """The last runs of the periodic chores, in the caller's transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, chore: str, *, every: float, at: float) -> bool:
        """Whether the chore is due (its last run was `every` seconds or more before `at`, Unix time) and this
        transaction is the one to run it: then it is noted as run at `at`, and the caller runs it before
        committing (a rollback takes the note back with the work)."""
        if self.db.kind == "postgresql":
            from .postgresql import STORE_LOCKS

            if not self.db.value("SELECT pg_try_advisory_xact_lock(?, ?)", (STORE_LOCKS, CHORES_LOCK)):
                return False  # another replica decides this round
        key = f"chore:{chore}"
        last = self.db.value("SELECT value FROM meta WHERE key = ?", (key,))
        if last is not None and float(last) > at - every:
            return False
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(int(at))),
        )
        return True
