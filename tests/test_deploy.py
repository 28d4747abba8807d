"""What docs/deploy.md installs: the systemd units (checked by systemd-analyze verify), secrets from systemd
credentials, the proxy setting `serve` believes, and what `serve` refuses on a shared store."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

UNITS = REPO / "deploy" / "systemd"
INSTALLED = "/opt/mco-newsletter/bin/mco-newsletter"
# Each unit as systemd would be asked to start it (a template with an instance name).
STARTED = ("mco-newsletter-serve@8025.service", "mco-newsletter-send@2024-05.service",
           "mco-newsletter-bounces.service", "mco-newsletter-bounces.timer", "mco-newsletter-backup.service",
           "mco-newsletter-backup.timer")
ANALYZE = shutil.which("systemd-analyze")


def unit_text(name: str) -> str:
    return (UNITS / name).read_text(encoding="utf-8")


def verify(folder: Path, unit: str) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, "verify", f"./{unit}"], cwd=folder, capture_output=True, text=True, timeout=60)


def installed_copy(tmp_path: Path) -> Path:
    """The units as a host has them, the tool's path pointing at a program that exists here (verify checks it)."""
    folder = tmp_path / "units"
    folder.mkdir()
    for path in UNITS.iterdir():
        (folder / path.name).write_text(path.read_text(encoding="utf-8").replace(INSTALLED, sys.executable),
                                        encoding="utf-8")
    return folder


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (./test installs Debian's systemd)")
def test_the_systemd_units_verify(tmp_path):
    """Every unit in deploy/systemd passes `systemd-analyze verify` without a word; a unit whose program is missing
    does not (the check is real)."""
    folder = installed_copy(tmp_path)
    assert sorted(path.name for path in UNITS.iterdir()) == sorted(
        re.sub(r"@[^.]+\.", "@.", unit) for unit in STARTED)
    for unit in STARTED:
        checked = verify(folder, unit)
        assert checked.returncode == 0 and checked.stderr == "", (unit, checked.stderr)
    (folder / "mco-newsletter-bounces.service").write_text(unit_text("mco-newsletter-bounces.service"))
    broken = verify(folder, "mco-newsletter-bounces.service")
    assert broken.returncode != 0 and INSTALLED in broken.stderr


def test_the_units_run_the_tools_commands_and_rerun_an_incomplete_send():
    """Each ExecStart of the tool is a command line its CLI takes; `send` reruns on exit code 3 (and on a kill), not
    on an error a person must fix; serve restarts always; each credential is a secret the tool reads."""
    from click.testing import CliRunner

    from mco_newsletter.cli import cli
    from mco_newsletter.credentials import NAMES

    for path in UNITS.glob("*.service"):
        text = path.read_text(encoding="utf-8")
        for line in re.findall(rf"^ExecStart={re.escape(INSTALLED)} (.*)$", text, re.M):
            words = shlex.split(line.replace("%i", "8025" if "serve" in path.name else "2024-05")
                                .replace("${SERVE_HOST}", "127.0.0.1").replace("${SEGMENT}", "all")
                                .replace("$SERVE_OPTIONS", "--editor"))
            result = CliRunner().invoke(cli, [*words, "--help"])
            assert result.exit_code == 0, (path.name, line, result.output)
        for name in re.findall(r"^LoadCredential=([A-Z_]+):", text, re.M):
            assert name in NAMES, (path.name, name)
    send = unit_text("mco-newsletter-send@.service")
    assert "Type=oneshot" in send and "Restart=on-failure" in send and "RestartPreventExitStatus=1 2" in send
    assert "TimeoutStartSec=infinity" in send
    assert "Restart=always" in unit_text("mco-newsletter-serve@.service")
    assert "--no-unlogged-table-data" in unit_text("mco-newsletter-backup.service")


def test_credentials_come_from_systemd(tmp_path, monkeypatch):
    """Under systemd a secret the environment lacks is read from $CREDENTIALS_DIRECTORY (its line end dropped); one
    the environment sets wins; an unreadable credential is a sentence."""
    from mco_newsletter.credentials import load_credentials
    from mco_newsletter.errors import NewsletterError

    (tmp_path / "SENDGRID_API_KEY").write_text("SG.from-the-credential\n")
    (tmp_path / "MCO_NEWSLETTER_SMTP_PASSWORD").write_text("not this one\n")
    (tmp_path / "SOMETHING_ELSE").write_text("never read\n")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path), "MCO_NEWSLETTER_SMTP_PASSWORD": "the environment's"}
    assert load_credentials(environ) == ["SENDGRID_API_KEY"]
    assert environ["SENDGRID_API_KEY"] == "SG.from-the-credential"
    assert environ["MCO_NEWSLETTER_SMTP_PASSWORD"] == "the environment's" and "SOMETHING_ELSE" not in environ
    (tmp_path / "PGPASSWORD").write_bytes(b"\xff\xfe")
    with pytest.raises(NewsletterError, match="the credential PGPASSWORD cannot be read: not UTF-8 text"):
        load_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_the_store_url_comes_from_a_credential(run, workspace, tmp_path, monkeypatch):
    """`database status` under systemd finds the PostgreSQL store in the credential MCO_NEWSLETTER_DB."""
    import os

    url = os.environ.pop("MCO_NEWSLETTER_DB")
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "MCO_NEWSLETTER_DB").write_text(url + "\n")
    monkeypatch.delenv("MCO_NEWSLETTER_DB", raising=False)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "credentials"))
    result = run("database", "status")
    assert result.exit_code == 0 and "PostgreSQL" in result.output, result.output


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_serve_on_postgresql_refuses_the_outbox(run, workspace):
    """Readers' emails from replicas never go to a host's outbox: `serve` on a PostgreSQL store with the outbox
    backend stops before it starts, saying which backends do."""
    result = run("serve", "--port", "1")
    assert result.exit_code == 1
    assert "the outbox would leave them in this host's folder" in result.output
    assert 'backend = "sendgrid" or "smtp"' in result.output


@pytest.mark.parametrize("value, message", [
    ('"127.0.0.1"', "must be a list"),
    ('["proxy.example.org"]', "'proxy.example.org' is not an IP address or network"),
    ('["*"]', "anyone could pose as anyone"),
    ('["10.0.0.0/33"]', "'10.0.0.0/33' is not an IP address or network"),
])
def test_check_refuses_a_wrong_trusted_proxy(run, workspace, value, message):
    """[web] trusted_proxies takes addresses and networks only, each refused with its line."""
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write(f"\n[web]\ntrusted_proxies = {value}\n")
    result = run("check")
    assert result.exit_code != 0 and message in result.output, result.output
    assert "newsletter.toml:" in result.output


def test_serve_believes_x_forwarded_for_from_its_trusted_proxies_only(workspace, tmp_path):
    """With [web] trusted_proxies = ["127.0.0.2"], a header from 127.0.0.2 names the client and one from 127.0.0.1
    (not trusted any more) names nobody: its sender is the client, whatever the header says."""
    from replicas import Replica, client

    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[signup]\nclient_limit = 2\n\n[web]\ntrusted_proxies = ["127.0.0.2"]\n')
    replica = Replica(workspace, tmp_path / "serve.log").start()
    try:
        def sign_ups(source: str, headers: list[str]) -> list[int]:
            with client(None, source=source) as browser:
                return [browser.post(replica.url + "/subscribe", data={"email": f"r{n}@example.org"},
                                     headers={"X-Forwarded-For": forwarded}).status_code
                        for n, forwarded in enumerate(headers)]

        believed = sign_ups("127.0.0.2", ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
        ignored = sign_ups("127.0.0.1", ["198.51.100.4", "198.51.100.5", "198.51.100.6"])
    finally:
        replica.stop()
    assert believed == [200, 200, 200] and ignored == [200, 200, 429]


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (./test installs Debian's nginx)")
def test_docs_deploy_is_followed_from_start_to_finish_on_loopback():
    """bench/deploy_walkthrough.py runs docs/deploy.md's commands and units on this machine (a cluster of its own,
    the secrets as credentials, two replicas, nginx with TLS, the archive, a sign-up, a send, the health route, the
    backup and its restore) and ends well; a command the page no longer says would stop it."""
    from postgres_cluster import server_bin

    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (./test installs Debian's postgresql)")
    walked = subprocess.run([sys.executable, str(REPO / "bench" / "deploy_walkthrough.py")], capture_output=True,
                            text=True, timeout=600)
    assert walked.returncode == 0, walked.stdout + walked.stderr
    assert walked.stdout.strip().splitlines()[-1].startswith("docs/deploy.md followed from start to finish")
