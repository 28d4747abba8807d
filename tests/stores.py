"""Every store-touching test runs on SQLite and on PostgreSQL (a pytest plugin, loaded by conftest.py).

A test of a module marked `pytestmark = pytest.mark.stores` (or one test so marked) that uses the workspace
(or asks for `store_kind`) runs once per store: its `store_kind` is "sqlite" or "postgresql", and for PostgreSQL MCO_NEWSLETTER_DB names a fresh database of
its own (CREATE DATABASE … TEMPLATE a database migrated once per run), so the settings the test loads and
the CLI processes it starts use it. `@pytest.mark.sqlite_only("why")` keeps a test (or one test of a marked
module) on SQLite, with its reason. The session's one cluster (tests/postgres_cluster.py) is started by the
first worker that needs it and stopped when the run ends. `--store sqlite|postgresql` runs one store only.

db_rows/db_run read and change a test's store with the drivers themselves (an oracle apart from the tool's
own storage layer), from statements with `?` placeholders.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from postgres_cluster import Cluster, server_bin

STORES = ("sqlite", "postgresql")
CLUSTER_ENV = "MCO_TESTS_POSTGRES_FOLDER"
TEMPLATE = "mco_template"
_names = itertools.count(1)
_admin = None


def pytest_addoption(parser) -> None:
    parser.addoption("--store", choices=(*STORES, "both"), default="both",
                     help="run only the tests that run on both stores, on this one (each store's share of the run)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "stores: runs once on SQLite and once on PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only(reason): a store test that holds on SQLite only, and why")
    if not hasattr(config, "workerinput") and CLUSTER_ENV not in os.environ:
        # The controller names the folder; workers (started later) inherit it; the first that needs it starts it.
        os.environ[CLUSTER_ENV] = tempfile.mkdtemp(prefix="mco-newsletter-pg-")
        config._mco_cluster_folder = Path(os.environ[CLUSTER_ENV])


def pytest_unconfigure(config) -> None:
    folder = getattr(config, "_mco_cluster_folder", None)
    if folder is not None:
        Cluster(folder).stop()
        shutil.rmtree(folder, ignore_errors=True)
        for marker in (".lock", ".ready"):
            folder.with_name(folder.name + marker).unlink(missing_ok=True)
        os.environ.pop(CLUSTER_ENV, None)


def pytest_generate_tests(metafunc) -> None:
    if metafunc.definition.get_closest_marker("stores") is None:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return
    if "store_kind" not in metafunc.fixturenames:
        return  # a test of a marked module that opens no store (nor the workspace, whose store it would be)
    chosen = metafunc.config.getoption("--store")
    metafunc.parametrize("store_kind", STORES if chosen == "both" else (chosen,), indirect=True)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None and not (marker.args and marker.args[0]):
            raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs its reason")
    chosen = config.getoption("--store")
    if chosen != "both":  # one store's share of the run: the store tests on that store, nothing else
        kept = [item for item in items if getattr(item, "callspec", None) is not None
                and item.callspec.params.get("store_kind") == chosen]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def cluster() -> Cluster:
    """The run's cluster, started (and its template migrated) by the first process that asks."""
    folder = Path(os.environ[CLUSTER_ENV])
    instance = Cluster(folder)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder.parent / f"{folder.name}.ready").exists():
            instance.start()
            _migrate_template(instance)
            (folder.parent / f"{folder.name}.ready").touch()
    return instance


def _migrate_template(instance: Cluster) -> None:
    from mco_newsletter.storage.database import open_database
    from mco_newsletter.storage.location import StoreLocation

    with instance.admin() as admin:
        admin.execute(f"CREATE DATABASE {TEMPLATE}")
    open_database(StoreLocation(url=instance.url(TEMPLATE))).close()
    with instance.admin() as admin:
        admin.execute(f"ALTER DATABASE {TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")


def fresh_database() -> tuple[str, str]:
    """(name, URL) of a new database, migrated, empty."""
    global _admin
    instance = cluster()
    if _admin is None or _admin.closed:
        _admin = instance.admin()
    name = f"t_{os.getpid()}_{next(_names)}"
    _admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return name, instance.url(name)


def drop_database(name: str) -> None:
    _admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def store_kind(request, monkeypatch):
    """"sqlite" (the default), or "postgresql" with MCO_NEWSLETTER_DB naming a fresh database of this test's own."""
    kind = getattr(request, "param", "sqlite")
    if kind != "postgresql":
        yield kind
        return
    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (./test installs Debian's postgresql)")
    name, url = fresh_database()
    monkeypatch.setenv("MCO_NEWSLETTER_DB", url)
    yield kind
    drop_database(name)


def _settings(where):
    if isinstance(where, (str, Path)):
        from mco_newsletter.config import load_settings

        return load_settings(Path(where))
    return where


def _connect(settings):
    if settings.database_url:
        import psycopg

        return psycopg.connect(settings.database_url, autocommit=True)
    import sqlite3

    return sqlite3.connect(settings.database_path, isolation_level=None)


def _statement(settings, sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s") if settings.database_url else sql


def db_rows(where, sql: str, params=()) -> list[tuple]:
    """The rows of a query on the store of a workspace (its folder or its settings)."""
    settings = _settings(where)
    connection = _connect(settings)
    try:
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in connection.execute(_statement(settings, sql), params).fetchall()]
    finally:
        connection.close()


def db_run(where, sql: str, params=()) -> int:
    """Run one changing statement on the store of a workspace; the rows it changed."""
    settings = _settings(where)
    connection = _connect(settings)
    try:
        return connection.execute(_statement(settings, sql), params).rowcount
    finally:
        connection.close()


def db_columns(where, table: str) -> list[str]:
    """The column names of a table of the store, in order."""
    settings = _settings(where)
    connection = _connect(settings)
    try:
        return [column[0] for column in connection.execute(f"SELECT * FROM {table} WHERE 1 = 0").description]
    finally:
        connection.close()


def db_tables(where) -> list[str]:
    """The tool's tables in the store (not the store's own catalog)."""
    settings = _settings(where)
    if settings.database_url:
        return [name for (name,) in db_rows(settings, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                                      " ORDER BY tablename")]
    return [name for (name,) in db_rows(settings, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                                  " AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def db_dict(where, sql: str, params=()) -> dict | None:
    """The first row of a query as {column: value}, or None."""
    settings = _settings(where)
    connection = _connect(settings)
    try:
        cursor = connection.execute(_statement(settings, sql), params)
        found = cursor.fetchone()
        names = [column[0] for column in cursor.description]
    finally:
        connection.close()
    return None if found is None else {name: bytes(v) if isinstance(v, memoryview) else v
                                       for name, v in zip(names, found)}
