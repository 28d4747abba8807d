"""`bounces`: read the bounce mailbox and apply its bounces, complaints and unsubscribe requests (bounces/)."""

from __future__ import annotations

import json

import click

from ..wording import counted
from . import cli
from .options import json_option
from .options import settings as load_settings

# What each kind does to the reader, said beside its count.
KIND_LINES = (
    ("hard", "hard bounce", "marked bounced: the address is gone"),
    ("soft", "soft bounce", "noted; a reader is marked bounced when their last 3 messages all soft-bounced"),
    ("blocked", "block", "noted on the delivery; the reader is not at fault: nothing changed"),
    ("delayed", "delay", "the mail server still tries: nothing changed"),
    ("complaint", "complaint", "marked complained (spam report): never sent to again"),
    ("unsubscribe", "unsubscribe request", "unsubscribed"),
    ("other", "other message about a delivery", "an auto-reply or a delivery notice: nothing changed"),
)


@cli.command("bounces")
@click.option("--dry-run", is_flag=True, help="Read and count; apply nothing, move nothing.")
@json_option
@click.pass_context
def bounces(ctx, dry_run: bool, as_json: bool) -> None:
    """Read the bounce mailbox ([bounces] in newsletter.toml) and apply its bounces, complaints and unsubscribe
    requests, with the webhook's rules; handled messages move to its processed folder.

    Example: mco-newsletter bounces --dry-run

    \b
    Examples:
      mco-newsletter bounces --dry-run
      mco-newsletter bounces
    """
    from ..bounces.processing import process_bounces
    from ..subscribers.store import open_store

    settings = load_settings(ctx)
    store = open_store(settings.store)
    try:
        done = process_bounces(settings=settings, store=store, dry_run=dry_run)
    finally:
        store.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "mailbox": done.mailbox,
                    "dry_run": done.dry_run,
                    "read": done.read,
                    "hard_bounces": done.applied["hard"],
                    "soft_bounces": done.applied["soft"],
                    "blocks": done.applied["blocked"],
                    "delays": done.applied["delayed"],
                    "complaints": done.applied["complaint"],
                    "unsubscribe_requests": done.applied["unsubscribe"],
                    "other": done.applied["other"],
                    "bounced_after_soft_bounces": done.worn_out,
                    "already_applied": done.already_applied,
                    "not_ours": done.not_ours,
                    "forged": done.forged,
                    "unreadable": done.unreadable,
                    "moved": done.moved,
                    "kept": done.kept,
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"Read {counted(done.read, 'message')} from {done.mailbox}"
        + (" (dry run: nothing applied, nothing moved)." if dry_run else ".")
    )
    for kind, noun, meaning in KIND_LINES:
        if done.applied[kind]:
            click.echo(f"  {counted(done.applied[kind], noun):<32} {meaning}")
    if done.worn_out:
        click.echo(f"  {counted(done.worn_out, 'reader'):<32} marked bounced after repeated soft bounces")
    if done.already_applied:
        click.echo(f"  {counted(done.already_applied, 'message'):<32} applied by an earlier run: nothing again")
    if not dry_run and done.moved:
        click.echo(f"Moved {counted(done.moved, 'handled message')} to the processed folder.")
    if done.kept:
        parts = [
            f"{count:,} {what}"
            for count, what in (
                (done.not_ours, "not about a delivery (no token of ours)"),
                (done.forged, "with a token that does not open (forged, or the reader left or changed address)"),
                (done.unreadable, "unreadable"),
            )
            if count
        ]
        click.echo(f"Left in the mailbox for a person to read, nothing changed: {'; '.join(parts)}.", err=True)
