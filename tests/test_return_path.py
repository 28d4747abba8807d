"""Each reader's message over SMTP carries a return path naming its delivery (VERP) at the bounce mailbox of
[bounces], its mailto unsubscribe address points there too, and check (with --dns) reads the bounce domain."""

from __future__ import annotations

import base64
import json
import re
from email import message_from_bytes
from email.policy import default

import pytest
from stores import db_rows

from conftest import set_setting
from dns_server import dns_server
from smtp_sink import Recording
from test_send import populate
from test_send_smtp import serving

SEND = ("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
BOUNCES = '\n[bounces]\naddress = "bounces@example.org"\n'


def with_bounces(workspace, table: str = BOUNCES) -> None:
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text(encoding="utf-8") + table, encoding="utf-8")


def rows_by_address(settings) -> dict[str, int]:
    return dict(db_rows(settings, "SELECT s.email, d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"))


@pytest.mark.stores
def test_each_message_has_a_return_path_naming_its_delivery(run, workspace, settings):
    """With [bounces], every reader's MAIL FROM is bounces+TOKEN@example.org, one token per ledger row: it opens
    to that row under the tool's key and to no other, and shows neither the row's id nor the address."""
    from mco_newsletter.delivery.return_path import ReturnPaths
    from mco_newsletter.subscribers.tokens import unsubscribe_secret

    addresses = populate(workspace, 12)
    with_bounces(workspace)
    handler = Recording(pipelining=True)
    with serving(handler, workspace):
        result = run(*SEND)
    assert result.exit_code == 0, result.output
    senders = dict(handler.senders)
    assert sorted(senders) == sorted(addresses)
    rows = rows_by_address(settings)
    paths = ReturnPaths(secret=unsubscribe_secret(settings.private_dir), address="bounces@example.org")
    for address, sender in senders.items():
        local, _, domain = sender.partition("@")
        assert domain == "example.org" and re.fullmatch(r"bounces\+[a-z2-7]{40}", local), sender
        token = local.split("+", 1)[1]
        assert paths.read(sender).token == token
        assert paths.delivery(token, email_of=lambda row: address) == rows[address]
        assert paths.delivery(token, email_of=lambda row: "someone.else@example.org") is None
        assert rows[address].to_bytes(8, "big")[-3:] not in base64.b32decode(token.upper()) and "reader" not in token
    assert len(set(senders.values())) == len(senders)


@pytest.mark.stores
def test_without_bounces_the_from_address_is_the_return_path(run, workspace):
    """No [bounces]: MAIL FROM stays the From address, as before, for every reader."""
    populate(workspace, 3)
    handler = Recording(pipelining=True)
    with serving(handler, workspace):
        assert run(*SEND).exit_code == 0
    assert {sender for _, sender in handler.senders} == {"digest@example.org"}


@pytest.mark.stores
def test_a_test_send_returns_to_the_plain_bounce_address(run, workspace):
    """A test send names no delivery: its MAIL FROM is the bounce address itself."""
    with_bounces(workspace)
    handler = Recording()
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "--test-to", "me@example.org", "-b", "smtp")
    assert result.exit_code == 0, result.output
    assert {sender for _, sender in handler.senders} == {"bounces@example.org"}


@pytest.mark.stores
def test_the_mailto_unsubscribe_address_is_at_the_bounce_mailbox(run, workspace):
    """List-Unsubscribe's mailto is bounces+u-TOKEN@example.org, the reader's link token, which `bounces` applies."""
    populate(workspace, 2)
    with_bounces(workspace)
    handler = Recording()
    with serving(handler, workspace):
        assert run(*SEND).exit_code == 0
    for _, _, content in handler.messages:
        header = message_from_bytes(content, policy=default)["List-Unsubscribe"]
        web, mail = re.fullmatch(r"<https://digest\.example\.org/u/([a-z2-7]{40})\?issue=2024-05>, *"
                                 r"<mailto:bounces\+u-([a-z2-7]{40})"
                                 r"@example\.org\?subject=unsubscribe>", header).groups()
        assert web == mail


@pytest.mark.stores
def test_without_bounces_the_mailto_goes_to_the_reply_to_address(run, workspace):
    """Without [bounces], List-Unsubscribe's mailto stays the reply-to address, the token in the subject."""
    populate(workspace, 1)
    handler = Recording()
    with serving(handler, workspace):
        assert run(*SEND).exit_code == 0
    header = message_from_bytes(handler.messages[0][2], policy=default)["List-Unsubscribe"]
    assert re.search(r"<mailto:advocacy@example\.org\?subject=unsubscribe%20[a-z2-7]{40}>", header), header


def test_bounces_settings_are_checked_at_their_line(run, workspace):
    """An address that cannot carry a token, an unknown delimiter, a mailbox that is not maildir:, mbox: or
    imaps://: each named with newsletter.toml's line and a hint; exit 1."""
    with_bounces(workspace, '\n[bounces]\naddress = "a-very-long-bounce-mailbox-name@example.org"\ndelimiter = "%"\n'
                            'mailbox = "imap://imap.example.org/INBOX"\n')
    result = run("check")
    assert result.exit_code == 1
    lines = {line.split(": ", 1)[0]: line for line in result.stderr.splitlines() if line.startswith("newsletter.toml:")}
    text = (workspace / "newsletter.toml").read_text().splitlines()
    number = {key: next(i for i, line in enumerate(text, 1) if line.startswith(key + " = ") and i > len(text) - 4)
              for key in ("address", "delimiter", "mailbox")}
    assert "too long" in lines[f"newsletter.toml:{number['address']}"]
    assert "delimiter" in lines[f"newsletter.toml:{number['delimiter']}"]
    assert "imaps://" in lines[f"newsletter.toml:{number['mailbox']}"]
    assert "Traceback" not in result.output


def test_check_dns_reads_the_bounce_domain(run, workspace):
    """With [bounces] at another domain of the organisation, SPF and MX are asked of that domain (the envelope's),
    and alignment names it."""
    set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
    set_setting(workspace, 'host = "localhost"', 'host = "relay.example.org"')
    with_bounces(workspace, '\n[bounces]\naddress = "bounces@mail.example.org"\n')
    zone = {
        "example.org": [("TXT", "v=spf1 -all")],
        "mail.example.org": [("TXT", "v=spf1 a:relay.example.org -all"), ("MX", (10, "mx.example.org"))],
        "relay.example.org": [("A", "192.0.2.25")],
        "_dmarc.example.org": [("TXT", "v=DMARC1; p=none")],
    }
    with dns_server(zone) as (port, served):
        result = run("check", "--dns", "--nameserver", f"127.0.0.1:{port}", "--json")
    findings = {(f["topic"], f["level"]): f["message"] for f in json.loads(result.stdout)["dns"]}
    assert "mail.example.org" in findings[("SPF", "ok")] and "relay.example.org" in findings[("SPF", "ok")]
    assert "mail.example.org" in findings[("MX", "ok")]
    assert ("mail.example.org", "MX") in served.queries and ("example.org", "MX") not in served.queries
    with_bounces(workspace, "")
    text = (workspace / "newsletter.toml").read_text().replace("bounces@mail.example.org", "bounces@example.net")
    (workspace / "newsletter.toml").write_text(text)
    with dns_server(zone) as (port, _):
        result = run("check", "--dns", "--nameserver", f"127.0.0.1:{port}", "--json")
    findings = json.loads(result.stdout)["dns"]
    assert any(f["topic"] == "alignment" and f["level"] != "ok" and "example.net" in f["message"] for f in findings)


def test_check_warns_about_bounces_nothing_reads_or_that_cannot_align(run, workspace):
    """check warns (exit 0) for [bounces] without a mailbox (bounces would arrive unread), at a domain that does not
    align with From, and with backend sendgrid (SendGrid handles its bounces itself, through the webhook)."""
    with_bounces(workspace, '\n[bounces]\naddress = "bounces@example.net"\n')
    set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
    result = run("check")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "bounces" in line]
    assert any("nothing reads" in line for line in warnings), result.output
    assert any("does not align" in line and "example.net" in line for line in warnings), result.output
    assert any("SendGrid" in line for line in warnings), result.output
