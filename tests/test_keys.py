"""The secret keys on one host and on several: made on first use only with an SQLite store; with a shared store
(PostgreSQL) never made silently, a host without them or with other keys refused by `send`, `serve` and an import
with a message saying where keys come from, `keys init` and `keys fingerprints`; no key ever printed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from stores import db_rows

from hosts import KEY_FILES, second_host
from test_send import populate

on_postgresql = pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)


def command(workspace, *args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def secrets_of(workspace) -> list[str]:
    return [(workspace / "private" / name).read_text().strip() for name in KEY_FILES
            if (workspace / "private" / name).exists()]


def serve(workspace) -> subprocess.CompletedProcess:
    """`serve` on a free port; a refusal ends it at once (a server that starts is stopped after 20 s)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # serve on a shared store sends readers' mail through a provider, never to this host's outbox (it refuses that).
    settings = workspace / "newsletter.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace('backend = "outbox"', 'backend = "sendgrid"', 1), encoding="utf-8")
    try:
        return command(workspace, "serve", "--host", "127.0.0.1", "--port", str(port), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("serve started on a host it should have refused")
    finally:
        settings.write_text(text, encoding="utf-8")


@on_postgresql
def test_a_host_without_the_keys_refuses_to_send_or_serve_and_says_where_they_come_from(workspace, tmp_path, run):
    """A second host of a PostgreSQL store without the key files: `send` and `serve` refuse, saying the keys come
    from the first host (a copy of private/…), the environment or a systemd credential; no key is made there."""
    populate(workspace, 3)
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0  # the first host's keys, in use
    other = second_host(workspace, tmp_path / "host-b", keys=False)
    for done in (command(other, "send", "2024-05", "--segment", "all", "--yes"), serve(other)):
        assert done.returncode == 1, done.stderr
        assert ("Error: this host has no unsubscribe secret, and the subscriber database is shared (PostgreSQL)"
                in done.stderr), done.stderr
        assert "copy private/unsubscribe.key from the host that has it" in done.stderr
        assert "MCO_NEWSLETTER_SECRET" in done.stderr and "systemd credential" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (other / "private" / "unsubscribe.key").exists()
    assert not (other / "private" / "erasure.key").exists()


@on_postgresql
def test_a_host_with_other_keys_is_refused_naming_both_fingerprints(workspace, tmp_path, run):
    """A host whose key differs from the one the store was first used with (a key made there by hand, or the wrong
    file) is refused by `send`, `serve` and an import, naming both fingerprints; the first host goes on."""
    populate(workspace, 3)
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    other = second_host(workspace, tmp_path / "host-b", keys=False)
    assert command(other, "keys", "fingerprints").returncode == 1
    (other / "private").mkdir(mode=0o700)
    for name in KEY_FILES:
        path = other / "private" / name
        path.write_text("another key made on the second host by mistake\n")
        path.chmod(0o600)
    (other / "readers.csv").write_text("email,language\nnew@example.org,en\n")
    for done in (command(other, "send", "2024-05", "--segment", "all", "--yes"), serve(other),
                 command(other, "subscribers", "import", str(other / "readers.csv"))):
        assert done.returncode == 1, done.stderr
        assert "is not the one the shared subscriber database was set up with: fingerprint" in done.stderr, done.stderr
        assert f"first used on {socket.gethostname()}" in done.stderr
        assert "Traceback" not in done.stderr
    assert db_rows(workspace, "SELECT count(*) FROM subscribers WHERE email = 'new@example.org'") == [(0,)]
    shown = command(other, "keys", "fingerprints")
    assert shown.returncode == 1 and "DIFFERS" in shown.stdout
    assert "another key" not in shown.stdout + shown.stderr
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0


@on_postgresql
def test_keys_init_on_the_first_host_then_copies_on_the_others(workspace, tmp_path):
    """`keys init` on a new store's first host makes the keys and records their fingerprints; on a second host it
    refuses to make others and says to copy them; once copied, `keys fingerprints` says they are the store's. No
    key is printed."""
    first = second_host(workspace, tmp_path / "host-a", keys=False)  # a host that has no keys yet
    made = command(first, "keys", "init")
    assert made.returncode == 0, made.stderr
    assert "unsubscribe secret: made" in made.stdout and "erasure key: made" in made.stdout
    assert "Recorded in the shared store" in made.stdout
    assert all(oct((first / "private" / name).stat().st_mode & 0o777) == "0o600" for name in KEY_FILES)
    other = second_host(first, tmp_path / "host-b", keys=False)
    refused = command(other, "keys", "init")
    assert refused.returncode == 1 and "copy private/unsubscribe.key" in refused.stderr, refused.stderr
    assert not (other / "private" / "unsubscribe.key").exists()
    (other / "private").mkdir(mode=0o700, exist_ok=True)
    for name in KEY_FILES:
        (other / "private" / name).write_bytes((first / "private" / name).read_bytes())
        (other / "private" / name).chmod(0o600)
    shown = command(other, "keys", "fingerprints")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.count("store: the same") == 2
    for secret in secrets_of(first):
        assert secret not in made.stdout + made.stderr + shown.stdout + shown.stderr


@on_postgresql
def test_keys_from_the_environment_or_a_systemd_credential(workspace, tmp_path):
    """A host may hold the keys in the environment or as systemd credentials (LoadCredential= puts them in
    $CREDENTIALS_DIRECTORY) instead of files: the same keys pass, and their source is named."""
    populate(workspace, 3)
    secret, erasure = secrets_of(workspace)
    other = second_host(workspace, tmp_path / "host-b", keys=False)
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "unsubscribe.key").write_text(secret + "\n")
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "MCO_NEWSLETTER_ERASURE_KEY": erasure}
    shown = command(other, "keys", "fingerprints", env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "(systemd credential unsubscribe.key)" in shown.stdout and "($MCO_NEWSLETTER_ERASURE_KEY)" in shown.stdout
    sent = command(other, "send", "2024-05", "--segment", "all", "--yes", env=env)
    assert sent.returncode == 0, sent.stderr


@pytest.mark.sqlite_only("one host: the keys are made on first use")
@pytest.mark.stores
def test_on_one_host_keys_init_makes_what_first_use_would(workspace, run):
    """With an SQLite store `keys init` makes the owner-only key files that first use would otherwise make, keeps
    them when run again, and `keys fingerprints` shows where each comes from without showing it."""
    listed = run("keys", "fingerprints")
    assert listed.exit_code == 0 and listed.output.count("missing here (made on first use)") == 2
    made = run("keys", "init")
    assert made.exit_code == 0 and made.output.count(": made ") == 2, made.output
    again = run("keys", "init")
    assert again.exit_code == 0 and again.output.count(": kept, from ") == 2
    shown = run("keys", "fingerprints", "--json").output
    for secret in secrets_of(workspace):
        assert secret not in made.output + again.output + shown
    assert "Recorded in the shared store" not in made.output
