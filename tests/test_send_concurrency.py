"""Real processes sending at once, and people leaving while a send runs: one sender per issue, nobody
mailed after they left or after `erase` answered, and Ctrl-C stopping after what is on the wire."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from stores import db_rows

from conftest import set_setting
from smtp_sink import Recording, start_recording
from test_send import populate, sendgrid  # noqa: F401  (a fixture)
from test_send_smtp import point_at, states

pytestmark = pytest.mark.stores


@pytest.fixture
def slow_smtp(workspace):
    """A recording SMTP server without login, and newsletter.toml pointed at it at `rate` messages a second."""
    handler = Recording()
    controller = start_recording(handler)

    def configure(rate: float) -> Recording:
        point_at(workspace, controller.port, rate=rate)
        return handler

    yield configure
    controller.stop()


def sender(workspace, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "send", "2024-05",
               "--segment", "all", "-b", "smtp", "--yes", *extra]
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCO_NEWSLETTER_SMTP")}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_two_senders_at_once_one_sends_the_other_names_it(workspace, slow_smtp, run):
    """Two `send` processes started together: exactly one sends, the other refuses naming it; each reader once."""
    server = slow_smtp(rate=100)
    addresses = populate(workspace, 300)
    first, second = sender(workspace), sender(workspace)
    results = {process.pid: (process.wait(timeout=120), *process.communicate()) for process in (first, second)}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 1], results
    winner = next(pid for pid, (code, _, _) in results.items() if code == 0)
    loser_err = next(err for code, _, err in results.values() if code == 1)
    # On PostgreSQL the holder's host is named too: "(pid N on HOST, segment 'all', …)" (tests/test_send_hosts.py).
    assert f"Error: another send of 2024-05 is running (pid {winner}" in loser_err and "segment 'all'" in loser_err
    assert "IntegrityError" not in loser_err and "Traceback" not in loser_err
    assert Counter(server.recipients()) == Counter(addresses)
    assert states(run) == {"sent": 300}


def test_a_waiting_sender_starts_when_the_first_ends(workspace, slow_smtp, run):
    """With --wait the second sender waits for the first, then finds nothing left: each reader once, both exit 0."""
    server = slow_smtp(rate=100)
    addresses = populate(workspace, 200)
    first = sender(workspace)
    wait_for(lambda: len(server.recipients()) >= 5)
    # The first sender is held mid-send until the second says it waits: on a loaded machine the second's start
    # could otherwise come after the first had finished, and there would be nothing to wait for.
    server.held = True
    second = sender(workspace, "--wait")
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(second.stderr), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("Waiting for the send of 2024-05 (pid" in line for line in said))
    finally:
        server.held = False
    assert second.wait(timeout=120) == 0, "".join(said)
    reader.join(timeout=10)
    assert first.wait(timeout=60) == 0
    assert Counter(server.recipients()) == Counter(addresses)


def test_readers_who_leave_during_the_send_get_nothing(workspace, slow_smtp, run):
    """Readers who unsubscribe or are erased while a send runs get nothing after they left: each reader's
    state is read just before their batch goes out, and `erase` answers only when none of it is on the wire."""
    server = slow_smtp(rate=40)
    addresses = populate(workspace, 160)
    process = sender(workspace)
    wait_for(lambda: len(server.recipients()) >= 5)
    unsubscribed, erased = addresses[120:130], [addresses[150], addresses[40]]
    for address in unsubscribed:
        assert run("subscribers", "unsubscribe", address).exit_code == 0
    erased_at = {}
    for address in erased:
        result = run("subscribers", "erase", address, "--yes")
        assert result.exit_code == 0, result.output
        erased_at[address] = time.monotonic()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    received = server.recipients()
    assert not set(unsubscribed) & set(received)
    for at, rcpt, _ in server.messages:
        if rcpt in erased_at:
            assert at < erased_at[rcpt], f"{rcpt} was mailed after `erase` answered"
    assert addresses[150] not in received


def test_ctrl_c_stops_after_the_messages_on_the_wire(workspace, slow_smtp, run):
    """SIGINT stops the send after the messages in flight (at most one per connection), exit 130; a rerun
    sends the rest, each reader once."""
    server = slow_smtp(rate=20)
    addresses = populate(workspace, 200)
    process = sender(workspace)
    wait_for(lambda: len(server.recipients()) >= 10)
    # The sink holds its answers while the signal arrives and is handled, so that what counts as "after Ctrl-C"
    # does not depend on how fast a loaded machine delivers it: each connection (4) then has at most the one
    # message whose answer it waits for.
    server.held = True
    time.sleep(0.3)
    at_signal = len(server.recipients())
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    server.held = False
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    after = len(server.recipients()) - at_signal
    assert after <= 4, f"{after} messages went out after Ctrl-C"
    assert "Traceback" not in err
    counts = states(run)
    assert counts.get("sent") == len(server.recipients()) and "sending" not in counts
    # The rerun only has to send the rest, each reader once: at full speed, not 20 a second (9 s of waiting).
    set_setting(workspace, "messages_per_second = 20 ", "messages_per_second = 0 ")
    rerun = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert Counter(server.recipients()) == Counter(addresses)


def test_rows_in_sending_are_taken_only_when_their_owner_is_gone(workspace, settings, sendgrid):
    """Rows in `sending` whose owner is alive (a real `send` waiting for SendGrid's answer) are left alone: a second
    run refuses naming that owner and changes nothing; once the owner is killed, the next run takes exactly those
    rows, sends them again and says they may have it twice."""
    from sendgrid_server import Faults
    from test_send import configure

    def ledger() -> dict[str, str]:
        return dict(db_rows(settings, "SELECT s.email, d.state FROM deliveries d JOIN subscribers s"
                                      " ON s.id = d.subscriber_id"))

    def in_flight() -> set[str]:
        return {address for address, state in ledger().items() if state == "sending"}

    def send() -> list[str]:
        return [sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "send", "2024-05",
                "--segment", "all", "-b", "sendgrid", "--yes"]

    configure(workspace)
    addresses = populate(workspace, 1050, languages=("en",))  # a request of 1,000, then 50 readers
    sendgrid.faults = Faults(slow_accept=1.0, slow_accept_seconds=60)  # accepted, then no answer for a minute
    owner = subprocess.Popen(send(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Every request on the wire has reached the server, which took it and keeps its answer back.
        wait_for(lambda: in_flight() and in_flight() == set(sendgrid.record.recipients()))
        before, received = ledger(), sorted(sendgrid.record.recipients())
        assert owner.poll() is None and len(received) == len(set(received)) == 1000
        second = subprocess.run(send(), capture_output=True, text=True, timeout=30, check=False)
        assert second.returncode == 1, second.stderr
        assert f"Error: another send of 2024-05 is running (pid {owner.pid}" in second.stderr
        assert "segment 'all'" in second.stderr
        assert ledger() == before and sorted(sendgrid.record.recipients()) == received
    finally:
        owner.kill()
        owner.wait(timeout=30)
    sendgrid.faults = Faults()
    third = subprocess.run(send(), capture_output=True, text=True, timeout=60, check=False)
    assert third.returncode == 0, third.stderr
    assert f"{len(received):,} readers were in flight when an earlier run stopped without an answer" in third.stderr
    assert set(ledger().values()) == {"sent"}
    counts = Counter(sendgrid.record.recipients())
    assert set(counts) == set(addresses)
    twice = {address for address, count in counts.items() if count == 2}
    assert twice == set(received) and max(counts.values()) == 2
