"""`database copy` and `database status`: an SQLite store with every kind of row (an erased person, a pending
sign-up, a half-sent campaign, webhook events, translators) carried into an empty PostgreSQL database, verified,
and used from there: the same ids and links, no id given again, the campaign resumed where it stood."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter

import pytest
from reader_pages import add_topics
from stores import cluster, db_rows

from test_send import configure, outbox_recipients, populate

SIGNED_UP_AT = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)


def every_kind_of_row(workspace, run) -> dict:
    """Fill the workspace's SQLite store: readers of every status with tags, a pending sign-up and its mail log, a
    sign-up still queued, an erased reader (the highest id, so only the counter remembers it), translators (one
    revoked), a campaign of 2024-05 half sent (sent, in flight, refused, failed and pending rows), webhook events (one
    tallied for the campaign, one naming no delivery), a scheduled send."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.delivery.campaign import edition_map, snapshot
    from mco_newsletter.delivery.ledger import Ledger
    from mco_newsletter.subscribers.segments import Segment
    from mco_newsletter.subscribers.signup_queue import queue_signup
    from mco_newsletter.subscribers.signups import Keys, SignupForm, request_signup
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import erasure_key, unsubscribe_secret
    from mco_newsletter.translators import open_registry
    from mco_newsletter.web.events import apply_events
    from mco_newsletter.workspace import load_issue

    configure(workspace)
    add_topics(workspace)
    addresses = populate(workspace, 12)
    assert run("subscribers", "add", "Ärger.Zoë@example.org", "--language", "de", "--name", "Зоя «Ärger»",
               "--tag", "B-tag", "--tag", "a-tag").exit_code == 0
    assert run("subscribers", "unsubscribe", addresses[1]).exit_code == 0
    settings = load_settings(workspace)
    registry = open_registry(settings)
    registry.add(name="Anna", languages=("de",), email="anna@example.org")
    registry.add(name="Boris", languages=("ru",))
    registry.revoke("Boris")
    registry.close()
    store = open_store(settings.store)
    keys = Keys(unsubscribe_secret(settings.private_dir), erasure_key(settings.private_dir))
    with store.transaction():
        store.set_status(store.id_of(addresses[2]), "bounced")
        store.set_status(store.id_of(addresses[3]), "complained")
        request_signup(store, SignupForm("pending@example.org", "ru", "Петя", ("courts",)), keys=keys, confirm_days=7,
                       at=SIGNED_UP_AT)  # its email claimed in the mail log
        queue_signup(store, SignupForm("queued@example.org", "de", None, ()),
                     address_hash=keys.address_hash("queued@example.org"), at=SIGNED_UP_AT)
    ledger = Ledger(store)
    issue = load_issue(settings, "2024-05")
    campaign = ledger.create(issue_id=issue.id, segment=Segment("all"), editions=edition_map(settings, issue),
                             fallback="en", snapshot=snapshot(settings, "outbox"))
    rows = [row_id for (row_id,) in store.db.all("SELECT id FROM deliveries ORDER BY id")]
    ledger.mark_sent([(rows[0], "sg-1"), (rows[1], "sg-1"), (rows[2], "sg-2")])
    ledger.mark([rows[3]], "sending")
    ledger.refuse(rows[4], "550 no such user", bounce=True)
    ledger.mark([rows[5]], "failed", error="451 try later")
    store.close()
    events = [{"sg_event_id": "ev-1", "event": "delivered", "email": addresses[0], "campaign": str(campaign.id),
               "delivery": str(rows[0])},
              {"sg_event_id": "ev-2", "event": "spamreport", "email": addresses[0], "campaign": str(campaign.id),
               "delivery": str(rows[0])},
              {"sg_event_id": "ev-3", "event": "bounce", "email": "stranger@example.org"}]
    store = open_store(settings.store)
    apply_events(store, events)
    store.close()
    assert run("send", "2023-12", "--segment", "all", "--at", "2031-06-03 08:00", "--yes").exit_code == 0
    assert run("subscribers", "add", "last@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "erase", "last@example.org", "--yes").exit_code == 0
    return {"settings": settings, "addresses": addresses, "rows": rows, "keys": keys}


def sqlite_tables(path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table of the SQLite file: its columns, and every row as Python sees it (sorted)."""
    with sqlite3.connect(path) as db:
        names = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                " AND name NOT LIKE 'sqlite_%'")]
        tables = {}
        for name in names:
            cursor = db.execute(f"SELECT * FROM {name}")
            tables[name] = ([column[0] for column in cursor.description], sorted(map(tuple, cursor), key=repr))
        return tables


def postgres_tables(url, like: dict) -> dict[str, tuple[list[str], list[tuple]]]:
    """The same tables of the PostgreSQL database, their columns in the SQLite file's order."""
    import psycopg

    with psycopg.connect(url) as db:
        return {name: (columns, sorted((tuple(row) for row in db.execute(f"SELECT {', '.join(columns)} FROM {name}")),
                                       key=repr)) for name, (columns, _) in like.items()}


@pytest.fixture
def target():
    """An empty PostgreSQL database whose collation orders text unlike SQLite (ICU, en-US): 'a' before 'B'."""
    instance = cluster()
    with instance.admin() as admin:
        admin.execute("CREATE DATABASE copy_target TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu"
                      " ICU_LOCALE 'en-US' LOCALE 'C'")
    yield instance.url("copy_target")
    with instance.admin() as admin:
        admin.execute("DROP DATABASE copy_target WITH (FORCE)")


def test_copy_carries_every_row_and_the_store_works_from_there(workspace, run, target, monkeypatch):
    """Every table arrives whole (each value as SQLite held it); the summary names them; then, on PostgreSQL, an old
    link opens its reader, no id is given again (not even the erased reader's), and the half-sent campaign sends
    exactly the readers it had not reached."""
    from mco_newsletter.storage.location import StoreLocation
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import make_token, read_token

    made = every_kind_of_row(workspace, run)
    settings = made["settings"]
    before = sqlite_tables(settings.database_path)
    [(erased_id,)] = db_rows(settings, "SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'")
    [(zoe, nonce)] = db_rows(settings, "SELECT id, nonce FROM subscribers WHERE email_key = 'ärger.zoë@example.org'")
    result = run("database", "copy", "--to", target)
    assert result.exit_code == 0, result.output
    assert f"into {target}:" in result.stdout and "read back and compared before the commit" in result.stdout
    assert set(before) - {"sqlite_sequence"} == {line.split()[0] for line in result.stdout.splitlines()[1:-2]}
    # SQLite keeps a send claim's holder in its lock file (delivery/locks.py): its send_claims table stays empty.
    assert all(rows for name, (_, rows) in before.items() if name != "send_claims"), "a table without rows"
    assert postgres_tables(target, before) == before
    assert sqlite_tables(settings.database_path) == before  # the SQLite file is left as it was

    monkeypatch.setenv("MCO_NEWSLETTER_DB", target)
    store = open_store(StoreLocation(url=target))
    try:
        token = make_token(made["keys"].secret, zoe, nonce)
        assert read_token(made["keys"].secret, token, nonce_of=store.nonce) == zoe
        with store.transaction():
            newcomer = store.add(email="new@example.org", name=None, language="en", tags=(), consent_source="t")
        assert newcomer == erased_id + 1
    finally:
        store.close()
    status = json.loads(run("database", "status", "--json").stdout)
    assert status["store"] == "postgresql" and status["location"] == target
    assert status["rows"]["subscribers"] == len(before["subscribers"][1]) + 1
    waiting = {email for (email,) in db_rows(workspace, "SELECT s.email FROM deliveries d JOIN subscribers s"
                                                " ON s.id = d.subscriber_id WHERE d.state IN ('pending', 'sending', 'failed')")}
    resumed = run("send", "2024-05", "--segment", "all", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert "may have it twice" in resumed.output  # the row left in flight
    assert Counter(outbox_recipients(workspace)) == Counter(waiting | {"new@example.org"})


def test_copy_refuses_a_store_that_is_not_empty_and_is_all_or_nothing(workspace, run, target):
    """A target that holds rows is refused and left alone; a copy that fails half-way (a table the server refuses)
    leaves the target without a single row; a --to that is no PostgreSQL URL is a usage error."""
    import psycopg

    every_kind_of_row(workspace, run)
    from mco_newsletter.storage.database import open_database
    from mco_newsletter.storage.location import StoreLocation

    open_database(StoreLocation(url=target)).close()  # migrated, empty
    with psycopg.connect(target, autocommit=True) as db:
        db.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by a trigger';"
                   " END $$ LANGUAGE plpgsql")
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON webhook_events FOR EACH ROW EXECUTE FUNCTION refuse()")
    failed = run("database", "copy", "--to", target)
    assert failed.exit_code == 1 and "refused by a trigger" in failed.stderr and "Traceback" not in failed.output
    with psycopg.connect(target) as db:
        assert db.execute("SELECT count(*) FROM subscribers").fetchone() == (0,)
        db.execute("DROP TRIGGER refuse ON webhook_events")
        db.execute("INSERT INTO erased (hash, erased_at) VALUES ('x', 't')")
    refused = run("database", "copy", "--to", target)
    assert refused.exit_code == 1 and "is not empty: erased hold rows" in refused.stderr
    assert db_rows(workspace, "SELECT count(*) FROM subscribers") != [(0,)]
    with psycopg.connect(target) as db:
        assert db.execute("SELECT count(*) FROM subscribers").fetchone() == (0,)
    usage = run("database", "copy", "--to", "mysql://db/news")
    assert usage.exit_code == 2 and "--to" in usage.stderr
