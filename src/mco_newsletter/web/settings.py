"""[web] in newsletter.toml: which reverse proxies `serve` believes about a client's address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..schema import Finding, Table

SCHEMA = {"web": Table(optional={"trusted_proxies": list})}
LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class WebSettings:
    """`trusted_proxies`: the addresses (or networks, 10.0.0.0/24) whose X-Forwarded-For and X-Forwarded-Proto
    `serve` believes; a client's address is the last one in that header not among them. Anyone else's header is
    ignored and the client is the address it connects from. Default: a proxy on the same machine."""

    trusted_proxies: tuple[str, ...] = LOOPBACK

    @property
    def forwarded_allow_ips(self) -> str:
        """The list as uvicorn's forwarded_allow_ips takes it."""
        return ",".join(self.trusted_proxies)


def check(data: dict) -> Iterator[Finding]:
    """Findings for trusted proxies that are not addresses or networks."""
    proxies = data.get("web", {}).get("trusted_proxies", list(LOOPBACK))
    if not isinstance(proxies, list):
        return
    for value in proxies:
        problem = proxy_problem(value)
        if problem:
            yield (
                ("web", "trusted_proxies"),
                f"web.trusted_proxies: {problem}",
                'list the proxy\'s addresses as it connects to serve, e.g. ["127.0.0.1", "::1"] or ["10.0.0.0/24"]',
            )


def proxy_problem(value: object) -> str | None:
    """Why a trusted_proxies entry is not one, or None."""
    if not isinstance(value, str):
        return f"{value!r} is not an address in quotes"
    if value.strip() == "*":
        return "'*' would believe every client's own X-Forwarded-For: anyone could pose as anyone"
    try:
        if "/" in value:
            ipaddress.ip_network(value.strip())
        else:
            ipaddress.ip_address(value.strip())
    except ValueError:
        return f"{value!r} is not an IP address or network (a host name is not resolved)"
    return None


def build(root: Path, data: dict) -> WebSettings:
    """The typed [web] table."""
    proxies = data.get("web", {}).get("trusted_proxies")
    return WebSettings(tuple(value.strip() for value in proxies)) if proxies is not None else WebSettings()
