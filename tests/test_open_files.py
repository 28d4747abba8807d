"""A long-running process (serve, a large send, a test worker) may hold more than 1024 open files: its connections'
sockets then have descriptors past select()'s limit, and a healthy idle connection must still not be taken for one
the server closed. It was: each such check said "lost", so the store's connection was opened again before every
statement (an import on PostgreSQL lost its temporary tables half-way) and every SendGrid request opened a new
connection."""

from __future__ import annotations

import os
from collections import Counter
from contextlib import contextmanager

import pytest

from test_send import configure, populate, sendgrid  # noqa: F401 — sendgrid is a fixture

SELECT_LIMIT = 1024  # FD_SETSIZE: select() takes no descriptor at or past it


@contextmanager
def past_select_limit():
    """Open files until the next descriptor the process gets is past select()'s limit."""
    held = []
    try:
        while not held or held[-1] < SELECT_LIMIT + 8:
            held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_an_idle_store_connection_past_the_select_limit_is_kept(settings):
    """A PostgreSQL connection opened past the limit keeps its session between statements: a temporary table made
    by one statement is there for the next (an import stages its rows that way)."""
    from mco_newsletter.subscribers.store import open_store

    with past_select_limit():
        store = open_store(settings.store)
        try:
            pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
            store.db.execute("CREATE TEMPORARY TABLE staged (line INTEGER)")
            store.db.execute("INSERT INTO staged VALUES (1)")
            assert store.db.execute("SELECT count(*), pg_backend_pid() FROM staged").fetchone() == (1, pid)
        finally:
            store.close()


@pytest.mark.stores
def test_one_sendgrid_connection_past_the_select_limit(run, workspace, sendgrid):  # noqa: F811
    """With more than 1024 files open, 3,000 readers still go out in three requests over one kept-alive connection."""
    configure(workspace)
    addresses = populate(workspace, 3000)
    with past_select_limit():
        result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 0, result.output
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)
    assert (sendgrid.record.accepted_requests, sendgrid.record.connections) == (3, 1)
