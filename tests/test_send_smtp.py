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

pytestmark = pytest.mark.stores

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
        assert f"To: <{rcpt}>".encode() in content


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
    assert "\n  hint: check that the server is reachable and its settings are right; nothing was recorded" in \
        result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def counting_sink(workspace):
    """The counting sink (tests/smtp_sink.py) in its own process; newsletter.toml pointed at it."""
    from smtp_sink import CountingSink

    sinks = []

    def start(*, pipelining: bool = True) -> CountingSink:
        sink = CountingSink(pipelining=pipelining)
        sinks.append(sink)
        point_at(workspace, sink.port)
        return sink

    yield start
    for sink in sinks:
        sink.close()


def test_pipelining_sends_each_message_in_one_round_trip(run, workspace, counting_sink):
    """To a server that offers PIPELINING, a message's body goes with the next message's MAIL, RCPT and
    DATA: about one wait for the server per message instead of four."""
    sink = counting_sink(pipelining=True)
    populate(workspace, 200)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    counted = sink.take()
    assert counted["messages"] == 200
    assert counted["early"] >= 150  # commands that came before the answer to the one before them
    assert counted["rounds"] <= 1.5 * 200, counted


def test_no_pipelining_to_a_server_that_does_not_offer_it(run, workspace, counting_sink):
    """A server without PIPELINING gets each command only after it answered the one before."""
    sink = counting_sink(pipelining=False)
    populate(workspace, 50)
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    counted = sink.take()
    assert counted["messages"] == 50 and counted["early"] == 0, counted


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one_by_one"])
def test_answers_in_the_middle_of_a_pipelined_group(run, workspace, pipelining):
    """Answers about a reader at RCPT (550, 452) and at the end of the data (550 5.1.1, 451) count for that
    reader alone; the messages pipelined around them arrive whole, each once, and the refused transaction
    is reset."""
    addresses = populate(workspace, 30)
    handler = Recording(pipelining=pipelining, refuse={addresses[3]}, defer={addresses[4]: 1},
                        reject_data={addresses[5]: ("550 5.1.1 Mailbox unknown", 99),
                                     addresses[6]: ("451 4.3.0 Try again later", 1)})
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert Counter(handler.recipients()) == Counter(a for a in addresses if a not in (addresses[3], addresses[5]))
    assert states(run) == {"sent": 28, "refused": 2}
    assert "2 refused by the server" in result.stdout
    for _, rcpt, content in handler.messages:
        message = message_from_bytes(content, policy=default)
        assert message["To"] == rcpt and not message.defects
    for refused in (addresses[3], addresses[5]):
        assert json.loads(run("subscribers", "show", refused, "--json").stdout)["status"] == "bounced"


@pytest.mark.parametrize("answer", ["554 5.6.0 Content refused", "552 Message size exceeds fixed limit"])
def test_a_refused_message_stops_the_send_and_bounces_nobody(run, workspace, answer):
    """A refusal of the message, not of the reader (content 5.6.0; 552 at the end of the data), would come for
    every reader: the send stops (exit 1) with the server's answer, nobody is marked bounced, and every
    reader not sent stays open for the next run. (tests/test_send_postfix.py has Postfix's own answers.)"""
    addresses = populate(workspace, 20)
    handler = Recording(pipelining=True, reject_data={address: (answer, 99) for address in addresses[5:]})
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 1, result.output
    assert f"the SMTP server refused the message itself, not a reader: {answer}" in result.stderr
    counted = states(run)
    assert "refused" not in counted and counted["sent"] == len(handler.recipients()) >= 1
    assert counted["pending"] >= 1 and sum(counted.values()) == 20
    for address in addresses:
        assert json.loads(run("subscribers", "show", address, "--json").stdout)["status"] == "active"


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one_by_one"])
def test_a_connection_cut_after_a_message_went_out_reports_only_that_reader(run, workspace, pipelining):
    """The server takes a message and the connection breaks before its answer: that reader (and only that
    one, not the next reader whose commands were already sent) is sent again and reported as possibly
    having it twice."""
    addresses = populate(workspace, 40)
    handler = Recording(pipelining=pipelining, drop={addresses[10]: "data"})
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    received = Counter(handler.recipients())
    assert received == Counter({**Counter(addresses), addresses[10]: 2})
    assert "1 reader was in a request that got no answer" in result.stderr
    assert states(run) == {"sent": 40}


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one_by_one"])
def test_a_connection_cut_before_a_message_went_out_is_not_in_doubt(run, workspace, pipelining):
    """The connection breaks while the server reads a reader's RCPT: no message of theirs went out, so
    nobody is reported as possibly having it twice, and everyone gets it once."""
    addresses = populate(workspace, 40)
    handler = Recording(pipelining=pipelining, drop={addresses[10]: "rcpt"})
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert Counter(handler.recipients()) == Counter(addresses)
    assert "may have it twice" not in result.output
    assert states(run) == {"sent": 40}


def test_lines_that_start_with_a_dot_arrive_as_written(run, workspace, settings):
    """The edition is dot-stuffed once for the wire: the parts a reader receives decode to exactly the
    rendered text and HTML with their own link, dots at the start of encoded lines included."""
    from mco_newsletter.delivery.campaign import prepare_editions
    from mco_newsletter.workspace import load_issue

    addresses = populate(workspace, 3, languages=("en",))
    handler = Recording(pipelining=True)
    with serving(handler, workspace):
        assert run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes").exit_code == 0
    edition = prepare_editions(settings, load_issue(settings, "2024-05"), ["en"])["en"]
    assert b"\r\n." in edition.template.body  # the case this test is about
    assert sorted(handler.recipients()) == sorted(addresses)
    for _, rcpt, content in handler.messages:
        message = message_from_bytes(content, policy=default)
        token = message["List-Unsubscribe"].split("/u/")[1].split("?")[0]
        parts = {part.get_content_type(): part.get_content() for part in message.walk()
                 if part.get_content_maintype() == "text"}
        assert parts["text/plain"].replace("\r\n", "\n") == edition.text.replace(edition.tag, token).replace("\r\n", "\n")
        assert parts["text/html"].replace("\r\n", "\n") == edition.html.replace(edition.tag, token).replace("\r\n", "\n")


def test_each_copy_is_the_reader_message_dot_stuffed(render_edition, settings, monkeypatch):
    """A reader's copy from the edition stuffed once is byte for byte their message stuffed whole, with
    lines starting with a dot in the text and HTML (quoted-printable) and in a Russian (base64) edition."""
    import dataclasses
    import datetime as dt

    from mco_newsletter.delivery.backends import Recipient
    from mco_newsletter.delivery.backends.smtp_wire import dot_stuffed, wire_edition, wire_message
    from mco_newsletter.delivery.message import personal_message, placeholder_tag, prepare
    from mco_newsletter.render import mime

    from types import SimpleNamespace

    # What is random in a message (its Message-ID, and a boundary when the body is encoded afresh), fixed.
    monkeypatch.setattr(mime, "make_msgid", lambda domain: f"<fixed@{domain}>")
    monkeypatch.setattr(mime, "secrets", SimpleNamespace(token_hex=lambda n: "0" * 2 * n))
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    tag = placeholder_tag()
    dotted = dataclasses.replace(render_edition("2024-05"), text=".A line with a dot\n..two\n.\nend\n")
    for rendered in (render_edition("2024-05"), render_edition("2024-05", "ru"), dotted):
        edition = prepare(rendered, settings, tag)
        for token in ("T" * len(tag), "a-b_c" * 7 + "d", "short"):  # the tag's place, and encoded afresh
            recipient = Recipient(1, "reader@example.org", token)
            expected = dot_stuffed(personal_message(edition, recipient.email, token, at))
            assert wire_message(wire_edition(edition), edition, recipient, at) == expected
    assert b"\r\n.." in dot_stuffed(personal_message(prepare(dotted, settings, tag), "r@example.org", "T" * len(tag), at))


@pytest.mark.parametrize("code, text, stage, verdict", [
    (550, "5.1.1 <r@example.org>: Recipient address rejected: User unknown", "rcpt", "reader"),
    (550, "Requested action not taken: mailbox unavailable", "rcpt", "reader"),
    (553, "mailbox name not allowed", "rcpt", "reader"),
    (550, "5.4.1 Recipient address rejected: Access denied", "rcpt", "reader"),
    (552, "5.2.2 Mailbox full", "rcpt", "later"),
    (552, "5.2.2 Mailbox full", "end", "later"),
    (452, "4.2.2 Mailbox full", "rcpt", "later"),
    (450, "4.2.0 Greylisted", "rcpt", "later"),
    (451, "4.3.0 Try again later", "end", "later"),
    (421, "4.7.0 Try again later", "end", "slow down"),
    (450, "4.7.1 Error: too much mail from 127.0.0.1", "rcpt", "slow down"),
    (552, "5.3.4 Error: message file too big", "end", "message"),
    (552, "Message size exceeds fixed limit", "end", "message"),
    (554, "Transaction failed", "end", "message"),
    (550, "Message rejected as spam", "end", "message"),
    (550, "5.7.1 Message refused by policy", "end", "message"),
    (554, "5.7.1 <r@example.org>: Relay access denied", "rcpt", "message"),
    (550, "5.2.1 The email account that you tried to reach is disabled", "rcpt", "reader"),
    (550, "5.2.1 Mailbox disabled", "end", "reader"),
    (552, "5.2.3 Message length exceeds administrative limit", "rcpt", "message"),
    (554, "5.6.0 Content refused", "end", "message"),
    (554, "5.4.6 Routing loop detected", "end", "message"),
    (503, "5.5.1 Error: nested MAIL command", "rcpt", "message"),
    (550, "4.1.1 not a 5xx enhanced code, ignored", "rcpt", "reader"),
])
def test_what_a_refusal_means(code, text, stage, verdict):
    """Only an answer about the address marks a reader bounced; a full mailbox stays temporary; 421 and 4.7.x
    ask the send to slow down; a refusal of the message (size, content, policy) is the campaign's."""
    from mco_newsletter.delivery.backends.smtp_replies import Reply, meaning

    assert meaning(Reply(code, text), stage) == verdict


def test_the_wait_a_server_asks_for():
    """A rate limit's wait: the time the server states, else a minute (a typical window)."""
    from mco_newsletter.delivery.backends.smtp_replies import Reply, asked_wait

    assert asked_wait(Reply(421, "4.7.0 Try again later")) == 60
    assert asked_wait(Reply(450, "4.7.1 Error: too much mail from 127.0.0.1")) == 60
    assert asked_wait(Reply(451, "4.7.1 Greylisted, please try again in 300 seconds")) == 300
    assert asked_wait(Reply(421, "4.7.0 Rate limited, retry in 5 minutes")) == 300


def test_test_to_twice_through_a_real_server(run, workspace, smtp):
    """Two --test-to addresses through aiosmtpd: each receives every edition, marked [TEST]; nothing recorded."""
    result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--test-to", "editor@example.org",
                 "--test-to", "lead@example.org")
    assert result.exit_code == 0, result.output
    assert sorted(smtp.recipients()) == ["editor@example.org", "lead@example.org"]
    assert all(message_from_bytes(content, policy=default)["Subject"].startswith("[TEST] ")
               for _, _, content in smtp.messages)
    assert "sent to editor@example.org via smtp" in result.stdout and "sent to lead@example.org via smtp" in result.stdout
    assert states(run) == {}
