"""`check --dns` against a real DNS server on loopback (dnslib) serving good and broken zones: SPF, DKIM (the
tool's key or SendGrid's CNAMEs), DMARC, alignment, MX and one-click, each finding with the record to publish."""

from __future__ import annotations

import json
import re

from conftest import set_setting
from dns_server import dns_server
from test_dkim import RECORD_NAME, published_record, with_dkim

RELAY = "relay.example.org"


def smtp_workspace(run, workspace) -> str:
    """SMTP through relay.example.org, [dkim] with a key made by keygen; returns the record keygen printed."""
    set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
    set_setting(workspace, 'host = "localhost"', f'host = "{RELAY}"')
    with_dkim(workspace)
    made = run("dkim", "keygen")
    assert made.exit_code == 0, made.output
    return published_record(made.stdout)


def dns_check(run, port: int, *args: str):
    return run("check", "--dns", "--nameserver", f"127.0.0.1:{port}", *args)


def lines(result) -> str:
    return result.stdout + result.stderr


def test_a_good_smtp_zone_passes_every_check(run, workspace):
    """SPF lets the relay send (through an include), the DKIM record is the key in private/, DMARC quarantines,
    From aligns, the bounce domain has MX: every finding ok, exit 0."""
    record = smtp_workspace(run, workspace)
    zone = {
        "example.org": [("TXT", "v=spf1 include:_spf.example.net -all"), ("MX", (10, "mx.example.org")),
                        ("TXT", "google-site-verification=abc")],
        "_spf.example.net": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
        RELAY: [("A", "192.0.2.25")],
        RECORD_NAME: [("TXT", record)],
        "_dmarc.example.org": [("TXT", "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.org")],
    }
    with dns_server(zone) as (port, served):
        result = dns_check(run, port)
    assert result.exit_code == 0, lines(result)
    out = result.stdout
    assert f"ok       SPF: example.org (the From domain is also the envelope and bounce domain): the relay {RELAY} " \
           "(192.0.2.25) passes" in out
    assert f"ok       DKIM: {RECORD_NAME} holds the key in private/dkim/mco2026.pem" in out
    assert "ok       DMARC: _dmarc.example.org: policy quarantine" in out
    assert "ok       alignment: From (example.org) aligns with the DKIM domain (example.org)" in out
    assert "ok       MX: bounces to example.org are received by mx.example.org" in out
    assert "ok       one-click: unsubscribe links are https" in out
    assert ("_spf.example.net", "TXT") in served.queries and (RELAY, "A") in served.queries
    assert not [line for line in lines(result).splitlines() if line.startswith(("problem", "warning"))]


def test_a_broken_smtp_zone_names_each_record_to_publish(run, workspace):
    """SPF without the relay, another key at the selector, no DMARC, no MX: each a finding with its record; exit 1."""
    record = smtp_workspace(run, workspace)
    other_key = re.sub(r"p=MII[A-Za-z0-9+/]{20}", "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnotthekey", record)
    zone = {
        "example.org": [("TXT", "v=spf1 ip4:198.51.100.7 -all")],
        RELAY: [("A", "192.0.2.25")],
        RECORD_NAME: [("TXT", other_key)],
    }
    with dns_server(zone) as (port, _):
        result = dns_check(run, port)
    assert result.exit_code == 1, lines(result)
    err = result.stderr
    assert f"problem  SPF: example.org (the From domain is also the envelope and bounce domain): the relay {RELAY} " \
           "(192.0.2.25) does not pass (fail)" in err
    assert f'publish: example.org. IN TXT ( "v=spf1 a:{RELAY} ip4:198.51.100.7 -all" )' in err
    assert f"problem  DKIM: {RECORD_NAME} holds another key than private/dkim/mco2026.pem" in err
    assert f"publish: {RECORD_NAME}. IN TXT ( " in err and published_record(err.split("DKIM:", 1)[1]) == record
    assert "problem  DMARC: no DMARC record for example.org" in err
    assert 'publish: _dmarc.example.org. IN TXT ( "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org" )' in err
    assert "warning  MX: example.org has no MX record" in err
    assert "DNS: 3 problems found" in err and "Traceback" not in err


def test_a_missing_dkim_record_prints_the_one_to_publish(run, workspace):
    """No record at the selector: the finding prints keygen's record; --json carries the same findings."""
    record = smtp_workspace(run, workspace)
    with dns_server({"example.org": [("TXT", f"v=spf1 a:{RELAY} -all")], RELAY: [("A", "192.0.2.25")]}) as (port, _):
        result = dns_check(run, port)
        as_json = dns_check(run, port, "--json")
    assert result.exit_code == 1
    assert f"problem  DKIM: no DKIM record at {RECORD_NAME}" in result.stderr
    assert published_record(result.stderr.split("no DKIM record", 1)[1]) == record
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 1
    dkim = next(finding for finding in report["dns"] if finding["topic"] == "DKIM")
    assert dkim["level"] == "problem" and published_record(dkim["publish"]) == record
    assert any(f["topic"] == "SPF" and f["level"] == "ok" for f in report["dns"])


def test_sendgrid_zone_good_and_broken(run, workspace):
    """SendGrid: SPF includes sendgrid.net and s1/s2._domainkey are SendGrid's CNAMEs (ok, DMARC p=none shown with
    the advice to move on); without them each is a problem with the record to publish."""
    set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
    good = {
        "example.org": [("TXT", "v=spf1 include:sendgrid.net ~all")],
        "s1._domainkey.example.org": [("CNAME", "s1.domainkey.u123.wl.sendgrid.net")],
        "s2._domainkey.example.org": [("CNAME", "s2.domainkey.u123.wl.sendgrid.net")],
        "s1.domainkey.u123.wl.sendgrid.net": [("TXT", "v=DKIM1; k=rsa; p=MIGf")],
        "_dmarc.example.org": [("TXT", "v=DMARC1; p=none")],
    }
    with dns_server(good) as (port, _):
        result = dns_check(run, port)
    assert result.exit_code == 0, lines(result)
    assert "ok       SPF: example.org's SPF record includes sendgrid.net" in result.stdout
    assert "ok       DKIM: s1._domainkey.example.org points to SendGrid (s1.domainkey.u123.wl.sendgrid.net)" \
        in result.stdout
    assert "DMARC: _dmarc.example.org: policy none" in result.stdout and "p=quarantine" in result.stdout
    broken = {"example.org": [("TXT", "v=spf1 mx -all")], "_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")]}
    with dns_server(broken) as (port, _):
        result = dns_check(run, port)
    assert result.exit_code == 1
    assert "problem  SPF: example.org's SPF record does not include sendgrid.net" in result.stderr
    assert 'publish: example.org. IN TXT ( "v=spf1 include:sendgrid.net mx -all" )' in result.stderr
    assert "problem  DKIM: s2._domainkey.example.org is not SendGrid's CNAME" in result.stderr
    assert "publish: s2._domainkey.example.org. IN CNAME s2.domainkey.u<your SendGrid id>.wl.sendgrid.net." \
        in result.stderr
    assert "ok       DMARC: _dmarc.example.org: policy reject" in result.stdout


def test_a_subdomain_sender_finds_the_organisations_dmarc(run, workspace):
    """From news.example.org without a DMARC record of its own falls under _dmarc.example.org."""
    set_setting(workspace, 'address = "digest@example.org"', 'address = "digest@news.example.org"')
    with dns_server({"_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")]}) as (port, zone):
        result = dns_check(run, port)
    assert "ok       DMARC: _dmarc.example.org: policy reject" in result.stdout
    assert ("_dmarc.news.example.org", "TXT") in zone.queries


def test_an_unanswering_resolver_is_a_clear_error(run, workspace):
    """A resolver that does not answer: one sentence with a hint, exit 1, no traceback."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        set_setting(workspace, "[sending]", "[sending]")
        result = dns_check(run, port)
    assert result.exit_code == 1
    assert "the DNS did not answer for" in result.stderr and "--nameserver" in result.stderr
    assert "Traceback" not in lines(result)
