"""The [dkim] table of newsletter.toml and its key: made by `mco-newsletter dkim keygen` under private/ (0600),
published in DNS as a TXT record at <selector>._domainkey.<domain>.

The key is RSA-2048 with SHA-256 (rsa-sha256): the one algorithm every receiver verifies (Gmail and Microsoft
do not verify ed25519-sha256, RFC 8463). openssl makes it, as dkimpy's own dknewkey does; the public half is
derived from the private key, so the record can be printed again at any time.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import NewsletterError
from ..schema import Finding, Table

if TYPE_CHECKING:  # cryptography is imported by what signs or makes a key
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

SCHEMA = {"dkim": Table(required={"domain": str, "selector": str}, optional={"key": str})}
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
KEY_BITS = 2048


@dataclass(frozen=True)
class DkimSettings:
    """Who signs: d= (the domain), s= (the selector) and where the private key is."""

    domain: str
    selector: str
    key: Path

    @property
    def record_name(self) -> str:
        """The DNS name the public key is published at."""
        return f"{self.selector}._domainkey.{self.domain}"


def aligned(domain: str, other: str) -> bool:
    """DMARC's relaxed alignment, read from the domain tree: one is the other or a subdomain of it.

    (DMARC compares organisational domains, found with the Public Suffix List; the tree reading agrees
    for every pair of an organisation's own names, and refuses names under different registrations.)
    """
    domain, other = domain.lower().rstrip("."), other.lower().rstrip(".")
    return domain == other or domain.endswith("." + other) or other.endswith("." + domain)


def check(data: dict) -> Iterator[Finding]:
    """Findings for a [dkim] table whose values cannot sign aligned mail."""
    table = data.get("dkim")
    if table is None:
        return
    domain, selector = table["domain"], table["selector"]
    if not _NAME.fullmatch(domain) or "." not in domain:
        yield (
            ("dkim", "domain"),
            f"dkim.domain {domain!r} is not a domain name",
            'the domain of your From address, e.g. domain = "example.org" (non-ASCII names in their xn-- form)',
        )
    if not _NAME.fullmatch(selector):
        yield (
            ("dkim", "selector"),
            f"dkim.selector {selector!r} is not a DNS label",
            'letters, digits and hyphens, e.g. selector = "mco2025" (a new selector for each new key)',
        )
    sender = data["sender"]["address"].rpartition("@")[2]
    if _NAME.fullmatch(domain) and not aligned(domain, sender):
        yield (
            ("dkim", "domain"),
            f"dkim.domain {domain!r} does not align with the From address's domain "
            f"{sender!r}: DMARC passes only when the signing domain and From share a domain",
            f'sign with the From domain: domain = "{sender}"',
        )
    if "key" in table and not table["key"].strip():
        yield ("dkim", "key"), "dkim.key is empty", "leave it out for private/dkim/<selector>.pem"


def build(root: Path, data: dict) -> DkimSettings | None:
    """The typed [dkim] table, or None when mail goes unsigned (no table)."""
    from ..storage.location import database_path

    table = data.get("dkim")
    if table is None:
        return None
    given = table.get("key")
    if given:
        key = Path(given).expanduser()
        key = key if key.is_absolute() else root / key
    else:  # beside the subscriber database: the private folder
        key = database_path(root, data).parent / "dkim" / f"{table['selector']}.pem"
    return DkimSettings(table["domain"].lower(), table["selector"], key)


class Configured(Protocol):
    """Settings with their [dkim] table (config.Settings)."""

    @property
    def dkim(self) -> DkimSettings | None: ...


def require(settings: Configured) -> DkimSettings:
    """The [dkim] settings, or an error saying how to add them."""
    if settings.dkim is None:
        raise NewsletterError(
            "newsletter.toml has no [dkim] table",
            hint='add [dkim] with domain = "<your From domain>" and selector = "mco2025" (docs/deliverability.md)',
        )
    return settings.dkim


def generate_key(dkim: DkimSettings) -> Path:
    """Make the private key at dkim.key (0600, its folder owner-only); refuse to replace one."""
    from ..files import create_private_file

    if dkim.key.exists():
        raise NewsletterError(
            f"{dkim.key} already exists: a key that is in use stays",
            hint="`mco-newsletter dkim record` prints its DNS record; for a new key, choose a new "
            "selector in [dkim], publish its record, then switch",
        )
    openssl = shutil.which("openssl")
    if openssl is None:
        raise NewsletterError("openssl is not installed: it makes the key", hint="apt-get install openssl")
    made = subprocess.run(
        [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{KEY_BITS}"],
        capture_output=True,
        timeout=120,
    )
    if made.returncode != 0 or b"PRIVATE KEY" not in made.stdout:
        raise NewsletterError(f"openssl could not make a key: {made.stderr.decode(errors='replace').strip()}")
    if not create_private_file(dkim.key, made.stdout):
        raise NewsletterError(f"{dkim.key} was made by another command meanwhile: it stays")
    return dkim.key


def load_key(dkim: DkimSettings) -> RSAPrivateKey:
    """The private key (cryptography's RSAPrivateKey: OpenSSL signs in 0.4 ms what dkimpy's Python RSA signs in
    8 ms, bench/dkim_sign.py), or an error naming the file and what to do."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        data = dkim.key.read_bytes()
    except FileNotFoundError:
        raise NewsletterError(
            f"no DKIM key at {dkim.key}",
            hint="make one with `mco-newsletter dkim keygen` and publish the record it prints",
        ) from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise NewsletterError(
            f"{dkim.key}: not a private key in PEM form without a password ({exc})",
            hint="make one with `mco-newsletter dkim keygen`",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise NewsletterError(
            f"{dkim.key}: not an RSA private key of 1024 bits or more (rsa-sha256 needs one)",
            hint="make one with `mco-newsletter dkim keygen`",
        )
    return key


def public_key(key: RSAPrivateKey) -> bytes:
    """The DER SubjectPublicKeyInfo of an RSA key (what a DKIM record's p= carries, in base64)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def record_value(key: RSAPrivateKey) -> str:
    """The TXT record's text: version, key type and the public key."""
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public_key(key)).decode('ascii')}"


def zone_line(name: str, value: str) -> str:
    """A TXT record as a zone file line, its text cut in strings of at most 255 characters (RFC 1035 3.3.14)."""
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)]
    return f"{name}. IN TXT ( " + " ".join(f'"{chunk}"' for chunk in chunks) + " )"
