"""`check --dns`: the DNS records receivers read before they trust the digest, asked of the DNS as they ask it.

SPF of the envelope (bounce) domain names the sending service; the DKIM key (the tool's, or SendGrid's CNAMEs)
is published and is the key in private/; a DMARC record exists, its policy shown; From aligns with the DKIM and
the bounce domain; the bounce domain has MX; unsubscribe links are https. Each finding that is not ok comes
with the record to publish. The system's resolver is asked, or the one MCO_NEWSLETTER_DNS (HOST[:PORT]) or
--nameserver names.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import NewsletterError
from . import spf
from .dkim_keys import aligned, load_key, public_key, record_value, zone_line
from .preflight import base_url_problem
from .settings import is_loopback

if TYPE_CHECKING:  # dnspython is imported by `check --dns` alone
    from dns.resolver import Resolver

DNS_ENV = "MCO_NEWSLETTER_DNS"
SENDGRID_SPF = "sendgrid.net"


@dataclass(frozen=True)
class DnsFinding:
    """One thing the DNS says: `level` ok, warning or problem; `publish` the record that would fix it."""

    topic: str
    level: str
    message: str
    publish: str | None = None


class Lookup:
    """Answers from one resolver: an empty list for a name or type with no records."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def _answer(self, name: str, kind: str):
        import dns.exception
        import dns.resolver

        try:
            return list(self.resolver.resolve(name.rstrip(".") + ".", kind, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.YXDOMAIN) as exc:
            raise NewsletterError(
                f"the DNS did not answer for {name} ({kind}): {exc}",
                hint=f"check the network, or name a resolver with --nameserver or {DNS_ENV}",
            ) from None

    def txt(self, name: str) -> list[str]:
        return [b"".join(record.strings).decode("utf-8", "replace") for record in self._answer(name, "TXT")]

    def addresses(self, name: str) -> list[str]:
        return [record.address for kind in ("A", "AAAA") for record in self._answer(name, kind)]

    def mx(self, name: str) -> list[str]:
        records = sorted(self._answer(name, "MX"), key=lambda record: record.preference)
        return [str(record.exchange).rstrip(".") for record in records]

    def cname(self, name: str) -> str | None:
        found = self._answer(name, "CNAME")
        return str(found[0].target).rstrip(".") if found else None


def resolver_for(nameserver: str | None = None) -> Resolver:
    """dnspython's resolver: the system's, or the one named HOST[:PORT] (by --nameserver or MCO_NEWSLETTER_DNS)."""
    import dns.resolver

    given = nameserver or os.environ.get(DNS_ENV)
    if not given:
        resolver = dns.resolver.Resolver()
    else:
        host, port = given, 53
        if given.count(":") == 1 or given.startswith("["):  # HOST:PORT, [v6]:PORT
            host, _, number = given.rpartition(":")
            if not number.isdigit():
                raise NewsletterError(f"{given!r} is not HOST[:PORT]", hint="e.g. 127.0.0.1:5353 or 9.9.9.9")
            port, host = int(number), host.strip("[]")
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = [host], port
    resolver.lifetime = 5.0
    return resolver


def check_dns(*, settings: Settings, backend_name: str, resolver: Resolver) -> list[DnsFinding]:
    """Every finding about the sender's DNS, in the order a receiver reads them."""
    lookup = Lookup(resolver)
    domain = settings.sender.address.rpartition("@")[2].lower()
    sendgrid = backend_name == "sendgrid"
    # Over SMTP the envelope (MAIL FROM, where bounces go) is [bounces] address's domain, or else From's.
    envelope = settings.bounces.address.rpartition("@")[2].lower() if settings.bounces is not None else domain
    findings = [_one_click(settings)]
    findings += _spf_sendgrid(lookup, domain) if sendgrid else _spf_smtp(lookup, settings, envelope, domain)
    findings += _dkim_sendgrid(lookup, domain) if sendgrid else _dkim_own(lookup, settings, domain, envelope)
    if not sendgrid and not aligned(envelope, domain):
        findings.append(_envelope_alignment(domain, envelope))
    findings.append(_dmarc(lookup, domain, settings))
    if not sendgrid:
        findings.append(_mx(lookup, envelope))
    return findings


def _one_click(settings: Settings) -> DnsFinding:
    problem = base_url_problem(settings.base_url)
    if problem:
        return DnsFinding("one-click", "problem", problem)
    return DnsFinding(
        "one-click",
        "ok",
        f"unsubscribe links are https ({settings.base_url}/u/…), with List-Unsubscribe-Post for one click (RFC 8058)",
    )


def _spf_sendgrid(lookup: Lookup, domain: str) -> list[DnsFinding]:
    records = spf.spf_records(lookup.txt, domain)
    fix = zone_line(domain, f"v=spf1 include:{SENDGRID_SPF} ~all")
    if not records:
        return [DnsFinding("SPF", "problem", f"{domain} has no SPF record", fix)]
    if len(records) > 1:
        return [
            DnsFinding(
                "SPF",
                "problem",
                f"{domain} has {len(records)} SPF records: receivers ignore them all",
                "one record, e.g. " + fix,
            )
        ]
    if spf.includes(lookup.txt, domain, SENDGRID_SPF):
        return [DnsFinding("SPF", "ok", f"{domain}'s SPF record includes {SENDGRID_SPF}: {records[0]}")]
    return [
        DnsFinding(
            "SPF",
            "problem",
            f"{domain}'s SPF record does not include {SENDGRID_SPF}: {records[0]}",
            zone_line(domain, records[0].replace(" ", f" include:{SENDGRID_SPF} ", 1)),
        )
    ]


def _spf_smtp(lookup: Lookup, settings: Settings, domain: str, sender: str) -> list[DnsFinding]:
    host = settings.sending.smtp.host
    records = spf.spf_records(lookup.txt, domain)
    # Mail leaves from the relay; a relay on this machine sends from this machine's public address, unknown here.
    addresses = [] if is_loopback(host) else ([host.strip("[]")] if _is_ip(host) else lookup.addresses(host))
    mechanism = (
        f"ip{6 if ':' in host else 4}:{host.strip('[]')}"
        if _is_ip(host)
        else "ip4:<your server's public address>"
        if is_loopback(host)
        else f"a:{host}"
    )
    fix = zone_line(domain, f"v=spf1 {mechanism} ~all")
    envelope = (
        f"{domain} (the From domain is also the envelope and bounce domain)"
        if domain == sender
        else f"{domain} (the envelope and bounce domain, [bounces])"
    )
    if not records:
        return [DnsFinding("SPF", "problem", f"{envelope} has no SPF record", fix)]
    if len(records) > 1:
        return [
            DnsFinding(
                "SPF",
                "problem",
                f"{domain} has {len(records)} SPF records: receivers ignore them all",
                "one record, e.g. " + fix,
            )
        ]
    if not addresses:
        why = "the relay is on this machine" if is_loopback(host) else f"the relay {host} has no address in DNS"
        return [
            DnsFinding(
                "SPF",
                "warning",
                f"{envelope} has an SPF record ({records[0]}), but {why}: make sure it "
                "names the address your mail leaves from",
                fix,
            )
        ]
    findings = []
    for address in addresses:
        verdict = spf.evaluate(txt=lookup.txt, addresses=lookup.addresses, mx=lookup.mx, domain=domain, ip=address)
        if verdict.result == "pass":
            findings.append(
                DnsFinding("SPF", "ok", f"{envelope}: the relay {host} ({address}) passes: {verdict.reason}")
            )
        else:
            findings.append(
                DnsFinding(
                    "SPF",
                    "problem",
                    f"{envelope}: the relay {host} ({address}) does not pass ({verdict.result}): {verdict.reason}",
                    zone_line(domain, records[0].replace(" ", f" {mechanism} ", 1)),
                )
            )
    return findings


def _dkim_sendgrid(lookup: Lookup, domain: str) -> list[DnsFinding]:
    findings = []
    for selector in ("s1", "s2"):
        name = f"{selector}._domainkey.{domain}"
        target = lookup.cname(name)
        if target and target.endswith(".sendgrid.net"):
            findings.append(
                DnsFinding("DKIM", "ok", f"{name} points to SendGrid ({target}): SendGrid signs as {domain}")
            )
        else:
            findings.append(
                DnsFinding(
                    "DKIM",
                    "problem",
                    f"{name} is not SendGrid's CNAME: set up domain authentication in SendGrid "
                    "(Settings → Sender Authentication); it gives the exact records",
                    f"{name}. IN CNAME {selector}.domainkey.u<your SendGrid id>.wl.sendgrid.net.",
                )
            )
    return findings


def _dkim_own(lookup: Lookup, settings: Settings, domain: str, envelope: str) -> list[DnsFinding]:
    signing = settings.dkim
    if signing is None:
        return [
            DnsFinding(
                "DKIM",
                "warning",
                "no [dkim] in newsletter.toml: messages go out unsigned unless the relay signs them for " + domain,
                'add [dkim] domain = "' + domain + '", selector = "mco2025", then `mco-newsletter dkim keygen`',
            )
        ]
    findings = []
    if not aligned(signing.domain, domain):
        findings.append(
            DnsFinding(
                "alignment",
                "problem",
                f"the DKIM domain {signing.domain} does not align with the From domain {domain}: DMARC fails",
            )
        )
    elif aligned(envelope, domain):
        findings.append(
            DnsFinding(
                "alignment",
                "ok",
                f"From ({domain}) aligns with the DKIM domain ({signing.domain}) "
                f"and with the bounce domain ({envelope})",
            )
        )
    else:
        findings.append(
            DnsFinding(
                "alignment",
                "ok",
                f"From ({domain}) aligns with the DKIM domain ({signing.domain}): DMARC passes by DKIM",
            )
        )
    name = signing.record_name
    try:
        key = load_key(signing)
    except NewsletterError as exc:
        key, missing = None, exc.message
    expected = zone_line(name, record_value(key)) if key else None
    records = [text for text in lookup.txt(name) if "p=" in text]
    if not records:
        return findings + [
            DnsFinding(
                "DKIM", "problem", f"no DKIM record at {name}", expected or "`mco-newsletter dkim keygen` prints it"
            )
        ]
    if key is None:
        return findings + [DnsFinding("DKIM", "warning", f"{name} is published, but {missing}")]
    tags = dict(part.strip().split("=", 1) for part in records[0].split(";") if "=" in part)
    published = "".join(tags.get("p", "").split())
    if published == base64.b64encode(public_key(key)).decode("ascii"):
        return findings + [DnsFinding("DKIM", "ok", f"{name} holds the key in {_shown(signing.key, settings)}")]
    return findings + [
        DnsFinding(
            "DKIM",
            "problem",
            f"{name} holds another key than {_shown(signing.key, settings)}: receivers cannot verify the signatures",
            expected,
        )
    ]


def _envelope_alignment(domain: str, envelope: str) -> DnsFinding:
    return DnsFinding(
        "alignment",
        "warning",
        f"the bounce domain {envelope} ([bounces] address) does not align with "
        f"the From domain {domain}: SPF cannot pass DMARC, only a DKIM "
        "signature of the From domain can",
        f'a bounce address at {domain} or one of its subdomains, e.g. address = "bounces@{domain}"',
    )


def _dmarc(lookup: Lookup, domain: str, settings: Settings) -> DnsFinding:
    # A subdomain without a record of its own falls under its organisational domain's (read up the tree).
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        name = "_dmarc." + ".".join(labels[start:])
        records = [text for text in lookup.txt(name) if text.replace(" ", "").lower().startswith("v=dmarc1")]
        if len(records) > 1:
            return DnsFinding("DMARC", "problem", f"{name} has {len(records)} DMARC records: receivers ignore them all")
        if records:
            tags = {
                key.strip().lower(): value.strip()
                for key, _, value in (part.partition("=") for part in records[0].split(";"))
            }
            policy = tags.get("p", "")
            if policy.lower() == "none":
                return DnsFinding(
                    "DMARC",
                    "ok",
                    f"{name}: policy none (receivers report, and act on nothing): once "
                    "the reports show the digest passing, move to p=quarantine: " + records[0],
                )
            if policy.lower() in ("quarantine", "reject"):
                return DnsFinding("DMARC", "ok", f"{name}: policy {policy.lower()}: {records[0]}")
            return DnsFinding(
                "DMARC", "problem", f"{name} has no valid policy (p=none, quarantine or reject): " + records[0]
            )
    return DnsFinding(
        "DMARC",
        "problem",
        f"no DMARC record for {domain}: Gmail and Yahoo require one of bulk senders",
        zone_line(f"_dmarc.{domain}", f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"),
    )


def _mx(lookup: Lookup, domain: str) -> DnsFinding:
    hosts = lookup.mx(domain)
    if hosts:
        return DnsFinding("MX", "ok", f"bounces to {domain} are received by {', '.join(hosts)}")
    return DnsFinding(
        "MX",
        "warning",
        f"{domain} has no MX record: bounces and replies to it cannot arrive",
        f"{domain}. IN MX 10 <your mail server>.",
    )


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _shown(path, settings: Settings) -> str:
    try:
        return str(path.relative_to(settings.root))
    except ValueError:
        return str(path)
