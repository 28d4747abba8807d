"""DKIM: the key `dkim keygen` makes, and the signature on every message the tool sends itself, verified by dkimpy
with the public key fetched from a real DNS server on loopback (dnslib) for the messages a real SMTP server
(aiosmtpd) received."""

from __future__ import annotations

import os
import re
import stat

import dkim
import pytest
from dkim.util import parse_tag_value

from conftest import set_setting
from dns_server import dns_server, txt_lookup
from smtp_sink import Recording
from test_send import populate
from test_send_smtp import serving

DKIM_TABLE = '\n[dkim]\ndomain = "example.org"\nselector = "mco2026"\n'
RECORD_NAME = "mco2026._domainkey.example.org"
# What the signature must cover (issue 25), and what it must cover once more than it occurs.
COVERED = {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post", "mime-version",
           "content-type"}


def with_dkim(workspace) -> None:
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text(encoding="utf-8") + DKIM_TABLE, encoding="utf-8")


def published_record(output: str) -> str:
    """The TXT record's text from the zone file line `dkim keygen` printed (its strings joined)."""
    line = next(line for line in output.splitlines() if " IN TXT " in line)
    marker = RECORD_NAME + ". IN TXT ( "
    assert marker in line, line
    return "".join(re.findall(r'"([^"]*)"', line.split(marker, 1)[1]))


@pytest.fixture
def signing(run, workspace):
    """[dkim] in newsletter.toml, a key made by `dkim keygen`, and its record served by a DNS server on loopback."""
    with_dkim(workspace)
    made = run("dkim", "keygen")
    assert made.exit_code == 0, made.output
    record = published_record(made.stdout)
    with dns_server({RECORD_NAME: [("TXT", record)]}) as (port, zone):
        yield txt_lookup(port), zone


def verified(message: bytes, lookup) -> dict:
    """The message's DKIM-Signature tags, after dkimpy verified the signature against the key in DNS."""
    assert dkim.verify(message, dnsfunc=lookup), message[:1500]
    header = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    value = next(line for line in header.split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
    return parse_tag_value(value.split(b":", 1)[1].strip())


def test_keygen_makes_an_owner_only_key_and_prints_its_record(run, workspace):
    """The key is RSA-2048 in private/dkim/<selector>.pem, 0600 in a 0700 folder; the record is its public half;
    a second keygen refuses and leaves the key as it was."""
    from dkim.crypto import parse_pem_private_key, parse_public_key
    import base64

    with_dkim(workspace)
    made = run("dkim", "keygen")
    assert made.exit_code == 0, made.output
    key_path = workspace / "private" / "dkim" / "mco2026.pem"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_path.parent).st_mode) == 0o700
    key = parse_pem_private_key(key_path.read_bytes())
    assert key["modulus"].bit_length() == 2048
    record = published_record(made.stdout)
    tags = parse_tag_value(record.encode())
    assert tags[b"v"] == b"DKIM1" and tags[b"k"] == b"rsa"
    assert parse_public_key(base64.b64decode(tags[b"p"]))["modulus"] == key["modulus"]
    assert "PRIVATE" not in made.output
    before = key_path.read_bytes()
    again = run("dkim", "keygen")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert key_path.read_bytes() == before
    shown = run("dkim", "record")
    assert shown.exit_code == 0 and published_record(shown.stdout) == record


@pytest.mark.stores
def test_every_smtp_message_is_signed_and_verifies(run, workspace, signing):
    """Every message the SMTP backend sent carries a DKIM signature that dkimpy verifies with the key from DNS,
    covering From, To, Subject, Date, Message-ID, the unsubscribe headers and the MIME headers, relaxed/relaxed;
    a changed body or a second From no longer verifies."""
    lookup, zone = signing
    addresses = populate(workspace, 12)
    handler = Recording(pipelining=True)
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(handler.recipients()) == sorted(addresses)
    for _, rcpt, message in handler.messages:
        tags = verified(message, lookup)
        assert tags[b"d"] == b"example.org" and tags[b"s"] == b"mco2026" and tags[b"a"] == b"rsa-sha256"
        assert tags[b"c"] == b"relaxed/relaxed"
        signed = [name.strip().decode() for name in tags[b"h"].split(b":")]
        assert COVERED <= set(signed), signed
        assert signed.count("from") == 2 and signed.count("list-unsubscribe") == 2  # one more than occur
        assert f"To: <{rcpt}>".encode() in message
    assert (RECORD_NAME, "TXT") in zone.queries
    _, _, message = handler.messages[0]
    head, body = message.split(b"\r\n\r\n", 1)
    assert not dkim.verify(head + b"\r\n\r\n" + body.replace(b"=\r\n", b"", 1), dnsfunc=lookup)
    assert not dkim.verify(head + b"\r\nFrom: <someone@example.net>\r\n\r\n" + body, dnsfunc=lookup)


@pytest.mark.stores
def test_a_test_send_is_signed_too(run, workspace, signing):
    """--test-to over SMTP: each edition's test message is signed (its body encoded afresh for the test token)."""
    lookup, _ = signing
    handler = Recording()
    with serving(handler, workspace):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--test-to", "me@example.net")
    assert result.exit_code == 0, result.output
    assert handler.messages
    for _, _, message in handler.messages:
        assert b"Subject: [TEST]" in message
        verified(message, lookup)


@pytest.mark.stores
def test_the_outbox_holds_the_signed_message(run, workspace, signing):
    """The outbox holds what SMTP would carry: signed, verifying."""
    lookup, _ = signing
    populate(workspace, 3)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    files = list((workspace / "private" / "outbox" / "new").iterdir())
    assert len(files) == 3
    for path in files:
        verified(path.read_bytes(), lookup)


@pytest.mark.stores
def test_sending_without_the_key_stops_before_anything_is_recorded(run, workspace):
    """[dkim] without its key: send stops with the command that makes it; nothing is recorded."""
    with_dkim(workspace)
    populate(workspace, 2)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 1
    assert "no DKIM key at" in result.stderr and "mco-newsletter dkim keygen" in result.stderr
    assert "has not been sent" in run("send-status", "2024-05").stdout
    checked = run("check")
    assert checked.exit_code == 0 and "warning: no DKIM key at" in checked.stderr


@pytest.mark.parametrize("table,line_key,message", [
    ('domain = "example.net"\nselector = "mco2026"', "domain", "does not align with the From address's domain"),
    ('domain = "example.org"\nselector = "mco 2026"', "selector", "is not a DNS label"),
    ('domain = "localhost"\nselector = "mco2026"', "domain", "is not a domain name"),
])
def test_check_refuses_dkim_settings_that_cannot_sign_aligned_mail(run, workspace, table, line_key, message):
    """A signing domain that does not align with From, or a selector that is no DNS label: file:line, exit 1."""
    path = workspace / "newsletter.toml"
    path.write_text(path.read_text(encoding="utf-8") + f"\n[dkim]\n{table}\n", encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    line = max(number for number, text in enumerate(lines, 1) if text.startswith(f"{line_key} ="))
    result = run("check")
    assert result.exit_code == 1
    assert f"newsletter.toml:{line}: dkim." in result.stderr and message in result.stderr


def test_a_subdomain_from_aligns_with_the_parent_signing_domain(run, workspace):
    """From news.example.org signed as example.org aligns (DMARC's relaxed alignment)."""
    set_setting(workspace, 'address = "digest@example.org"', 'address = "digest@news.example.org"')
    with_dkim(workspace)
    assert run("check").exit_code == 0


@pytest.mark.stores
def test_sendgrid_users_are_pointed_to_domain_authentication(run, workspace):
    """[dkim] with SendGrid: the plan says SendGrid signs with its own domain authentication."""
    with_dkim(workspace)
    populate(workspace, 2)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "SendGrid's domain authentication" in result.stderr
    smtp = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--dry-run")
    assert "domain authentication" not in smtp.stderr
    set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
    checked = run("check")
    assert checked.exit_code == 0 and "SendGrid's domain authentication" in checked.stderr
