"""The storage layer on both stores: one list of migrations safe to run from several processes at once, ids
never given twice, a writer that waits for another and then says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from stores import cluster, db_rows

pytestmark = pytest.mark.stores


def test_two_processes_create_one_new_store_at_once(workspace, store_kind, settings):
    """Four processes opening a store nobody has created yet: each succeeds, the schema is made once, at the
    newest version."""
    from mco_newsletter.storage.migrate import newest

    if store_kind == "postgresql":
        instance = cluster()
        with instance.admin() as admin:
            admin.execute("CREATE DATABASE never_opened")  # not from the migrated template: empty
        url = instance.url("never_opened")
    else:
        url = str(workspace / "private" / "subscribers.sqlite3")
    opener = ("import sys; from mco_newsletter.subscribers.store import open_store; "
              "from mco_newsletter.storage.location import StoreLocation; from pathlib import Path; "
              "where = sys.argv[1]; open_store(StoreLocation(url=where) if '://' in where else Path(where)).close()")
    try:
        processes = [subprocess.Popen([sys.executable, "-c", opener, url], stderr=subprocess.PIPE, text=True)
                     for _ in range(4)]
        for process in processes:
            assert process.wait(timeout=60) == 0, process.stderr.read()
        if store_kind == "postgresql":
            from mco_newsletter.storage.database import open_database
            from mco_newsletter.storage.location import StoreLocation
            from mco_newsletter.storage.migrate import version_of

            database = open_database(StoreLocation(url=url), migrate=False)
            assert version_of(database) == newest()
            assert database.all("SELECT count(*) FROM schema_version") == [(1,)]
            database.close()
        else:
            assert db_rows(Path(url).parent.parent, "PRAGMA user_version") == [(newest(),)]
    finally:
        if store_kind == "postgresql":
            with instance.admin() as admin:
                admin.execute("DROP DATABASE never_opened WITH (FORCE)")


def test_ids_are_never_given_twice(settings):
    """A subscriber, campaign or translator id that was given once (its row since deleted) is never given again."""
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.translators import open_registry

    store = open_store(settings.store)
    try:
        with store.transaction():
            first = store.add(email="a@example.org", name=None, language="en", tags=("x",), consent_source="t")
            second = store.add(email="b@example.org", name=None, language="en", tags=(), consent_source="t")
            store.delete(second)
            third = store.add(email="b@example.org", name=None, language="en", tags=(), consent_source="t")
        assert first < second < third
    finally:
        store.close()
    registry = open_registry(settings)
    try:
        anna, _ = registry.add(name="Anna", languages=("de",))
        registry.revoke("Anna")
        again, _ = registry.add(name="Anna", languages=("de",))
        assert again.id > anna.id
    finally:
        registry.close()


def test_a_writer_waits_for_another_then_says_who_holds_the_store(settings):
    """A write transaction waits for another's (as long as the busy timeout), then fails as `locked`, not with the
    driver's words; the other's work is kept."""
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.subscribers.store import open_store

    holder = open_store(settings.store)
    waiter = open_store(settings.store, busy_timeout=0.3)
    try:
        with holder.transaction():
            holder.add(email="a@example.org", name=None, language="en", tags=(), consent_source="t")
            with pytest.raises(NewsletterError, match="the subscriber database is locked"):
                with waiter.transaction():
                    waiter.add(email="b@example.org", name=None, language="en", tags=(), consent_source="t")
        with waiter.transaction():  # free again: the waiter's connection is usable
            waiter.add(email="c@example.org", name=None, language="en", tags=(), consent_source="t")
    finally:
        holder.close()
        waiter.close()
    assert db_rows(settings, "SELECT email FROM subscribers ORDER BY id") == [("a@example.org",), ("c@example.org",)]


def test_a_campaign_the_ledger_names_is_never_deleted(settings):
    """A campaign whose ledger rows exist cannot be deleted nor given another id, on either store (SQLite's foreign
    key; on PostgreSQL, where that key's check per row halved a campaign's making, a trigger); a campaign without
    rows can be."""
    from mco_newsletter.subscribers.store import open_store

    store = open_store(settings.store)
    try:
        db = store.db
        with store.transaction():
            reader = store.add(email="a@example.org", name=None, language="en", tags=(), consent_source="test")
            kept, empty = (db.execute("INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at)"
                                      " VALUES (?, 'all', '{}', '2026-01-01') RETURNING id", (issue,)).fetchone()[0]
                           for issue in ("2024-05", "2024-06"))
            db.execute("INSERT INTO deliveries (campaign_id, subscriber_id, language) VALUES (?, ?, 'en')",
                       (kept, reader))
        for statement in ("DELETE FROM campaigns WHERE id = ?", "UPDATE campaigns SET id = id + 100 WHERE id = ?"):
            with pytest.raises(Exception) as refused:
                db.execute(statement, (kept,))
            said = str(refused.value).lower()
            assert db.dialect.is_error(refused.value) and ("foreign key" in said or "ledger" in said), said
        assert db.execute("DELETE FROM campaigns WHERE id = ?", (empty,)).rowcount == 1
        assert db.all("SELECT id FROM campaigns") == [(kept,)]
        assert db.all("SELECT campaign_id FROM deliveries") == [(kept,)]
        if db.kind == "postgresql":  # the trigger, not the key
            assert db.all("SELECT count(*) FROM pg_constraint WHERE conrelid = 'deliveries'::regclass"
                          " AND contype = 'f'") == [(0,)]
    finally:
        store.close()

