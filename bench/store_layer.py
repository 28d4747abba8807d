"""The storage layer (a small dialect object over sqlite3 and psycopg 3) against SQLAlchemy Core, on the hot paths,
on SQLite and on PostgreSQL: what choosing the well-kept layer would cost.

Run from the repository: python bench/store_layer.py [--readers 100000] [--rounds 3]   (needs `pip install
sqlalchemy`, not a dependency of the tool, and Debian's postgresql: a throwaway cluster is started in a temporary
folder, durable as deployed, on a Unix socket only.)

Paths, each timed on both layers against the same store, alternating, best of the rounds:
- mark_sent of one row ×10,000: each its own commit, as the SMTP sender records every accepted message
  (Ledger.mark_sent; SQLAlchemy: an UPDATE expression in an autocommit connection);
- a 1,000-row batch update ×10: one transaction each (Ledger.mark(ids, "sending"); SQLAlchemy: an expanding IN);
- reading 100,000 subscribers: (id, email, language) of the active ones in id order, streamed (Store.recipients;
  SQLAlchemy: stream_results with yield_per 1,000).
Commits are synced as `send` has them (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off).
"""

from __future__ import annotations

import argparse
import platform
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from mco_newsletter.delivery.ledger import Ledger  # noqa: E402
from mco_newsletter.storage.location import StoreLocation  # noqa: E402
from mco_newsletter.subscribers.segments import Segment  # noqa: E402
from mco_newsletter.subscribers.store import open_store  # noqa: E402

ONE_BY_ONE = 10_000
BATCH, BATCHES = 1_000, 10


def fill(store, readers: int) -> list[int]:
    """`readers` active subscribers and a campaign with a pending row for each; the row ids."""
    at = "2026-12-01T00:00:00+00:00"
    with store.transaction() as db:
        db.executemany("INSERT INTO subscribers (email, email_key, language, status, consent_source, consent_at,"
                       " created_at, updated_at, nonce) VALUES (?, ?, ?, 'active', 'bench', ?, ?, ?, ?)",
                       [(f"reader{i}@example.org", f"reader{i}@example.org", ("en", "de", "ru")[i % 3], at, at, at,
                         secrets.token_bytes(16)) for i in range(readers)])
        db.execute("INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES ('b', 'all', '{}', ?)",
                   (at,))
        db.execute("INSERT INTO deliveries (campaign_id, subscriber_id, language, updated_at)"
                   " SELECT 1, id, language, ? FROM subscribers ORDER BY id", (at,))
    return [row_id for (row_id,) in store.db.all("SELECT id FROM deliveries ORDER BY id")]


def reset(store) -> None:
    with store.transaction() as db:
        db.execute("UPDATE deliveries SET state = 'pending', provider_id = NULL")


def layer_paths(store):
    ledger = Ledger(store)

    def one_by_one(ids):
        for row_id in ids:
            ledger.mark_sent([(row_id, None)])

    def batches(ids):
        for start in range(0, len(ids), BATCH):
            ledger.mark(ids[start:start + BATCH], "sending")

    def read():
        return sum(1 for _ in store.recipients(Segment("all")))

    return one_by_one, batches, read


def alchemy_paths(location: StoreLocation):
    from sqlalchemy import (Column, Integer, LargeBinary, MetaData, String, Table, bindparam, create_engine, event,
                            select, update)

    if location.kind == "sqlite":
        url = f"sqlite:///{location.path}"
    else:
        url = location.url.replace("postgresql://", "postgresql+psycopg://", 1)
    if location.kind == "sqlite":
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def settings(connection, record):
            for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "busy_timeout = 30000"):
                connection.execute(f"PRAGMA {pragma}")
    else:
        engine = create_engine(url, connect_args={"options": "-c synchronous_commit=off"})
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    meta = MetaData()
    deliveries = Table("deliveries", meta, Column("id", Integer, primary_key=True), Column("state", String),
                       Column("attempts", Integer), Column("last_error", String), Column("provider_id", String),
                       Column("updated_at", String))
    subscribers = Table("subscribers", meta, Column("id", Integer, primary_key=True), Column("email", String),
                        Column("language", String), Column("status", String), Column("nonce", LargeBinary))
    sent = update(deliveries).where(deliveries.c.id == bindparam("row")).values(
        state="sent", last_error=None, provider_id=bindparam("provider"), updated_at=bindparam("at"))
    marked = update(deliveries).where(deliveries.c.id.in_(bindparam("rows", expanding=True))).values(
        state="sending", attempts=deliveries.c.attempts + 1, last_error=None, updated_at=bindparam("at"))
    active = select(subscribers.c.id, subscribers.c.email, subscribers.c.language).where(
        subscribers.c.status == "active").order_by(subscribers.c.id)

    def one_by_one(ids):
        with autocommit.connect() as connection:
            for row_id in ids:
                connection.execute(sent, {"row": row_id, "provider": None, "at": "2026-12-01T00:00:01+00:00"})

    def batches(ids):
        with engine.connect() as connection:
            for start in range(0, len(ids), BATCH):
                with connection.begin():
                    connection.execute(marked, {"rows": ids[start:start + BATCH], "at": "2026-12-01T00:00:01+00:00"})

    def read():
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=1000).execute(active)
            return sum(1 for _ in result)

    return (one_by_one, batches, read), engine


def measure(location: StoreLocation, readers: int, rounds: int) -> list[tuple[str, float, float]]:
    store = open_store(location, durable_commits=False)
    ids = fill(store, readers)
    ours = layer_paths(store)
    theirs, engine = alchemy_paths(location)
    names = (f"mark_sent 1 row ×{ONE_BY_ONE:,}", f"batch update {BATCH:,} rows ×{BATCHES}",
             f"read {readers:,} subscribers")
    work = (ids[:ONE_BY_ONE], ids[:BATCH * BATCHES], None)
    best = {(name, who): float("inf") for name in names for who in ("layer", "alchemy")}
    for _ in range(rounds):
        for who, paths in (("layer", ours), ("alchemy", theirs)):
            for name, path, argument in zip(names, paths, work):
                reset(store)
                started = time.perf_counter()
                counted = path(argument) if argument is not None else path()
                elapsed = time.perf_counter() - started
                if argument is None:
                    assert counted == readers, counted
                best[name, who] = min(best[name, who], elapsed)
    engine.dispose()
    store.close()
    return [(name, best[name, "layer"], best[name, "alchemy"]) for name in names]


def main() -> None:
    import sqlalchemy
    from postgres_cluster import DURABLE_OPTIONS, Cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import psycopg
    import sqlite3

    print(f"machine: {platform.node()} {platform.machine()} · Python {platform.python_version()} · SQLite "
          f"{sqlite3.sqlite_version} · psycopg {psycopg.__version__} · SQLAlchemy {sqlalchemy.__version__}")
    with tempfile.TemporaryDirectory(prefix="mco-bench-store-") as folder:
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="mco-bench-pg-")))  # its own: the server's user enters it
        cluster.start(DURABLE_OPTIONS)
        try:
            with cluster.admin() as admin:
                admin.execute("CREATE DATABASE bench")
                version = admin.execute("SHOW server_version").fetchone()[0]
            print(f"PostgreSQL {version} (fsync on, Unix socket), {args.rounds} rounds, best of each")
            stores = (("SQLite", StoreLocation(path=Path(folder) / "bench.sqlite3")),
                      ("PostgreSQL", StoreLocation(url=cluster.url("bench"))))
            print(f"{'store':<11} {'path':<34} {'layer':>10} {'SQLAlchemy':>11} {'SQLAlchemy/layer':>17}")
            for label, location in stores:
                for name, ours, theirs in measure(location, args.readers, args.rounds):
                    print(f"{label:<11} {name:<34} {ours:>9.3f}s {theirs:>10.3f}s {theirs / ours:>16.2f}×")
        finally:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
