"""What an erasure leaves in the store's files. On PostgreSQL (a cluster of this test's own, durable as deployed, so
that no other test's writes move its write-ahead log): no query finds the address after `erase`, the planner's
statistics included; the table's file still holds its bytes after the erasure's VACUUM, and after `database compact`
no file of the database does; the server's write-ahead log still holds them, as docs/subscribers.md says. On both
stores `database compact` reports what it did."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from postgres_cluster import DURABLE_OPTIONS, Cluster, server_bin
from stores import db_rows

TABLES = ("subscribers", "subscriber_tags", "signup_requests", "signup_queue", "mail_log", "deliveries", "erased")


@pytest.fixture
def own_cluster(monkeypatch):
    """A PostgreSQL cluster for this test alone, with the store's database; MCO_NEWSLETTER_DB names it."""
    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (./test installs Debian's postgresql)")
    if os.geteuid() != 0:
        pytest.skip("the cluster's files belong to the postgres user: reading them needs root")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="mco-erasure-pg-")))
    try:
        cluster.start(DURABLE_OPTIONS)
        with cluster.admin() as admin:
            admin.execute("CREATE DATABASE news")
        monkeypatch.setenv("MCO_NEWSLETTER_DB", cluster.url("news"))
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.folder, ignore_errors=True)


def holding(paths, *needles: bytes) -> list[Path]:
    """The files among `paths` that hold any of the needles."""
    found = []
    for path in paths:
        if path.is_file():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                found.append(path)
    return found


def relation_files(cluster: Cluster, admin, tables) -> list[Path]:
    """Every file of these tables, their indexes and their TOAST tables (pg_relation_filepath; segments .1… too)."""
    relations = admin.execute(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid = ANY(%(t)s::regclass[])"
        " OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ANY(%(t)s::regclass[]))"
        " OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE oid = ANY(%(t)s::regclass[]))",
        {"t": list(tables)}).fetchall()
    files = []
    for (relative,) in relations:
        if relative:
            main = cluster.data / relative
            files += [main, *main.parent.glob(f"{main.name}.*"), *main.parent.glob(f"{main.name}_*")]
    return files


def test_compact_leaves_no_byte_of_an_erased_address_in_the_database_files(run, workspace, own_cluster):
    """Three readers imported, the last erased: from then on no query finds the address (nor its name), not even
    pg_stats; the erasure vacuums the tables that held them, which leaves the bytes in the subscribers table's file
    (why `database compact` exists);
    after `database compact` no file of the database holds them, while pg_wal still does, through a checkpoint."""
    secret = f"secret.{secrets.token_hex(4)}@example.org"
    needles = (secret.encode(), b"Secret Person")
    path = workspace / "in.csv"
    path.write_text("email,name,language,tags\nanna@example.org,Anna,ru,russia\nboris@example.org,Boris,de,press\n"
                    f"{secret},Secret Person,ru,russia|donor\n", encoding="utf-8")
    assert run("keys", "init").exit_code == 0  # a shared store's keys are made on purpose, never on first use
    assert run("subscribers", "import", str(path)).exit_code == 0
    admin, store = own_cluster.admin(), _connect(own_cluster)
    admin.execute("CHECKPOINT")
    database = (own_cluster.data / store.execute("SELECT pg_relation_filepath('pg_class')").fetchone()[0]).parent
    files = relation_files(own_cluster, store, TABLES)
    assert holding(files, *needles), "the address never reached the table's files: the test would prove nothing"

    assert run("subscribers", "erase", secret, "--yes").stdout.startswith("Erased.")
    vacuumed = {name for (name,) in store.execute("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT"
                                                   " NULL").fetchall()}
    assert vacuumed >= set(TABLES) - {"erased"}  # by the erasure (autovacuum's runs are last_autovacuum)
    for table in TABLES:
        assert secret not in repr(db_rows(workspace, f"SELECT * FROM {table}")).lower()
    statistics = db_rows(workspace, "SELECT * FROM pg_stats WHERE schemaname = current_schema()")
    assert statistics and not any(needle.decode() in repr(statistics) for needle in needles)
    admin.execute("CHECKPOINT")
    [(heap,)] = store.execute("SELECT pg_relation_filepath('subscribers')").fetchall()
    assert own_cluster.data / heap in holding(relation_files(own_cluster, store, TABLES), *needles)

    compacted = run("database", "compact")
    assert compacted.exit_code == 0, compacted.output
    assert "subscribers" in compacted.stdout and "1 erasure in all" in compacted.stdout
    admin.execute("CHECKPOINT")
    assert holding(relation_files(own_cluster, store, TABLES), *needles) == []
    assert holding(database.rglob("*"), *needles) == []  # no file of the database: tables, indexes, catalogs

    # What docs/subscribers.md says stays: the write-ahead log. A checkpoint recycles a segment (renames it for later
    # use) without wiping it; its bytes go when new WAL is written over it, or with the segment.
    wal = own_cluster.data / "pg_wal"
    assert holding(wal.iterdir(), *needles)
    admin.execute("SELECT pg_switch_wal()")
    admin.execute("CHECKPOINT")
    admin.execute("CHECKPOINT")
    assert holding(wal.iterdir(), *needles)
    store.close()
    admin.close()


def _connect(cluster: Cluster):
    import psycopg

    return psycopg.connect(cluster.url("news"), autocommit=True)


@pytest.mark.stores
def test_compact_says_what_it_did(run, workspace, store_kind):
    """`database compact` names what it rewrote and the erasures since the previous compaction, as text and JSON; the
    store works as before."""
    path = workspace / "in.csv"
    path.write_text("email,language\na@example.org,en\nb@example.org,de\n", encoding="utf-8")
    assert run("subscribers", "import", str(path)).exit_code == 0
    assert run("subscribers", "erase", "a@example.org", "--yes").exit_code == 0
    first = run("database", "compact")
    assert first.exit_code == 0, first.output
    assert "1 erasure in all" in first.stdout
    second = json.loads(run("database", "compact", "--json").stdout)
    assert second["store"] == store_kind and second["erasures_since_previous"] == 0
    assert second["previous_compaction"] and all(t["bytes_after"] > 0 for t in second["tables"])
    tables = {t["table"] for t in second["tables"]}
    assert tables >= {"subscribers", "deliveries", "signup_queue"} if store_kind == "postgresql" else tables
    assert run("subscribers", "list", "--json").stdout.count("b@example.org") == 1
