"""`dkim keygen|record`: the key that signs what the tool sends itself, and its DNS record (docs/deliverability.md)."""

from __future__ import annotations

import click

from . import cli
from .options import settings as load_settings
from .options import shown


@cli.group("dkim")
def dkim() -> None:
    """DKIM: make the signing key and print the DNS record to publish.

    \b
    Examples:
      mco-newsletter dkim keygen
      mco-newsletter dkim record
    """


@dkim.command("keygen")
@click.pass_context
def keygen(ctx) -> None:
    """Make the RSA-2048 key of [dkim] (private/dkim/SELECTOR.pem, owner-only) and print its DNS record.

    \b
    Example:
      mco-newsletter dkim keygen
    """
    from ..delivery.dkim_keys import generate_key, load_key, require

    settings = load_settings(ctx)
    signing = require(settings)
    path = generate_key(signing)
    click.echo(f"Made {shown(path)} (readable by you only; never commit or send it).")
    _print_record(signing, load_key(signing))


@dkim.command("record")
@click.pass_context
def record(ctx) -> None:
    """Print the DNS record of the key in use, to publish at SELECTOR._domainkey.DOMAIN.

    \b
    Example:
      mco-newsletter dkim record
    """
    from ..delivery.dkim_keys import load_key, require

    signing = require(load_settings(ctx))
    _print_record(signing, load_key(signing))


def _print_record(signing, key) -> None:
    from ..delivery.dkim_keys import record_value, zone_line

    click.echo(
        f"Publish this TXT record at {signing.record_name} (mail is signed from the next send on; "
        "`mco-newsletter check --dns` tells when receivers can see it):"
    )
    click.echo(zone_line(signing.record_name, record_value(key)))
