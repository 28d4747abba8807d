"""Webhook events claimed by id before they are applied: one batch delivered to two `serve` replicas at once is
applied exactly once and never fails, on PostgreSQL, whatever lock the transactions hold; and applied ids are
purged after the retention."""

from __future__ import annotations

import threading
import time

import pytest
from stores import db_rows, db_run

POSTGRESQL_ONLY = pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)


def readers(settings, count: int) -> list[str]:
    from mco_newsletter.subscribers.store import open_store

    store = open_store(settings.store)
    try:
        with store.transaction():
            for number in range(count):
                store.add(email=f"reader{number}@example.org", name=None, language="en", tags=(),
                          consent_source="test", at="2024-01-01T00:00:00+00:00")
    finally:
        store.close()
    return [f"reader{number}@example.org" for number in range(count)]


def waiting_on_a_lock(settings) -> int:
    """How many of the store's connections wait for a lock now (an oracle apart from the tool)."""
    [(count,)] = db_rows(settings, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                   " AND wait_event_type = 'Lock'")
    return count


@POSTGRESQL_ONLY
def test_one_batch_applied_by_two_replicas_at_once_applies_once(settings, monkeypatch):
    """Two connections apply the same batch, the second while the first has not committed, and neither holds the
    store-wide writer lock (narrowed, as it may be): the second waits for the first, applies nothing and counts
    every event a duplicate; no unique violation fails it, and each event is recorded once."""
    from mco_newsletter.delivery.feedback import Feedback, apply_feedback
    from mco_newsletter.storage.postgresql import PostgresDialect
    from mco_newsletter.subscribers.store import open_store

    addresses = readers(settings, 20)
    # The transaction without the store-wide lock: what the claim must survive once the lock no longer covers it.
    monkeypatch.setattr(PostgresDialect, "begin", lambda self, connection, store_wide=True: connection.execute("BEGIN"))
    reports = [Feedback(f"ev-{number}", "unsubscribe", email, None, None) for number, email in enumerate(addresses)]
    first, second = open_store(settings.store), open_store(settings.store)
    held, outcomes = threading.Event(), {}
    applying = first.set_statuses

    def set_statuses_then_hold(changes, at=None):
        applying(changes, at)
        held.wait(10)  # the first replica's transaction stays open while the second applies the same batch

    first.set_statuses = set_statuses_then_hold

    def apply(name, store):
        try:
            outcomes[name] = apply_feedback(store=store, reports=reports)
        except Exception as exc:  # noqa: BLE001 — what the test looks for
            outcomes[name] = exc

    threads = [threading.Thread(target=apply, args=("first", first))]
    threads[0].start()
    deadline = time.monotonic() + 10
    while db_rows(settings, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND state = 'idle in transaction'") == [(0,)] and time.monotonic() < deadline:
        time.sleep(0.01)
    threads.append(threading.Thread(target=apply, args=("second", second)))
    threads[1].start()
    while waiting_on_a_lock(settings) == 0 and threads[1].is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    held.set()
    for thread in threads:
        thread.join(10)
    first.close()
    second.close()
    assert not isinstance(outcomes["second"], Exception), outcomes["second"]
    assert (outcomes["first"].applied, outcomes["first"].duplicates) == (20, 0)
    assert (outcomes["second"].applied, outcomes["second"].duplicates) == (0, 20)
    assert db_rows(settings, "SELECT count(*), count(DISTINCT sg_event_id) FROM webhook_events") == [(20, 20)]
    assert db_rows(settings, "SELECT DISTINCT status FROM subscribers") == [("unsubscribed",)]


@POSTGRESQL_ONLY
def test_a_rolled_back_claim_frees_its_events(settings):
    """A batch whose transaction fails claims nothing: the same events apply when they come again."""
    from mco_newsletter.delivery.feedback import Feedback, apply_feedback
    from mco_newsletter.subscribers.store import open_store

    [address] = readers(settings, 1)
    store = open_store(settings.store)
    reports = [Feedback("ev-1", "bounce", address, None, None)]
    applying = store.set_statuses

    def failing(changes, at=None):
        raise RuntimeError("the replica died half-way")

    store.set_statuses = failing
    with pytest.raises(RuntimeError):
        apply_feedback(store=store, reports=reports)
    assert db_rows(settings, "SELECT count(*) FROM webhook_events") == [(0,)]
    store.set_statuses = applying
    assert apply_feedback(store=store, reports=reports).applied == 1
    store.close()
    assert db_rows(settings, "SELECT status FROM subscribers") == [("bounced",)]


@pytest.mark.stores
def test_a_batch_repeating_an_event_applies_it_once(settings):
    """The same event id twice in one batch (SendGrid retries whole batches) is one event and one duplicate."""
    from mco_newsletter.delivery.feedback import Feedback, apply_feedback
    from mco_newsletter.subscribers.store import open_store

    [address] = readers(settings, 1)
    store = open_store(settings.store)
    try:
        done = apply_feedback(store=store, reports=[Feedback("ev-1", "bounce", address, None, None)] * 2)
    finally:
        store.close()
    assert (done.applied, done.duplicates) == (1, 1)
    assert db_rows(settings, "SELECT sg_event_id FROM webhook_events") == [("ev-1",)]


@pytest.mark.stores
def test_applied_event_ids_are_purged_after_the_retention(settings):
    """Event ids older than the retention go, newer ones stay (a late retry within it is still a duplicate)."""
    from mco_newsletter.delivery.ledger import Ledger
    from mco_newsletter.subscribers.store import open_store

    store = open_store(settings.store)
    db_run(settings, "INSERT INTO webhook_events (sg_event_id, received_at) VALUES"
                     " ('old', '2024-01-01T00:00:00+00:00'), ('new', '2024-02-15T00:00:00+00:00')")
    try:
        with store.transaction():
            purged = Ledger(store).purge_events(before="2024-01-31T00:00:00+00:00")
    finally:
        store.close()
    assert purged == 1
    assert db_rows(settings, "SELECT sg_event_id FROM webhook_events") == [("new",)]
