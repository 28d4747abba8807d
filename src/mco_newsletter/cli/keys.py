"""`keys init|fingerprints`: making the secret keys on purpose, and comparing them with the shared store's, by
fingerprint only (subscribers/keys.py does the work; no key is ever printed)."""

from __future__ import annotations

import json

import click

from . import cli
from .options import json_option


@cli.group("keys")
def keys() -> None:
    """The secret keys (reader links, erasure hashes): make them, compare them across hosts.

    \b
    Examples:
      mco-newsletter keys init
      mco-newsletter keys fingerprints
    """


@keys.command("init")
@click.pass_context
def init(ctx) -> None:
    """Make the keys this host lacks (owner-only files in the private folder). With a PostgreSQL store, run it on the
    first host only, then copy the files to the others: their fingerprints are recorded in the store, and a host
    with other keys is refused.

    \b
    Example:
      mco-newsletter keys init
    """
    from ..subscribers.keys import make_keys, shared
    from .subscribers import opened

    with opened(ctx) as (settings, store):
        done = make_keys(settings.private_dir, store=store)
        is_shared = shared(store)
    for found, made in done:
        what = f"made {found.source}" if made else f"kept, from {found.source}"
        click.echo(f"{found.key.label}: {what} (fingerprint {found.fingerprint})")
    if is_shared:
        click.echo(
            "Recorded in the shared store. Every host needs these keys: copy the files into its private "
            "folder (owner-only), or give them in the environment or as systemd credentials "
            "(docs/subscribers.md)."
        )


@keys.command("fingerprints")
@json_option
@click.pass_context
def fingerprints(ctx, as_json) -> None:
    """Each key's fingerprint on this host, where the key comes from, and (with a PostgreSQL store) whether it is the
    store's. Exit 1 when a shared store's key is missing here or differs.

    \b
    Example:
      mco-newsletter keys fingerprints --json
    """
    from ..subscribers.keys import KEYS, find_key, shared
    from .subscribers import opened

    with opened(ctx) as (settings, store):
        rows = []
        for key in KEYS:
            found = find_key(key, settings.private_dir)
            recorded = store.key_fingerprints.get(key.file) if shared(store) else None
            rows.append((found, recorded))
        is_shared = shared(store)
    wrong = [
        found
        for found, recorded in rows
        if is_shared and (found.fingerprint is None or (recorded and recorded.fingerprint != found.fingerprint))
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "shared_store": is_shared,
                    "keys": [
                        {
                            "key": found.key.label,
                            "source": found.source,
                            "fingerprint": found.fingerprint,
                            "store": None
                            if recorded is None
                            else {"fingerprint": recorded.fingerprint, "host": recorded.host, "at": recorded.at},
                        }
                        for found, recorded in rows
                    ],
                },
                indent=1,
            )
        )
    else:
        for found, recorded in rows:
            here = (
                f"{found.fingerprint}  ({found.source})"
                if found.fingerprint
                else "missing here" + ("" if is_shared else " (made on first use)")
            )
            click.echo(f"{found.key.label}: {here}")
            if recorded is not None:
                same = "the same" if recorded.fingerprint == found.fingerprint else recorded.fingerprint + "  DIFFERS"
                click.echo(f"  store: {same} (first used on {recorded.host}, {recorded.at[:10]})")
            elif is_shared:
                click.echo("  store: not recorded yet (the first host to use the key records it)")
    if wrong:
        ctx.exit(1)
