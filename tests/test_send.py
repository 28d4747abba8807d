"""Sending: the ledger's exactly-once promise through the outbox, a spec-validating SendGrid server and SMTP."""

from __future__ import annotations

import json
from collections import Counter
from email import message_from_bytes
from email.policy import default

import pytest

from sendgrid_server import API_KEY, Faults, SendGridServer

FAST_RETRIES = """
[sending]
backend = "outbox"
max_retries = 8
retry_base_seconds = 0.001
retry_max_seconds = 0.01
rate_limit_max_wait_seconds = 0.05
"""


def configure(workspace, extra: str = "") -> None:
    """Replace the [sending] table with fast retries (and append `extra`)."""
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[sending]")
    end = text.index("[sendgrid]")
    path.write_text(text[:start] + FAST_RETRIES.strip() + "\n\n" + text[end:] + extra, encoding="utf-8")


def populate(workspace, count: int, *, languages=("en", "de", "ru")) -> list[str]:
    """Import `count` active subscribers through the real import; return their addresses."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.subscribers.csv_import import import_csv
    from mco_newsletter.subscribers.store import open_store

    addresses = [f"reader{i}@example.org" for i in range(count)]
    path = workspace / "readers.csv"
    path.write_text("email,language,tags\n" + "".join(
        f"{a},{languages[i % len(languages)]},{'russia' if i % 2 else 'press'}\n" for i, a in enumerate(addresses)),
        encoding="utf-8")
    settings = load_settings(workspace)
    store = open_store(settings.database_path)
    import_csv(store, path, languages=settings.languages, default_language=None, extra_tags=(),
               erasure_key=b"e" * 32, resubscribe=False, dry_run=False)
    store.close()
    return addresses


@pytest.fixture
def sendgrid(monkeypatch):
    """A local SendGrid server, and the environment pointing the backend at it."""
    server = SendGridServer().start()
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", server.url)
    yield server
    server.shutdown()


def ledger_counts(run, issue="2024-05"):
    return json.loads(run("send-status", issue, "--json").stdout)["campaigns"]


def test_outbox_sends_each_reader_once_with_their_own_link(run, workspace, settings):
    """Outbox: one complete .eml per reader, their address, their token, and a rerun adds nothing."""
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import read_token, unsubscribe_secret

    configure(workspace)
    addresses = populate(workspace, 30)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "en edition: 30 (of them 20 as fallback)" in result.stdout
    files = sorted((workspace / "private" / "outbox" / "new").iterdir())
    assert len(files) == 30
    secret = unsubscribe_secret(workspace / "private")
    store = open_store(settings.database_path)
    seen = []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=default)
        email = str(message["To"])
        seen.append(email)
        token = message["List-Unsubscribe"].split("/u/")[1].split(">")[0]
        assert store.by_id(read_token(secret, token, nonce_of=store.nonce)).email == email
        html = message.get_body(("html",)).get_content()
        assert f"https://digest.example.org/u/{token}" in html and "mcounsub" not in html
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    store.close()
    assert sorted(seen) == sorted(addresses)
    again = run("send", "2024-05", "--segment", "all", "--yes")
    assert again.exit_code == 0 and "Nothing left to send." in again.stdout
    assert len(list((workspace / "private" / "outbox" / "new").iterdir())) == 30


def test_dry_run_and_test_to_record_nothing(run, workspace):
    """--dry-run prints the plan; --test-to sends each edition once marked [TEST]; neither touches the ledger."""
    configure(workspace)
    populate(workspace, 4)
    dry = run("send", "2024-05", "--segment", "russia", "--dry-run")
    assert dry.exit_code == 0
    assert "Issue 2024-05 to segment 'russia': 2 readers" in dry.stdout
    assert "First readers: reader1@example.org [en], reader3@example.org [en]" in dry.stdout
    test = run("send", "2024-05", "--segment", "all", "--test-to", "editor@example.org")
    assert test.exit_code == 0, test.output
    [path] = (workspace / "private" / "outbox" / "new").iterdir()
    assert message_from_bytes(path.read_bytes(), policy=default)["Subject"] == "[TEST] Digest May 2024"
    assert ledger_counts(run) == []


def test_unapproved_fallback_is_refused(run, workspace):
    """When readers would get an unreviewed edition (here: a fallback without translation), send refuses."""
    configure(workspace)
    populate(workspace, 3)
    text = (workspace / "newsletter.toml").read_text().replace('fallback_language = "en"', 'fallback_language = "de"')
    (workspace / "newsletter.toml").write_text(text)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 1
    assert "the fallback edition (de) is not approved" in result.stderr
    assert ledger_counts(run) == []


def test_sendgrid_with_faults_every_reader_exactly_once(run, workspace, sendgrid):
    """5,000 readers, 20% injected faults (429, 5xx, slow, dropped): each accepted exactly once."""
    configure(workspace)
    addresses = populate(workspace, 5000)
    sendgrid.faults = Faults(rate_limit=0.05, server_error=0.05, slow=0.05, drop=0.05, slow_seconds=0.05, seed=7)
    sendgrid.random.seed(7)
    result = run("send", "2024-05", "--segment", "all", "--backend", "sendgrid", "--yes")
    assert result.exit_code == 0, result.output
    received = Counter(sendgrid.record.recipients())
    assert sorted(received) == sorted(addresses)
    assert set(received.values()) == {1}
    assert sum(sendgrid.record.faults.values()) > 0 and not sendgrid.record.invalid
    assert sendgrid.record.accepted_requests == 5  # one per 1,000 readers of the one edition
    assert API_KEY not in result.output
    private = b"".join(p.read_bytes() for p in (workspace / "private").iterdir() if p.is_file())
    assert API_KEY.encode() not in private  # not in the ledger, the settings snapshot or anywhere else
    [campaign] = ledger_counts(run)
    assert campaign["editions"] == {"en": {"sent": 5000}} and campaign["finished_at"]


def test_sendgrid_request_shape(run, workspace, sendgrid):
    """Personalizations carry the token, List-Unsubscribe headers and only campaign/row ids; tracking is off."""
    configure(workspace)
    populate(workspace, 3)
    sendgrid.keep_bodies = True
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 0
    [raw] = sendgrid.record.bodies
    body = json.loads(raw)
    assert body["categories"] == ["2024-05", "en"]
    assert body["tracking_settings"] == {"click_tracking": {"enable": False, "enable_text": False},
                                         "open_tracking": {"enable": False},
                                         "subscription_tracking": {"enable": False}}
    assert body["mail_settings"] == {"sandbox_mode": {"enable": False}}
    html = next(c["value"] for c in body["content"] if c["type"] == "text/html")
    for personalization in body["personalizations"]:
        [tag] = personalization["substitutions"]
        token = personalization["substitutions"][tag]
        assert tag in html
        assert set(personalization["custom_args"]) == {"campaign", "delivery"}
        assert "@" not in json.dumps(personalization["custom_args"])
        assert personalization["headers"]["List-Unsubscribe"].startswith(f"<https://digest.example.org/u/{token}>, <mailto:")
        assert personalization["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_sendgrid_sandbox_and_schedule(run, workspace, sendgrid):
    """sandbox_mode and send_at come from settings."""
    configure(workspace)
    text = (workspace / "newsletter.toml").read_text().replace("sandbox_mode = false", "sandbox_mode = true\nsend_at = 1900000000")
    (workspace / "newsletter.toml").write_text(text)
    populate(workspace, 2)
    sendgrid.keep_bodies = True
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 0
    body = json.loads(sendgrid.record.bodies[0])
    assert body["mail_settings"]["sandbox_mode"]["enable"] is True and body["send_at"] == 1900000000


def test_sendgrid_refusal_stops_and_shows_the_error(run, workspace, sendgrid, monkeypatch):
    """401 (bad key) stops at once with SendGrid's message, records nothing as sent, never shows the key."""
    configure(workspace)
    populate(workspace, 10)
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong-key-that-must-not-appear")
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 1
    assert "SendGrid refused the request (401)" in result.stderr and "authorization grant is invalid" in result.stderr
    assert "wrong-key" not in result.output
    assert ledger_counts(run)[0]["editions"] == {"en": {"pending": 10}}
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    resumed = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert resumed.exit_code == 0 and Counter(sendgrid.record.recipients()).most_common(1)[0][1] == 1


def test_retries_exhausted_exit_3_then_resume(run, workspace, sendgrid):
    """A provider that keeps failing leaves rows failed and exits 3; a rerun sends exactly those."""
    configure(workspace)
    addresses = populate(workspace, 1500)
    sendgrid.faults = Faults(server_error=1.0)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 3, result.output
    assert "gave up after 8 retries" in result.stderr
    sendgrid.faults = Faults()
    resumed = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)


def test_unsubscribed_during_campaign_are_skipped(workspace, settings, run):
    """Readers who leave after the campaign started are skipped, not sent."""
    from mco_newsletter.delivery.campaign import edition_map, snapshot
    from mco_newsletter.delivery.ledger import Ledger
    from mco_newsletter.subscribers.segments import Segment
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.workspace import load_issue

    configure(workspace)
    populate(workspace, 6)
    store = open_store(settings.database_path)
    issue = load_issue(settings, "2024-05")
    Ledger(store).create(issue_id=issue.id, segment=Segment("all"), editions=edition_map(settings, issue),
                         fallback="en", snapshot=snapshot(settings, "outbox"))
    with store.transaction():
        store.set_status(store.get("reader2@example.org").id, "unsubscribed")
        store.set_status(store.get("reader4@example.org").id, "bounced")
    store.close()
    assert run("subscribers", "erase", "reader5@example.org", "--yes").exit_code == 0
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "3 sent, 0 failed, 2 skipped" in result.stdout
    sent = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["To"])
                  for p in (workspace / "private" / "outbox" / "new").iterdir())
    assert sent == ["reader0@example.org", "reader1@example.org", "reader3@example.org"]


@pytest.fixture
def smtp_server(workspace, monkeypatch):
    """A real aiosmtpd server on loopback requiring login; newsletter.toml pointed at it."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mco" and auth_data.password == b"s3cret-password"
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

    with socket.socket() as probe:  # aiosmtpd's controller cannot start on port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    configure(workspace)
    text = (workspace / "newsletter.toml").read_text()
    text = text.replace('host = "localhost"\nport = 587\nsecurity = "starttls"',
                        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"')
    (workspace / "newsletter.toml").write_text(text.replace("timeout = 30\n", "timeout = 5\n"))
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_USER", "mco")
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "s3cret-password")
    yield received
    controller.stop()


def test_smtp_through_a_real_server(run, workspace, smtp_server):
    """SMTP via a real aiosmtpd server on loopback, with login: every reader once, the full message."""
    addresses = populate(workspace, 40)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert sorted(r[0][0] for r in smtp_server) == sorted(addresses)
    message = message_from_bytes(smtp_server[0][1], policy=default)
    assert message.get_content_type() == "multipart/alternative" and message["List-Unsubscribe-Post"]
    assert not message.defects


def test_smtp_rate_limit_and_wrong_password(run, workspace, smtp_server, monkeypatch):
    """messages_per_second paces the send; a refused login is a clear error that shows no password."""
    import time

    text = (workspace / "newsletter.toml").read_text().replace("messages_per_second = 0", "messages_per_second = 40")
    (workspace / "newsletter.toml").write_text(text)
    populate(workspace, 20)
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "wrong-password")
    refused = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert refused.exit_code == 1 and "refused the login" in refused.stderr and "wrong-password" not in refused.output
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "s3cret-password")
    start = time.monotonic()
    assert run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes").exit_code == 0
    assert time.monotonic() - start >= 19 / 40
    assert len(smtp_server) == 20
