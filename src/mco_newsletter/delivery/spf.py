"""Reading SPF records (RFC 7208) for `check --dns`: does a domain's record let an address send, and does it
include a service (SendGrid's include:sendgrid.net)?

The evaluation covers what senders publish: ip4, ip6, a, mx, include, all and the redirect modifier, with
the limit of 10 lookups. `exists`, `ptr` and macros are rare in a sender's own record and are read as
"no match" (the finding says the record could not be read through, rather than guess).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

Lookup = Callable[[str], list[str]]  # a name → its records of one type (an empty list: none)
LOOKUP_LIMIT = 10
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


@dataclass(frozen=True)
class Verdict:
    """What a record says about an address: pass, fail, softfail, neutral, none (no record) or permerror."""

    result: str
    reason: str


def spf_records(txt: Callable[[str], list[str]], domain: str) -> list[str]:
    """The domain's SPF records (there must be exactly one)."""
    return [text for text in txt(domain) if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def evaluate(*, txt: Lookup, addresses: Lookup, mx: Lookup, domain: str, ip: str) -> Verdict:
    """The SPF result for mail from `ip` with `domain` as its envelope domain.

    txt(name) → TXT strings, addresses(name) → IP strings, mx(name) → host names: the lookups of the DNS
    (an empty list when there is nothing).
    """
    state = {"lookups": 0}
    return _check(txt, addresses, mx, domain, ipaddress.ip_address(ip), state)


def _check(txt, addresses, mx, domain, ip, state) -> Verdict:
    records = spf_records(txt, domain)
    if not records:
        return Verdict("none", f"{domain} has no SPF record")
    if len(records) > 1:
        return Verdict("permerror", f"{domain} has {len(records)} SPF records (there must be one)")
    redirect = None
    for term in records[0].split()[1:]:
        if "=" in term and ":" not in term.split("=", 1)[0]:
            name, value = term.split("=", 1)
            if name.lower() == "redirect":
                redirect = value
            continue
        qualifier = term[0] if term[0] in QUALIFIERS else "+"
        mechanism = term[1:] if term[0] in QUALIFIERS else term
        kind, _, argument = mechanism.partition(":")
        kind, cidr = kind.lower(), None
        if "/" in (argument or kind):
            if argument:
                argument, _, cidr = argument.partition("/")
            else:
                kind, _, cidr = kind.partition("/")
        if kind in ("include", "a", "mx", "exists", "ptr"):
            state["lookups"] += 1
            if state["lookups"] > LOOKUP_LIMIT:
                return Verdict("permerror", f"more than {LOOKUP_LIMIT} DNS lookups (RFC 7208 4.6.4)")
        matched = False
        if kind == "all":
            matched = True
        elif kind in ("ip4", "ip6"):
            try:
                matched = ip in ipaddress.ip_network(argument + (f"/{cidr}" if cidr else ""), strict=False)
            except ValueError:
                return Verdict("permerror", f"{domain}: {term!r} is not an address")
        elif kind == "a":
            matched = _in_any(ip, addresses(argument or domain), cidr)
        elif kind == "mx":
            matched = any(_in_any(ip, addresses(host), cidr) for host in mx(argument or domain))
        elif kind == "include":
            inner = _check(txt, addresses, mx, argument, ip, state)
            if inner.result in ("permerror", "none"):
                return Verdict("permerror", f"include:{argument}: {inner.reason}")
            matched = inner.result == "pass"
        if matched:
            result = QUALIFIERS[qualifier]
            return Verdict(result, f"{domain}'s record says {result} for {ip} ({term})")
    if redirect:
        state["lookups"] += 1
        return _check(txt, addresses, mx, redirect, ip, state)
    return Verdict("neutral", f"nothing in {domain}'s record names {ip}")


def _in_any(ip, found: list[str], cidr: str | None) -> bool:
    for address in found:
        try:
            network = ipaddress.ip_network(address + (f"/{cidr}" if cidr else ""), strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network:
            return True
    return False


def includes(txt: Lookup, domain: str, service: str, *, depth: int = 0) -> bool:
    """True when the domain's SPF record includes `service` (directly, through its includes or its redirect)."""
    records = spf_records(txt, domain)
    if len(records) != 1 or depth > LOOKUP_LIMIT:
        return False
    for term in records[0].split()[1:]:
        lowered = term.lower().lstrip("+")
        for prefix in ("include:", "redirect="):
            if lowered.startswith(prefix):
                target = lowered[len(prefix) :]
                if target == service or includes(txt, target, service, depth=depth + 1):
                    return True
    return False
