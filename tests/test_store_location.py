"""Where the store is and what the tool says about it: the store chosen by its location (a path or a URL), a URL
shown without its password, connection errors in words, no SQL outside the storage layer. Each test names its
own store (or none), so these run once."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from stores import cluster

from conftest import REPO, set_setting

# The layer that owns every statement: the storage package, the subscriber store and the ledger.
LAYER = ("storage/", "subscribers/store.py", "delivery/ledger.py")


def test_no_module_outside_the_storage_layer_runs_sql():
    """`execute(` (and executemany, executescript) appear in the storage layer only: web/, csv_import, roster,
    preferences, signups, translators and erasure ask the layer instead of writing SQL of their own."""
    package = REPO / "src" / "mco_newsletter"
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(LAYER) or relative in LAYER:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\bexecute(many|script)?\(", line):
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


def test_placeholders_become_psycopgs_outside_quotes():
    """`?` and `:name` become `%s` and `%(name)s`; quoted text, quoted names and casts are left as written, and
    a literal % is doubled (psycopg reads % as the start of a placeholder)."""
    from mco_newsletter.storage.postgresql import translated

    assert translated("SELECT ?, :id, 'a ? :b', \"c?\", x::text, '50%' FROM t WHERE y = ? AND z LIKE 'p%'") == \
        "SELECT %s, %(id)s, 'a ? :b', \"c?\", x::text, '50%%' FROM t WHERE y = %s AND z LIKE 'p%%'"


@pytest.mark.parametrize("url,shown", [
    ("postgresql://mco:s3cret@db.example.org:5432/news", "postgresql://mco:***@db.example.org:5432/news"),
    ("postgresql://mco@db/news?sslmode=require&password=s3cret", "postgresql://mco@db/news?sslmode=require&password=***"),
    ("postgres://:p%40ss@/news?host=/run/postgresql", "postgres://:***@/news?host=/run/postgresql"),
    ("postgresql://mco@db/news", "postgresql://mco@db/news"),
])
def test_a_url_is_shown_without_its_password(url, shown):
    """Wherever the tool names the store, a password in the URL (or its query) is shown as ***."""
    from mco_newsletter.storage.location import StoreLocation

    assert StoreLocation(url=url).shown == shown


def test_the_store_is_chosen_by_its_location(workspace, tmp_path, monkeypatch):
    """A path keeps SQLite (the default, under private/); a postgresql:// URL in [database] url or
    MCO_NEWSLETTER_DB selects PostgreSQL; the environment wins over the file, a path over a URL included."""
    from mco_newsletter.config import load_settings

    monkeypatch.delenv("MCO_NEWSLETTER_DB", raising=False)
    assert load_settings(workspace).store.path == workspace / "private" / "subscribers.sqlite3"
    set_setting(workspace, 'path = "private/subscribers.sqlite3"',
                'path = "private/subscribers.sqlite3"\nurl = "postgresql://mco@db.example.org/news"')
    chosen = load_settings(workspace)
    assert (chosen.store.kind, chosen.store.url) == ("postgresql", "postgresql://mco@db.example.org/news")
    assert chosen.private_dir == workspace / "private"  # the keys stay where they were
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(tmp_path / "elsewhere.sqlite3"))
    assert load_settings(workspace).store.path == tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("MCO_NEWSLETTER_DB", "postgres://other@/news?host=/run/postgresql")
    assert load_settings(workspace).store.url == "postgres://other@/news?host=/run/postgresql"


@pytest.mark.parametrize("url,said", [
    ("mysql://mco@db/news", "mysql: is not a database this tool can use"),
    ("postgresql://mco@db:99999/news", "'99999' is not a port number"),
    ("postgresql://mco:s3cret@db/news", "the database URL holds a password"),
])
def test_check_refuses_a_bad_url_in_the_settings(run, workspace, url, said):
    """A URL of another database, a bad port, or a password in newsletter.toml (which is shared with the content):
    refused at the line, exit 1, the password never echoed."""
    set_setting(workspace, 'path = "private/subscribers.sqlite3"', f'url = "{url}"')
    result = run("check")
    assert result.exit_code == 1 and said in result.stderr and "newsletter.toml:" in result.stderr
    assert "s3cret" not in result.output and "Traceback" not in result.output


def cli(workspace, *args, env=None):
    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=60, env=environment, check=False)


def test_connection_errors_are_sentences_without_the_password(workspace, tmp_path):
    """Nothing listening, a wrong password, an unknown database, a URL that cannot be read: one line and a hint
    each, exit 1 (2 for the URL), never a traceback, never the password."""
    from postgres_cluster import PASSWORD_USER

    instance = cluster()
    with instance.admin() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {PASSWORD_USER}")
        admin.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD 'right-horse'")
    socket = instance.folder
    cases = {
        f"postgresql://mco:wrong-horse@/nowhere?host={tmp_path}/no-server":
            (1, "cannot reach the PostgreSQL server of postgresql://mco:***@/nowhere", "is the server running"),
        f"postgresql://{PASSWORD_USER}:wrong-horse@/postgres?host={socket}":
            (1, f"refused the password of user {PASSWORD_USER}", "it is never shown"),
        f"postgresql://postgres:wrong-horse@/no_such_database?host={socket}":
            (1, 'database "no_such_database" does not exist', "createdb"),
        "postgresql://mco:wrong-horse@/news?colour=blue":
            (2, 'cannot be read: invalid URI query parameter: "colour"', "postgresql://USER@HOST:PORT/DATABASE"),
        "postgresql://mco:wrong-horse@[::1/news":
            (2, "MCO_NEWSLETTER_DB: Invalid IPv6 URL", "postgresql://USER@HOST:PORT/DATABASE"),
    }
    for url, (code, said, hint) in cases.items():
        result = cli(workspace, "subscribers", "list", env={"MCO_NEWSLETTER_DB": url})
        assert result.returncode == code, (url, result.stderr)
        assert said in result.stderr and f"hint: " in result.stderr and hint in result.stderr, result.stderr
        assert "wrong-horse" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_without_the_postgres_extra_the_hint_says_what_to_install(workspace, tmp_path):
    """Without psycopg, a PostgreSQL URL is an error naming the extra to install, not an ImportError."""
    blocked = tmp_path / "without-psycopg" / "psycopg"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError(\"No module named 'psycopg'\")\n")
    path = os.pathsep.join([str(blocked.parent), os.environ.get("PYTHONPATH", "")])
    result = cli(workspace, "subscribers", "list",
                 env={"PYTHONPATH": path, "MCO_NEWSLETTER_DB": "postgresql://mco:s3cret@db.example.org/news"})
    assert result.returncode == 1, result.stderr
    assert "the subscriber database is PostgreSQL (postgresql://mco:***@db.example.org/news)" in result.stderr
    assert "pip install 'mco-newsletter[postgres]'" in result.stderr
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_the_planner_knows_a_new_campaigns_size(workspace, run, store_kind):
    """After an import and a campaign's creation, PostgreSQL's planner has the tables' statistics (without them it
    took 24,000 rows for 68 and planned a send's queries as nested loops: 8 s for one, against 10 ms)."""
    from stores import db_rows

    from test_send import configure, populate

    configure(workspace)
    populate(workspace, 3000)
    assert run("send", "2024-05", "--segment", "all", "--dry-run").exit_code == 0
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    sizes = dict(db_rows(workspace, "SELECT relname, reltuples FROM pg_class WHERE relname IN"
                                    " ('subscribers', 'subscriber_tags', 'deliveries')"))
    assert sizes == {"subscribers": 3000, "subscriber_tags": 3000, "deliveries": 3000}
