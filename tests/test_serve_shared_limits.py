"""Two `serve` replicas on one PostgreSQL store (two applications, each with its own connections, as two hosts
run them): the per-client sign-up limit, the one-an-hour limit per mailbox, the site-wide ceiling on sign-up
emails and the review pages' throttle hold across them; the purges run once between them; the review pages are
served by one editor; a replica outlives its database server's restart; and no client address is ever written."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import httpx
import pytest
from stores import db_rows, db_run

import loopback
from conftest import set_setting
from reader_pages import add_topics, database_dump, serving, settle, sign_up

POSTGRESQL_ONLY = pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)


def limits(workspace, **values) -> None:
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\n" + "".join(f"{name} = {value}\n" for name, value in values.items()))


@POSTGRESQL_ONLY
def test_the_client_limit_holds_across_replicas(workspace):
    """[signup] client_limit = 3: a client's sign-ups on two replicas count together (the fourth is refused
    wherever it lands), another client is not held back, and the client's address is nowhere in the store."""
    add_topics(workspace)
    limits(workspace, client_limit=3)
    with serving(workspace) as one, serving(workspace) as two:
        answers = [sign_up(replica, f"r{n}@example.org", client="203.0.113.7").status_code
                   for n, replica in enumerate((one, two, one, two, one))]
        other = sign_up(two, "other@example.org", client="2001:db8:1:2::5").status_code
        settle(one)
        settle(two)
        dump = database_dump(one["settings"])
    assert answers == [200, 200, 200, 429, 429] and other == 200
    assert "203.0.113.7" not in dump and "2001:db8" not in dump


@POSTGRESQL_ONLY
def test_the_site_wide_ceiling_holds_across_replicas(workspace):
    """[signup] emails_per_hour = 3: six sign-ups for six addresses, three on each replica, send three emails."""
    from sendgrid_server import API_KEY, SendGridServer

    server = SendGridServer().start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SENDGRID_API_KEY", API_KEY)
            patch.setenv("SENDGRID_API_HOST", server.url)
            set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
            add_topics(workspace)
            limits(workspace, client_limit=0, emails_per_hour=3)
            with serving(workspace) as one, serving(workspace) as two:
                for n in range(3):
                    assert sign_up(one, f"one{n}@example.org").status_code == 200
                    assert sign_up(two, f"two{n}@example.org").status_code == 200
                settle(one)
                settle(two)
    finally:
        server.shutdown()
    assert len(server.record.recipients()) == 3, server.record.recipients()


@POSTGRESQL_ONLY
def test_one_mailbox_gets_one_email_an_hour_across_replicas(workspace):
    """While one replica's confirmation is still on its way (a slow provider), a sign-up for the same mailbox on the
    other replica sends nothing: the mailbox was claimed in the store, not only in the first replica's memory."""
    from sendgrid_server import API_KEY, Faults, SendGridServer

    server = SendGridServer(faults=Faults(slow=1.0, slow_seconds=2.0)).start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SENDGRID_API_KEY", API_KEY)
            patch.setenv("SENDGRID_API_HOST", server.url)
            set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
            add_topics(workspace)
            with serving(workspace) as one, serving(workspace) as two:
                assert sign_up(one, "victim@example.org").status_code == 200
                deadline = time.monotonic() + 10
                while server.record.requests == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)  # the first confirmation is on its way
                assert sign_up(two, "victim+again@example.org", client="198.51.100.2").status_code == 200
                settle(one)
                settle(two)
    finally:
        server.shutdown()
    assert server.record.recipients() == ["victim@example.org"]


@POSTGRESQL_ONLY
def test_an_email_that_could_not_be_sent_is_taken_back(workspace):
    """A confirmation the provider refused for good leaves no note in the mail log: the person may ask again at once
    (on any replica)."""
    from sendgrid_server import SendGridServer

    server = SendGridServer().start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SENDGRID_API_KEY", "SG.a-key-the-server-refuses")  # 401: a permanent error
            patch.setenv("SENDGRID_API_HOST", server.url)
            set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
            add_topics(workspace)
            with serving(workspace) as one:
                assert sign_up(one, "unlucky@example.org").status_code == 200
                settle(one)
                assert db_rows(one["settings"], "SELECT count(*) FROM mail_log") == [(0,)]
    finally:
        server.shutdown()
    assert server.record.recipients() == []


@POSTGRESQL_ONLY
def test_the_review_throttle_counts_bad_links_across_replicas(settings):
    """Two replicas' throttles on one store: two bad links on the first and a third on the second make the third
    wait (free = 2), as one replica's would; a client of another network waits for nothing."""
    from mco_newsletter.web.shared_counts import SharedCounts
    from mco_newsletter.web.throttle import Throttle

    clock = lambda: 1_700_000_000.0  # noqa: E731 — one fixed moment for both replicas
    replicas = [SharedCounts(settings.store, clock=clock), SharedCounts(settings.store, clock=clock)]
    one, two = (Throttle(free=2, first_delay=0.5, shared=shared) for shared in replicas)
    try:
        assert [one.failed("192.0.2.1"), one.failed("192.0.2.1")] == [0.0, 0.0]
        assert two.failed("192.0.2.1") == 0.5 and two.failed("192.0.2.1") == 1.0
        assert one.failed("192.0.2.1") == 2.0
        assert two.failed("198.51.100.9") == 0.0
    finally:
        for shared in replicas:
            shared.close()


@POSTGRESQL_ONLY
def test_the_tables_of_the_hour_go_with_their_keys(settings):
    """A count made in one hour is read through the next (a sliding hour, weighted), and its table, key and hashes
    are dropped once the hour after it is over: nothing of it is left in the store."""
    from mco_newsletter.web.shared_counts import SharedCounts

    now = [3600.0 * 470_000 + 60]
    shared = SharedCounts(settings.store, clock=lambda: now[0])
    try:
        assert shared.add("signup", "203.0.113.7", window=3600, at_most=2) == 1
        assert shared.add("signup", "203.0.113.7", window=3600, at_most=2) == 2
        assert shared.add("signup", "203.0.113.7", window=3600, at_most=2) is None
        now[0] += 3600  # a minute into the next hour: the last hour's two still count, almost in full
        assert shared.add("signup", "203.0.113.7", window=3600, at_most=2) is None
        now[0] += 1800  # half-way through it: the last hour's two count as one
        assert shared.add("signup", "203.0.113.7", window=3600, at_most=2) == pytest.approx(1 + 2 * (1 - 1860 / 3600))
        tables = lambda: [name for (name,) in db_rows(settings, "SELECT tablename FROM pg_tables"  # noqa: E731
                                                                " WHERE tablename LIKE 'client_window_%'")]
        assert sorted(tables()) == ["client_window_470000", "client_window_470001"]
        assert [persistence for (persistence,) in db_rows(settings, "SELECT relpersistence FROM pg_class WHERE"
                                                                    " relname LIKE 'client_window_%' AND relkind = 'r'")
                ] == ["u", "u"]  # UNLOGGED: never in the WAL, a base backup or a standby
        assert shared.forget_old() == 0
        now[0] += 3600  # the hour after 470000 is over
        assert shared.forget_old() == 1 and tables() == ["client_window_470001"]
        assert min(shared.keys) == 470_001
    finally:
        shared.close()


@POSTGRESQL_ONLY
def test_each_purge_runs_once_between_replicas(workspace):
    """Two replicas look for due chores at the same moment: each hourly purge runs on one of them; an hour later it
    is due again, once; applied webhook ids past [webhook] retention_days go, younger ones stay."""
    from mco_newsletter.web.app import create_app
    from mco_newsletter.web.chores import Chores

    set_setting(workspace, "max_age_seconds = 300", "max_age_seconds = 300\nretention_days = 30")
    from mco_newsletter.config import load_settings

    settings = load_settings(workspace)
    now = [1_750_000_000.0]
    replicas = [create_app(settings, chores=False), create_app(settings, chores=False)]
    db_run(settings, "INSERT INTO webhook_events (sg_event_id, received_at) VALUES"
                     " ('old', '2025-05-01T00:00:00+00:00'), ('young', '2025-06-01T00:00:00+00:00')")
    chores = [Chores(app.state.site, clock=lambda: now[0]) for app in replicas]
    ran = [chore.look() for chore in chores]
    assert sorted(ran, key=len) == [[], ["sign-ups", "webhook-events"]]
    assert db_rows(settings, "SELECT sg_event_id FROM webhook_events") == [("young",)]
    now[0] += 1800
    assert [chore.look() for chore in chores] == [[], []]
    now[0] += 1800
    ran = [chore.look() for chore in reversed(chores)]
    assert ran == [["sign-ups", "webhook-events"], []]


@POSTGRESQL_ONLY
def test_one_editor_serves_the_review_pages(workspace, run, drafted):
    """On PostgreSQL a replica serves the review pages only with --editor, and only one at a time (a second editor
    refuses to start, naming the first); any other answers /review/ with 421 and a page, in the browser's
    language, that a translator can pass on."""
    from review_server import add_translator, serve_app

    from mco_newsletter.config import load_settings
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.web.app import create_app

    drafted("2024-05", "de")
    token = add_translator(run, "Anna Petrova", "de")
    settings = load_settings(workspace)
    editor = create_app(settings, editor=True, chores=False)
    with pytest.raises(NewsletterError, match="another `serve --editor` already serves the review pages of this"
                                              " store: PostgreSQL process [0-9]+"):
        create_app(settings, editor=True, chores=False)
    urls = [serve_app(settings, editor), serve_app(settings, create_app(settings, chores=False))]
    try:
        served = loopback.get(f"{urls[0][0]}/review/{token}/2024-05/de")
        elsewhere = loopback.get(f"{urls[1][0]}/review/{token}/2024-05/de", headers={"Accept-Language": "de"})
    finally:
        for _, stop in urls:
            stop()
    assert served.status_code == 200 and 'name="csrf"' in served.text
    assert elsewhere.status_code == 421 and 'lang="de"' in elsewhere.text and "serve --editor" in elsewhere.text
    assert token not in elsewhere.text and "content-security-policy" in elsewhere.headers


@POSTGRESQL_ONLY
def test_a_replica_outlives_its_database_servers_restart(workspace, run):
    """The server ends every connection of a running replica (as a restart or failover does): the health route
    answers 200 at once (a reading connection found ended is opened again and its read made again), and the pages
    work again without restarting `serve`."""
    from reader_pages import reader_token

    assert run("subscribers", "add", "anna@example.org", "--language", "en").exit_code == 0
    with serving(workspace) as served:
        settings = served["settings"]
        token = reader_token(settings, "anna@example.org")
        assert loopback.get(served["url"] + "/healthz").text == "ok\n"
        db_run(settings, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND pid <> pg_backend_pid()")
        answers = [loopback.get(served["url"] + "/healthz").status_code for _ in range(2)]
        unsubscribed = loopback.post(f"{served['url']}/u/{token}", data={"confirm": "yes"})
        if unsubscribed.status_code == 503:  # the writer's connection was found lost by this very request
            unsubscribed = loopback.post(f"{served['url']}/u/{token}", data={"confirm": "yes"})
        signed_up = sign_up(served, "new@example.org")
        settle(served)
    assert answers == [200, 200], answers
    assert unsubscribed.status_code == 200 and signed_up.status_code == 200
    assert db_rows(settings, "SELECT status FROM subscribers ORDER BY id") == [("unsubscribed",), ("pending",)]


@POSTGRESQL_ONLY
def test_a_page_read_does_not_wait_for_another_pages_read(workspace, run):
    """On PostgreSQL a replica reads on a few connections: while one page holds a read connection (a round trip
    to the database server in progress), another reader's unsubscribe page is answered at once, not after it."""
    from reader_pages import reader_token

    assert run("subscribers", "add", "anna@example.org", "--language", "en").exit_code == 0
    with serving(workspace) as served:
        token = reader_token(served["settings"], "anna@example.org")
        with served["app"].state.site.reading():
            try:
                answer = loopback.get(f"{served['url']}/u/{token}", timeout=3).status_code
            except httpx.TimeoutException:
                answer = "no answer within 3 s: the page waited for the other read"
    assert answer == 200


@POSTGRESQL_ONLY
def test_health_says_503_when_the_store_is_gone(workspace):
    """GET /healthz answers 503 with nothing but "unavailable" when the store cannot be read, 200 "ok" otherwise."""
    with serving(workspace) as served:
        assert loopback.get(served["url"] + "/healthz").status_code == 200
        db_run(served["settings"], "ALTER TABLE meta RENAME TO meta_gone")
        gone = loopback.get(served["url"] + "/healthz")
        db_run(served["settings"], "ALTER TABLE meta_gone RENAME TO meta")
        back = loopback.get(served["url"] + "/healthz")
    assert (gone.status_code, gone.text) == (503, "unavailable\n") and back.status_code == 200
    assert "content-security-policy" in gone.headers


@contextmanager
def ended_as_it_reads(settings, reader):
    """The server ends `reader`'s connection while the block reads on it: its process is held stopped while it is
    ended, so its goodbye comes only once the read is on its way (not when the connection is checked before it)."""
    import contextlib
    import signal
    import threading

    from stores import cluster

    pid = reader.db.session
    os.kill(pid, signal.SIGSTOP)
    try:
        with cluster().admin() as admin:  # from another database: the reader's may refuse new connections
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        assert reader.alive()  # nothing to tell yet: the server process has not answered its end
        threading.Timer(0.5, os.kill, (pid, signal.SIGCONT)).start()
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone already, as it should be
            os.kill(pid, signal.SIGCONT)


@POSTGRESQL_ONLY
def test_a_read_the_server_ends_as_it_arrives_is_read_again_on_a_new_connection(settings):
    """A server ends its connections (a restart, a failover) while a replica looks: the goodbye of a reader's
    connection is not there yet when the replica checks it, and the read is sent on it and refused
    (AdminShutdown). That read is made again on a new connection: a page or the health route answers, not 503 once
    for each of the replica's reading connections (that made the health route say 503 twice in a row in CI)."""
    from mco_newsletter.subscribers.store import open_reader, open_store

    open_store(settings.store).close()  # made and migrated
    reader = open_reader(settings.store)
    try:
        reader.ping()
        with ended_as_it_reads(settings, reader) as pid:
            reader.ping()
        assert reader.db.session != pid
        assert db_rows(settings, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", (reader.db.session,)) == [(1,)]
    finally:
        reader.close()


@POSTGRESQL_ONLY
def test_a_read_the_server_ends_for_good_fails_as_the_database_error_it_is(settings):
    """When no new connection can be had either (the server is going down), the read fails with the server's own
    error, which the pages answer with their 503 page: not with the error of the connection that was tried after
    it (a NewsletterError, which a page would have answered as a fault of its own)."""
    import psycopg
    from stores import cluster

    from mco_newsletter.storage.dialect import LOST
    from mco_newsletter.subscribers.store import open_reader, open_store

    open_store(settings.store).close()
    reader = open_reader(settings.store)
    database = db_rows(settings, "SELECT current_database()")[0][0]
    admin = psycopg.connect(cluster().url("postgres"), autocommit=True)
    try:
        reader.ping()
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        with ended_as_it_reads(settings, reader), pytest.raises(psycopg.Error) as refused:
            reader.ping()
        assert reader.db.dialect.failure(refused.value) == LOST
    finally:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        admin.close()
        reader.close()


@POSTGRESQL_ONLY
def test_asking_whether_a_busy_connection_was_lost_does_not_take_its_answer(settings):
    """`serve`'s health route asks whether the writer's connection is alive while another thread's statement is on
    it. The check read the answer off the socket before that statement's thread could: the statement then waited
    forever for an answer already taken, with the server idle (a replica's writes stalled; a test hung in CI).
    A connection in use is not looked into: the statement gets its answer."""
    import threading
    import time

    from mco_newsletter.subscribers.store import open_store

    store = open_store(settings.store)
    answers = []
    statement = threading.Thread(target=lambda: answers.append(store.db.value("SELECT 7 FROM pg_sleep(0.3)")),
                                 daemon=True)
    try:
        statement.start()
        until = time.monotonic() + 1.5
        while time.monotonic() < until and statement.is_alive():
            store.alive()
        statement.join(5)
        assert not statement.is_alive() and answers == [7]
        assert store.alive() and store.db.value("SELECT 1") == 1
    finally:
        if not statement.is_alive():
            store.close()
