"""The SPF reading behind `check --dns` (RFC 7208), asked of a DNS server on loopback: mechanisms, qualifiers,
redirect, the 10-lookup limit and a domain with two records."""

from __future__ import annotations

import pytest

from dns_server import dns_server

ZONE = {
    "example.org": [("TXT", "v=spf1 mx a:out.example.org ip6:2001:db8::/32 include:_spf.example.net ~all"),
                    ("MX", (10, "mx.example.org"))],
    "mx.example.org": [("A", "192.0.2.10")],
    "out.example.org": [("A", "192.0.2.20"), ("AAAA", "2001:db8:1::20")],
    "_spf.example.net": [("TXT", "v=spf1 ip4:198.51.100.0/25 -all")],
    "redirected.example.org": [("TXT", "v=spf1 redirect=example.org")],
    "two.example.org": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 +all")],
    "loop.example.org": [("TXT", "v=spf1 include:loop.example.org -all")],
    "sendgrid.example.org": [("TXT", "v=spf1 redirect=_spf.example.com")],
    "_spf.example.com": [("TXT", "v=spf1 include:sendgrid.net -all")],
}


@pytest.fixture(scope="module")
def lookup():
    from mco_newsletter.delivery.dns_checks import Lookup, resolver_for

    with dns_server(ZONE) as (port, _):
        yield Lookup(resolver_for(f"127.0.0.1:{port}"))


@pytest.mark.parametrize("domain,ip,result", [
    ("example.org", "192.0.2.10", "pass"),  # mx
    ("example.org", "192.0.2.20", "pass"),  # a:
    ("example.org", "2001:db8:1::20", "pass"),  # ip6 (and a: AAAA)
    ("example.org", "198.51.100.5", "pass"),  # include: … ip4 in the /25
    ("example.org", "198.51.100.200", "softfail"),  # past the include's /25: the include fails, ~all
    ("redirected.example.org", "192.0.2.10", "pass"),
    ("redirected.example.org", "203.0.113.1", "softfail"),
    ("two.example.org", "192.0.2.10", "permerror"),
    ("loop.example.org", "192.0.2.10", "permerror"),  # more than 10 lookups
    ("nothing.example.org", "192.0.2.10", "none"),
])
def test_evaluate(lookup, domain, ip, result):
    """Each mechanism and modifier gives the result RFC 7208 gives."""
    from mco_newsletter.delivery.spf import evaluate

    verdict = evaluate(txt=lookup.txt, addresses=lookup.addresses, mx=lookup.mx, domain=domain, ip=ip)
    assert verdict.result == result, verdict


def test_includes_follows_includes_and_redirects(lookup):
    """sendgrid.net through a redirect and an include is found; a record without it is not."""
    from mco_newsletter.delivery.spf import includes

    assert includes(lookup.txt, "sendgrid.example.org", "sendgrid.net")
    assert not includes(lookup.txt, "example.org", "sendgrid.net")
    assert not includes(lookup.txt, "two.example.org", "sendgrid.net")
