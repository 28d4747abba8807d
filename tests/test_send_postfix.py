"""Sending through a real Postfix (Debian's, a private instance on loopback per test): what its answers mean
for the readers and for the campaign (a refused message, a refused reader, a full mailbox), its SIZE, a
transaction it keeps open after a refusal, its certificate, its connection and rate limits."""

from __future__ import annotations

import json
import re
import socket
from collections import Counter

import pytest
from stores import db_rows

from postfix_server import Postfix, unavailable
from test_send import populate
from test_send_sendgrid_http import certificate  # noqa: F401 — a fixture: a self-signed certificate for 127.0.0.1
from test_send_smtp import point_at, states

SEND = ("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")


def set_smtp(workspace, **values) -> None:
    """Set keys of newsletter.toml's [smtp] table (strings quoted), adding those it lacks."""
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[smtp]\n")
    end = text.index("\n[", start + 1)
    table = text[start:end]
    for key, value in values.items():
        line = f"{key} = {json.dumps(value) if isinstance(value, str) else value}"
        table, found = re.subn(rf"(?m)^{key} = .*$", line, table)
        if not found:
            table += f"\n{line}"
    path.write_text(text[:start] + table + text[end:], encoding="utf-8")


def set_sending(workspace, **values) -> None:
    """Set keys of newsletter.toml's [sending] table."""
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def postfix(workspace):
    """Start a private Postfix with the given options, newsletter.toml pointed at it; each stopped after the test."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    servers: list[Postfix] = []
    point_at(workspace, 25)

    def start(**options) -> Postfix:
        server = Postfix(**options)
        servers.append(server)
        set_smtp(workspace, port=server.port)
        return server

    yield start
    for server in servers:
        server.stop()


def status_of(run, address: str) -> str:
    return json.loads(run("subscribers", "show", address, "--json").stdout)["status"]


def attempts(settings) -> Counter[int]:
    """How many ledger rows count how many attempts."""
    return Counter(count for (count,) in db_rows(settings, "SELECT attempts FROM deliveries"))


@pytest.mark.stores
def test_a_message_over_the_size_limit_stops_the_send_and_unsubscribes_nobody(run, workspace, postfix):
    """Postfix refuses the message at the end of its data (552 5.3.4, message_size_limit below the edition, SIZE
    not announced): the campaign stops with a clear message (exit 1), every reader stays pending, nobody is
    marked bounced; once the limit is raised, the same command sends everyone."""
    addresses = populate(workspace, 12)
    server = postfix(settings={"message_size_limit": "20000", "smtpd_discard_ehlo_keywords": "size"})
    result = run(*SEND)
    assert result.exit_code == 1, result.output
    assert "the SMTP server refused the message itself" in result.stderr and "552 5.3.4" in result.stderr
    assert "message_size_limit" in result.stderr and "Traceback" not in result.output
    assert states(run) == {"pending": 12}
    assert {status_of(run, address) for address in addresses} == {"active"}
    server.stop()
    server = postfix()
    again = run(*SEND)
    assert again.exit_code == 0, again.output
    assert server.delivered() == Counter(addresses)


@pytest.mark.stores
def test_an_edition_over_the_servers_size_is_refused_before_anything_is_sent(run, workspace, postfix, settings):
    """Postfix announces SIZE 20000 in its EHLO answer and the edition is larger: the send stops before a single
    MAIL command, saying both sizes and what to do; every reader stays pending."""
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.workspace import load_issue

    populate(workspace, 6)
    server = postfix(settings={"message_size_limit": "20000"})
    result = run(*SEND)
    assert result.exit_code == 1, result.output
    edition = prepare_editions(settings, load_issue(settings, "2024-05"), ["en"])["en"]
    size = len(edition.template.head) + len(edition.template.body)
    shown = re.search(r"the \[en\] edition is ([\d,]+) bytes and the SMTP server takes at most 20,000", result.stderr)
    assert shown, result.stderr
    assert abs(int(shown.group(1).replace(",", "")) - size) < 1000
    assert "message_size_limit" in result.stderr and "nothing was sent" in result.stderr
    assert states(run) == {"pending": 6}
    assert ": client=" not in server.log()  # Postfix logs a transaction's queue id at MAIL: there was none


@pytest.mark.stores
def test_a_policy_refusal_at_the_end_of_data_stops_the_send(run, workspace, postfix):
    """Postfix's end-of-data restrictions refuse one message (554 5.7.1): the message is refused, not the reader,
    so the send stops (exit 1) naming the answer, not the sender address; nobody is bounced, and every reader
    not sent stays pending."""
    addresses = populate(workspace, 20)
    postfix(end_of_data={addresses[6]: "REJECT Message refused by policy"})
    result = run(*SEND)
    assert result.exit_code == 1, result.output
    assert "the SMTP server refused the message itself" in result.stderr and "554 5.7.1" in result.stderr
    assert "[sender]" not in result.stderr
    counted = states(run)
    assert counted.get("refused", 0) == 0 and counted.get("pending", 0) >= 1 and sum(counted.values()) == 20
    assert {status_of(run, address) for address in addresses} == {"active"}


@pytest.mark.stores
def test_only_an_answer_about_the_reader_marks_them_bounced(run, workspace, postfix):
    """An unknown mailbox (Postfix's own 550 5.1.1) or a disabled one (Gmail's 550 5.2.1) is final: refused, the
    reader bounced, and the campaign goes on. A full mailbox is
    temporary whatever its basic code (552 5.2.2, 452 4.2.2): those readers are tried again and left open
    (exit 3), still subscribed. Everyone else gets the issue once."""
    addresses = populate(workspace, 12)
    unknown, full, also_full, disabled = addresses[2], addresses[5], addresses[8], addresses[10]
    server = postfix(unknown=[unknown], recipient_access={full: "552 5.2.2 Mailbox full",
                                                          also_full: "452 4.2.2 Mailbox full",
                                                          disabled: "550 5.2.1 The email account is disabled"})
    result = run(*SEND)
    assert result.exit_code == 3, result.output
    assert server.delivered() == Counter(a for a in addresses if a not in (unknown, full, also_full, disabled))
    assert states(run) == {"sent": 8, "refused": 2, "failed": 2}
    assert status_of(run, unknown) == status_of(run, disabled) == "bounced"
    assert status_of(run, full) == status_of(run, also_full) == "active"


@pytest.mark.stores
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one_by_one"])
def test_a_transaction_kept_open_after_a_refused_end_of_data_is_reset(run, workspace, postfix, pipelining):
    """Postfix keeps the transaction open after its end-of-data restrictions put a message off (451): without
    a reset, the next MAIL gets "503 nested MAIL". The send resets it: every other reader gets the issue once,
    the one put off is tried again and left open (exit 3), and no word about the sender address."""
    addresses = populate(workspace, 20)
    put_off = addresses[6]
    server = postfix(settings={} if pipelining else {"smtpd_discard_ehlo_keywords": "pipelining"},
                     end_of_data={put_off: "451 4.3.0 Try again later"})
    result = run(*SEND)
    assert result.exit_code == 3, result.output
    assert "nested MAIL" not in result.output and "[sender]" not in result.output
    assert server.delivered() == Counter(a for a in addresses if a != put_off)
    assert states(run) == {"sent": 19, "failed": 1}


@pytest.mark.stores
def test_an_untrusted_certificate_stops_at_once_and_ca_file_trusts_it(run, workspace, postfix,
                                                                     certificate):  # noqa: F811
    """Postfix with a self-signed certificate, over STARTTLS and over TLS from the first byte: the send stops at
    once (exit 1, no retries, nothing sent, readers pending), saying the certificate is not valid and how to
    trust it; with [smtp] ca_file naming it, the same command sends everyone."""
    addresses = populate(workspace, 8)
    server = postfix(certificate=certificate)
    for security, port in (("starttls", server.port), ("tls", server.tls_port)):
        set_smtp(workspace, security=security, port=port)
        refused = run(*SEND)
        assert refused.exit_code == 1, refused.output
        assert "the SMTP server's certificate is not valid (self" in refused.stderr, refused.stderr
        assert "ca_file" in refused.stderr and "Retry" not in refused.output and "Traceback" not in refused.output
        assert states(run) == {"pending": 8}
    set_smtp(workspace, ca_file=str(certificate[0]), host="localhost")  # the certificate names 127.0.0.1 only
    wrong_name = run(*SEND)
    assert wrong_name.exit_code == 1 and "certificate is not valid (Hostname mismatch" in wrong_name.stderr
    set_smtp(workspace, host="127.0.0.1")
    trusted = run(*SEND)
    assert trusted.exit_code == 0, trusted.output
    assert server.delivered() == Counter(addresses)


def test_ca_file_is_checked_with_its_line(run, workspace, tmp_path):
    """A ca_file that does not exist, or holds no certificate, is a problem `check` reports at its line."""
    point_at(workspace, 25)
    set_smtp(workspace, ca_file="private/missing-ca.pem")
    line = next(n for n, text in enumerate((workspace / "newsletter.toml").read_text().splitlines(), 1)
                if text.startswith("ca_file"))
    missing = run("check")
    assert missing.exit_code == 1 and f"newsletter.toml:{line}: smtp.ca_file" in missing.output, missing.output
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello\n")
    set_smtp(workspace, ca_file=str(not_pem))
    wrong = run("check")
    assert wrong.exit_code == 1 and f"newsletter.toml:{line}: smtp.ca_file" in wrong.output, wrong.output
    assert "certificate" in wrong.output and "Traceback" not in wrong.output


def test_the_smtp_socket_sends_without_delay(workspace, postfix, certificate):  # noqa: F811
    """Each connection's socket has TCP_NODELAY (without it, the end of each message waited for the server's
    delayed acknowledgement: about 50 ms per message), over plain SMTP, STARTTLS and TLS."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.delivery.backends.smtp import SmtpBackend

    server = postfix(certificate=certificate)
    for security, port in (("none", server.port), ("starttls", server.port), ("tls", server.tls_port)):
        set_smtp(workspace, security=security, port=port, ca_file=str(certificate[0]))
        backend = SmtpBackend(load_settings(workspace).sending.smtp)
        connection = backend.connect("newsletter@example.org")
        try:
            assert connection.client.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), security
        finally:
            backend._quit(connection)
            backend.close()


@pytest.mark.stores
def test_no_retry_for_nobody_when_other_connections_carried_everyone(run, workspace, postfix):
    """Postfix takes two connections from this client and answers the other two "421 4.7.0 too many
    connections": the two carry every reader, so there is nothing to retry, and no retry is shown or counted."""
    addresses = populate(workspace, 30)
    set_smtp(workspace, connections=4)
    server = postfix(settings={"smtpd_client_connection_count_limit": "2", "smtpd_client_event_limit_exceptions": ""})
    result = run(*SEND)
    assert result.exit_code == 0, result.output
    assert "Retry" not in result.output and "0 retries" in result.stdout
    assert "Connection concurrency limit exceeded" in server.log()  # the case this test is about
    assert server.delivered() == Counter(addresses)


@pytest.mark.stores
def test_a_rate_limit_is_waited_out(run, workspace, postfix):
    """Postfix's per-client message rate (450 4.7.1 "too much mail", a window of 2 s here): the send waits
    as a rate limit asks (up to rate_limit_max_wait_seconds) instead of spending its quick retries within the
    window, and everyone gets the issue once."""
    addresses = populate(workspace, 10)
    set_smtp(workspace, connections=1)
    set_sending(workspace, rate_limit_max_wait_seconds=2.5)
    server = postfix(settings={"smtpd_client_message_rate_limit": "4", "anvil_rate_time_unit": "2s",
                               "smtpd_client_event_limit_exceptions": ""})
    result = run(*SEND)
    assert result.exit_code == 0, result.output
    assert "450 4.7.1" in result.stderr and " in 2.5 s " in result.stderr
    assert server.delivered() == Counter(addresses)


@pytest.mark.stores
def test_no_word_of_a_crash_after_a_run_that_ended_normally(run, workspace, postfix):
    """A run that gives up on a reader Postfix keeps answering 421 at the end of their message leaves no note
    behind: the next run sends that reader without claiming an earlier run crashed or that anyone may
    have it twice."""
    addresses = populate(workspace, 10)
    held = addresses[4]
    server = postfix(end_of_data={held: "421 4.7.0 Try again later"})
    first = run(*SEND)
    assert first.exit_code == 3, first.output
    assert states(run) == {"sent": 9, "failed": 1}
    server.stop()
    server = postfix()
    second = run(*SEND)
    assert second.exit_code == 0, second.output
    assert "may have it twice" not in second.output and "crash" not in second.output
    assert json.loads(run("send-status", "2024-05", "--json").stdout)["campaigns"][0]["may_have_it_twice"] == 0
    assert server.delivered() == Counter([held])


def test_a_reader_behind_one_that_keeps_getting_421_is_not_starved(run, workspace, postfix):
    """One connection, and Postfix answers 421 at the end of one reader's message (closing the connection)
    at every try: the reader queued behind them on that connection, never refused themselves, is sent on
    the retry instead of sharing the 421 reader's fate on every attempt."""
    addresses = populate(workspace, 10)
    held = addresses[4]
    set_smtp(workspace, connections=1)
    postfix(end_of_data={held: "421 4.7.0 Try again later"})
    result = run(*SEND)
    assert result.exit_code == 3, result.output
    assert states(run) == {"sent": 9, "failed": 1}


@pytest.mark.stores
def test_smtp_deliveries_count_their_attempts(run, workspace, postfix, settings):
    """Each reader's row counts the times their message was tried: once for those Postfix took or refused,
    once more per retry for a reader it kept putting off."""
    addresses = populate(workspace, 6)
    postfix(unknown=[addresses[1]], recipient_access={addresses[3]: "452 4.2.2 Mailbox full"})
    result = run(*SEND)
    assert result.exit_code == 3, result.output
    assert attempts(settings) == Counter({1: 5, 1 + 8: 1})  # max_retries = 8 in the tests' settings
