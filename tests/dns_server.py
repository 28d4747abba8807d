"""A real DNS server on loopback (dnslib, UDP) serving a zone the test writes: TXT, MX, A, AAAA and CNAME records.

Lookups reach it through the network stack, as they reach any name server: dnspython's Resolver pointed at
127.0.0.1 and its port (MCO_NEWSLETTER_DNS for the tool, `dnsfunc` for dkimpy's verification). A name with no
records at all answers NXDOMAIN; a name with records of other types answers with none (NODATA); a CNAME is
followed within the zone, as a recursive resolver would.
"""

from __future__ import annotations

from contextlib import contextmanager

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel
from dnslib.server import BaseResolver, DNSLogger, DNSServer

MAKERS = {"A": A, "AAAA": AAAA, "CNAME": lambda name: CNAME(DNSLabel(name)),
          "MX": lambda value: MX(DNSLabel(value[1]), value[0]),
          # A TXT record's text travels in strings of at most 255 bytes (RFC 1035 3.3.14).
          "TXT": lambda text: TXT([text[i:i + 255].encode() for i in range(0, max(len(text), 1), 255)])}


class Zone(BaseResolver):
    """Answers from `records`: {name: [(type, value), …]}; MX values are (preference, host)."""

    def __init__(self, records: dict[str, list[tuple[str, object]]]):
        self.records = {name.lower().rstrip("."): list(values) for name, values in records.items()}
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        kind = QTYPE[request.q.qtype]
        self.queries.append((name, kind))
        for _ in range(8):  # CNAME chains, followed within the zone
            found = self.records.get(name)
            if found is None:
                if not reply.rr:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            alias = next((value for rtype, value in found if rtype == "CNAME"), None)
            if alias is not None and kind != "CNAME":
                reply.add_answer(RR(name, QTYPE.CNAME, rdata=MAKERS["CNAME"](alias), ttl=60))
                name = str(alias).lower().rstrip(".")
                continue
            for rtype, value in found:
                if rtype == kind:
                    reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=MAKERS[rtype](value), ttl=60))
            return reply
        return reply


@contextmanager
def dns_server(records: dict[str, list[tuple[str, object]]]):
    """A UDP name server on 127.0.0.1 serving `records` for the block; yields (port, zone)."""
    zone = Zone(records)
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger("-request,-reply,-truncated,-error,-recv,"
                                                                             "-send,-data"))
    server.start_thread()
    try:
        yield server.server.server_address[1], zone
    finally:
        server.stop()
        server.server.server_close()


def txt_lookup(port: int):
    """dkimpy's dnsfunc: the TXT record of a name, asked of the loopback server with dnspython (over UDP)."""
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port

    def get_txt(name, timeout=5):
        name = name.decode("ascii") if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)

    return get_txt
