"""Sending through a real SMTP server (aiosmtpd on loopback): login, pacing, per-recipient answers,
international addresses, retries as they happen, and what happens on Ctrl-C."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

import pytest

from smtp_sink import Recording, start_recording
from test_send import configure, populate

LOGIN = (b"mco", b"s3cret-password")


def point_at(workspace, port: int, *, rate: float = 0, connections: int = 4, timeout: float = 5,
             security: str = "none", host: str = "127.0.0.1") -> None:
    """newsletter.toml's [smtp] aimed at a server (and fast retries in [sending])."""
    configure(workspace)
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('host = "localhost"\nport = 587\nsecurity = "starttls"',
                        f'host = "{host}"\nport = {port}\nsecurity = "{security}"')
    text = text.replace("messages_per_second = 0 ", f"messages_per_second = {rate} ")
    text = text.replace("connections = 4\ntimeout = 30\n", f"connections = {connections}\ntimeout = {timeout}\n")
    path.write_text(text, encoding="utf-8")


@contextmanager
def serving(handler: Recording, workspace, *, smtputf8: bool = True):
    """A recording server for the block's duration, with newsletter.toml pointed at it."""
    controller = start_recording(handler, smtputf8=smtputf8)
    try:
        point_at(workspace, controller.port)
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def smtp(workspace, monkeypatch):
    """A recording SMTP server on loopback requiring login; newsletter.toml and the credentials pointed at it."""
    handler = Recording()
    controller = start_recording(handler, login=LOGIN)
    point_at(workspace, controller.port)
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_USER", "mco")
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "s3cret-password")
    handler.port = controller.port
    yield handler
    controller.stop()


def states(run, issue="2024-05") -> dict[str, int]:
    totals: Counter[str] = Counter()
    for campaign in json.loads(run("send-status", issue, "--json").stdout)["campaigns"]:
        for counts in campaign["editions"].values():
            totals.update(counts)
    return dict(totals)


def test_smtp_through_a_real_server(run, workspace, smtp):
    """SMTP via a real aiosmtpd server on loopback, with login: every reader once, the full message."""
    addresses = populate(workspace, 40)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert sorted(smtp.recipients()) == sorted(addresses)
    message = message_from_bytes(smtp.messages[0][2], policy=default)
    assert message.get_content_type() == "multipart/alternative" and message["List-Unsubscribe-Post"]
    assert not message.defects


def test_smtp_rate_limit_paces_the_messages(run, workspace, smtp):
    """messages_per_second spaces the messages as they arrive at the server (without a limit they come
    all at once), whatever the time taken to start the command."""
    text = (workspace / "newsletter.toml").read_text().replace("messages_per_second = 0 ", "messages_per_second = 20 ")
    (workspace / "newsletter.toml").write_text(text)
    populate(workspace, 30)
    assert run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes").exit_code == 0
    times = sorted(at for at, _, _ in smtp.messages)
    assert len(times) == 30
    assert times[-1] - times[0] >= 29 / 20 * 0.9
    gaps = sorted(later - earlier for earlier, later in zip(times, times[1:]))
    assert gaps[len(gaps) // 2] >= 1 / 20 * 0.5  # the median gap: robust to a stall that bunches a few


def test_wrong_password_is_clear_and_leaves_rows_pending(run, workspace, smtp, monkeypatch):
    """A refused login is a clear error that shows no password, and puts nobody in `sending` (nothing went out)."""
    populate(workspace, 20)
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "wrong-password")
    refused = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert refused.exit_code == 1 and "refused the login" in refused.stderr and "wrong-password" not in refused.output
    assert states(run) == {"pending": 20}
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "s3cret-password")
    again = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert again.exit_code == 0 and "may have it twice" not in again.output
    assert len(smtp.recipients()) == 20


def test_per_recipient_answers(run, workspace, monkeypatch):
    """A 452 for one reader is retried for that reader while the others go on; a 550 is final: `refused`,
    the reader marked bounced, and the command exits 0 when only refusals remain."""
    addresses = populate(workspace, 12)
    handler = Recording(refuse={addresses[3]}, defer={addresses[1]: 2, addresses[7]: 1})
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert Counter(handler.recipients()) == Counter(a for a in addresses if a != addresses[3])
    assert handler.attempts[addresses[1]] == 3 and handler.attempts[addresses[7]] == 2
    assert "Retry 1 of 8" in result.stderr and "the server put off" in result.stderr
    assert "1 refused by the server" in result.stdout
    assert states(run) == {"sent": 11, "refused": 1}
    shown = json.loads(run("subscribers", "show", addresses[3], "--json").stdout)
    assert shown["status"] == "bounced"


def test_a_reader_deferred_for_good_is_left_open_and_a_rerun_sends_only_them(run, workspace):
    """A reader the server keeps putting off does not hold up the next batches: everyone else is sent, that
    reader is left failed (exit 3) after the retries, and a rerun tries only them."""
    addresses = populate(workspace, 1100)  # two batches
    handler = Recording(defer={addresses[2]: 100})
    with serving(handler, workspace):
        first = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
        assert first.exit_code == 3, first.output
        assert states(run) == {"sent": 1099, "failed": 1}
        handler.defer.clear()
        second = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert second.exit_code == 0, second.output
    assert Counter(handler.recipients()) == Counter(addresses)


def test_a_closed_port_shows_each_retry_and_counts_them_once(run, workspace):
    """Nothing listening: every retry is shown as it happens, and the summary counts as many as the stop says."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    point_at(workspace, port)
    populate(workspace, 3)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 3
    shown = [line for line in result.stderr.splitlines() if line.startswith("Retry ")]
    assert [line.split(" in ")[0] for line in shown] == [f"Retry {n} of 8" for n in range(1, 9)]
    assert "gave up after 8 retries" in result.stderr and "8 retries." in result.stdout
    assert states(run) == {"failed": 3}


def test_international_addresses_travel_in_ascii(run, workspace):
    """Addresses at internationalised domains reach a server without SMTPUTF8, in their xn-- form."""
    path = workspace / "intl.csv"
    path.write_text("email,language\nreader@xn--e1afmkfd.xn--p1ai,ru\nleser@пример.рф,de\n", encoding="utf-8")
    assert run("subscribers", "import", str(path)).exit_code == 0
    handler = Recording()
    with serving(handler, workspace, smtputf8=False):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(handler.recipients()) == ["leser@xn--e1afmkfd.xn--p1ai", "reader@xn--e1afmkfd.xn--p1ai"]
    for _, rcpt, content in handler.messages:
        assert f"To: {rcpt}".encode() in content


def test_no_password_over_cleartext_to_another_host(run, workspace, monkeypatch):
    """With security = "none", credentials are refused unless the server is this machine; nothing is recorded."""
    point_at(workspace, 2525, host="smtp.example.org")
    populate(workspace, 3)
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_USER", "mco")
    monkeypatch.setenv("MCO_NEWSLETTER_SMTP_PASSWORD", "s3cret-password")
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 1 and "without TLS" in result.stderr and "s3cret" not in result.output
    assert states(run) == {}


def test_test_to_with_smtp_down_is_a_clear_error(run, workspace):
    """--test-to when the SMTP server does not answer: a sentence, no traceback, nothing recorded."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    point_at(workspace, port)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--test-to", "editor@example.org")
    assert result.exit_code == 1
    assert "Error: the [en] test message could not be sent via smtp: cannot connect" in result.stderr
    assert "Traceback" not in result.output
