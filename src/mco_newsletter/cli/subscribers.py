"""Commands on the private subscriber list: subscribers add/import/list/show/unsubscribe/export/erase, segments."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..subscribers import STATUSES
from ..wording import counted
from . import cli
from .options import json_option, one_language_option, require_languages, shown, yes_option
from .options import settings as load_settings


@contextmanager
def opened(ctx: click.Context):
    """The workspace settings and its subscriber store, closed afterwards."""
    from ..subscribers.store import open_store

    current = load_settings(ctx)
    store = open_store(current.store, on_wait=_tell_waiting)
    try:
        yield current, store
    finally:
        store.close()


def _tell_waiting(holders: list[str]) -> None:
    held = f": in use by {', '.join(holders)}" if holders else " (another program is writing to it)"
    click.echo(f"Waiting for the subscriber database{held}…", err=True)


def _column(ctx, param, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """--column FIELD=HEADER as (field, header); a field the tool does not have is a usage error."""
    from ..subscribers.import_shape import FIELDS

    pairs = []
    for value in values:
        name, equals, header = value.partition("=")
        name = name.strip().lower()
        if not equals or name not in FIELDS:
            raise click.BadParameter(f'{value!r}: give FIELD="HEADER", FIELD one of {", ".join(FIELDS)}')
        pairs.append((name, header.strip()))
    return tuple(pairs)


@cli.group("subscribers")
def subscribers() -> None:
    """Manage the subscriber list (kept outside the content repository, owner-only).

    \b
    Examples:
      mco-newsletter subscribers add reader@example.org --lang ru --tag russia
      mco-newsletter subscribers list --segment russia
    """


@subscribers.command("add")
@click.argument("email")
@one_language_option("The language the reader gets the digest in.", required=True, short=True)
@click.option("--tag", "tags", multiple=True, metavar="T", help="A tag (repeatable).")
@click.option("--name", help="The reader's name (optional; hold as little as needed).")
@click.option("--consent", default="added by hand", show_default=True, help="Where the consent came from.")
@click.option(
    "--resubscribe", is_flag=True, help="Re-activate an address that left or was erased, at the person's own request."
)
@click.pass_context
def add(ctx, email, language, tags, name, consent, resubscribe) -> None:
    """Add one subscriber.

    \b
    Example:
      mco-newsletter subscribers add reader@example.org --lang ru --tag russia
    """
    from ..subscribers.roster import add_subscriber

    with opened(ctx) as (current, store):
        require_languages(current, [language])
        outcome = add_subscriber(
            store,
            current,
            email=email,
            language=language,
            tags=tags,
            name=name,
            consent=consent,
            resubscribe=resubscribe,
        )
    click.echo(outcome)


@subscribers.command("import")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--from",
    "tool",
    type=click.Choice(["mailchimp", "listmonk", "keila", "buttondown"]),
    help="The tool that wrote the file (default: recognised by its columns).",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar='FIELD="HEADER"',
    callback=_column,
    help="The file's column for a field: email, name, first_name, last_name, language, tags, status, "
    "consent_at (repeatable).",
)
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.toml",
    help="A mapping file: the columns, tag_separator and [languages] (docs/subscribers.md).",
)
@click.option(
    "--status",
    "every_status",
    type=click.Choice(["unsubscribed", "bounced", "complained"]),
    help="Every row is a person who left: kept with this status, never sent to.",
)
@click.option("--tag", "tags", multiple=True, metavar="T", help="A tag added to every imported row (repeatable).")
@click.option(
    "--default-language",
    metavar="L",
    help="Language for rows without one, or with one that is not the newsletter's (reported).",
)
@click.option("--dry-run", is_flag=True, help="Check and count, change nothing; show the mapping and the first rows.")
@click.option("--resubscribe", is_flag=True, help="Re-activate rows that unsubscribed, bounced or complained.")
@json_option
@click.pass_context
def import_command(
    ctx, csv_file, tool, columns, mapping_file, every_status, tags, default_language, dry_run, resubscribe, as_json
) -> None:
    """Import subscribers from CSV: the tool's own columns (email, name, language, tags; tags separated by |), an
    export of Mailchimp, listmonk, Keila or Buttondown, or any CSV with its columns mapped.

    \b
    Examples:
      mco-newsletter subscribers import members.csv --dry-run
      mco-newsletter subscribers import subscribed.csv --from mailchimp --default-language en
    """
    from ..subscribers.import_mapping import choices_for
    from ..subscribers.import_rejects import RejectsNotWritten
    from ..subscribers.importing import import_csv
    from ..subscribers.tokens import erasure_key
    from .import_report import report_json, show_report

    with opened(ctx) as (current, store):
        if default_language and default_language not in current.languages:
            raise click.BadParameter(
                f"{default_language!r} is not one of {', '.join(current.languages)}", param_hint="--default-language"
            )
        choices = choices_for(
            tool=tool, columns=columns, mapping_file=mapping_file, status=every_status, languages=current.languages
        )
        try:
            report = import_csv(
                store,
                csv_file,
                rejects_dir=current.private_dir / "rejects",
                languages=current.languages,
                default_language=default_language,
                extra_tags=tags,
                erasure_key=erasure_key(current.private_dir, store=store),
                resubscribe=resubscribe,
                dry_run=dry_run,
                choices=choices,
            )
        except RejectsNotWritten as exc:
            if not as_json:
                _show_rejects(csv_file, exc.report)
            raise
    if as_json:
        click.echo(
            json.dumps(
                report_json(csv_file, report, dry_run=dry_run, default_language=default_language),
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        show_report(csv_file, report, dry_run=dry_run, default_language=default_language)
        _show_rejects(csv_file, report)
        click.echo(_summary(report, dry_run))
        if report.rejects_path:
            click.echo(f"Rejected rows written to {shown(report.rejects_path)}")
    if report.rejected:
        # The valid rows are in; a non-zero exit still tells scripts that the file needs fixing.
        ctx.exit(1)


def _summary(report, dry_run: bool) -> str:
    """What became of every row read, the numbers adding up to the rows: "Read 18 rows: 12 imported (9 added,
    3 updated), 6 rejected." Only the rows added, updated or resubscribed are called imported."""
    imported = {"added": report.added, "updated": report.updated, "resubscribed": report.resubscribed}
    done = sum(imported.values())
    how = ", ".join(f"{count:,} {word}" for word, count in imported.items() if count)
    parts = [f"{done:,} {'would be imported' if dry_run else 'imported'}" + (f" ({how})" if how else "")]
    parts += [
        f"{count:,} {words}"
        for count, words in (
            (sum(report.left_added.values()), "kept as having left"),
            (sum(report.left_marked.values()), "marked as having left"),
            (report.kept_newer, "left active (consent here newer)"),
            (report.unchanged, "unchanged"),
            (report.kept_inactive, "left unsubscribed/bounced/complained"),
            (report.erased, "erased addresses not re-added"),
            (sum(report.not_imported.values()), "not imported"),
            (report.rejected, "rejected"),
        )
        if count
    ]
    return f"Read {counted(report.rows, 'row')}: {', '.join(parts)}." + (
        " Nothing was changed (--dry-run)." if dry_run else ""
    )


def _show_rejects(csv_file: Path, report) -> None:
    for reject in report.rejects[:50]:
        click.echo(f"{shown(csv_file)}:{reject.line}: {reject.reason}", err=True)
    if report.rejected > 50:
        click.echo(f"… and {counted(report.rejected - 50, 'more rejected row')}", err=True)
    if report.ignored_columns:
        ignored = report.ignored_columns
        more = f" and {len(ignored) - 10} more" if len(ignored) > 10 else ""
        click.echo(f"Ignored columns: {', '.join(ignored[:10])}{more}", err=True)


@subscribers.command("list")
@click.option("--segment", "-s", metavar="S", help="Only the active subscribers of this segment.")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="Only the subscribers with this status (pending: signed up on the web, not yet confirmed).",
)
@json_option
@click.pass_context
def list_command(ctx, segment, status, as_json) -> None:
    """List subscribers (all of them, the active ones of a segment, or those of one status).

    \b
    Example:
      mco-newsletter subscribers list --status active --json
    """
    import dataclasses

    from ..subscribers.segments import find_segment

    with opened(ctx) as (current, store):
        chosen = find_segment(current.segments, segment) if segment else None
        rows = store.subscribers(chosen, status=status)
        if as_json:
            click.echo(json.dumps([dataclasses.asdict(s) for s in rows], ensure_ascii=False, indent=1))
            return
        count = 0
        if sys.stdout.isatty():  # a header for a person; scripts reading a pipe get the rows only
            click.echo("email\tlanguage\tstatus\ttags")
        for subscriber in rows:
            count += 1
            click.echo(f"{subscriber.email}\t{subscriber.language}\t{subscriber.status}\t{','.join(subscriber.tags)}")
    click.echo(counted(count, "subscriber"), err=True)


@subscribers.command("show")
@click.argument("email")
@json_option
@click.pass_context
def show(ctx, email, as_json) -> None:
    """Show everything held about one subscriber, with their consent record and any sign-up awaiting confirmation.

    \b
    Example:
      mco-newsletter subscribers show reader@example.org
    """
    import dataclasses

    from ..subscribers.roster import EXPORT_COLUMNS as EXPORT_ORDER
    from ..subscribers.roster import require
    from ..subscribers.signups import request_of

    with opened(ctx) as (_, store):
        subscriber = require(store, email)
        request = request_of(store, subscriber.id)
    data = dataclasses.asdict(subscriber)
    # The consent record together: where, when, and which version of the consent text (web sign-ups).
    data = {key: data[key] for key in (*EXPORT_ORDER, *(key for key in data if key not in EXPORT_ORDER))}
    signup = (
        None
        if request is None
        else {
            key: value
            for key, value in dataclasses.asdict(request).items()
            if key not in ("id", "subscriber_id", "nonce")
        }
    )
    if as_json:
        click.echo(json.dumps({**data, "signup": signup}, ensure_ascii=False, indent=1))
        return
    for key, value in data.items():
        click.echo(f"{key:15} {', '.join(value) if isinstance(value, tuple) else ('' if value is None else value)}")
    if signup is not None:
        state = f"confirmed {signup['confirmed_at']}" if signup["confirmed_at"] else f"expires {signup['expires_at']}"
        topics = f", topics {', '.join(signup['topics'])}" if signup["topics"] else ""
        click.echo(f"{'signup':15} {signup['language']}{topics}, asked {signup['requested_at']}, {state}")


@subscribers.command("purge-pending")
@click.pass_context
def purge_pending(ctx) -> None:
    """Delete web sign-ups whose confirmation link expired unused (serve does it too, as it starts).

    \b
    Example:
      mco-newsletter subscribers purge-pending
    """
    import datetime as dt

    from ..subscribers.signups import purge_expired

    with opened(ctx) as (_, store):
        with store.transaction():
            purged = purge_expired(store, dt.datetime.now(dt.UTC))
    click.echo(f"Purged {counted(purged, 'unconfirmed sign-up')}.")


@subscribers.command("unsubscribe")
@click.argument("email")
@click.pass_context
def unsubscribe(ctx, email) -> None:
    """Mark a subscriber as unsubscribed (they get nothing more; their record stays).

    \b
    Example:
      mco-newsletter subscribers unsubscribe reader@example.org
    """
    from ..subscribers.roster import unsubscribe as do_unsubscribe

    with opened(ctx) as (_, store):
        changed = do_unsubscribe(store, email)
    click.echo("Unsubscribed." if changed else "Already unsubscribed.")


@subscribers.command("export")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (created owner-only) instead of standard output.",
)
@click.pass_context
def export(ctx, out) -> None:
    """Export everything held about every subscriber as CSV (a subject-access answer).

    \b
    Example:
      mco-newsletter subscribers export --out private/everything.csv
    """
    from ..subscribers.roster import export_csv, remove_unfinished_exports

    with opened(ctx) as (current, store):
        for path in remove_unfinished_exports(private_dir=current.private_dir):
            click.echo(f"Removed {shown(path)}: an unfinished export left by an export that was stopped", err=True)
        count = export_csv(store, out, private_dir=current.private_dir)
    if out:
        click.echo(f"Exported {counted(count, 'subscriber')} to {shown(out)}", err=True)


@subscribers.command("erase")
@click.argument("email")
@yes_option
@click.pass_context
def erase(ctx, email, yes) -> None:
    """Delete a person's data for good; keep only a keyed hash so imports do not re-add them.

    \b
    Example:
      mco-newsletter subscribers erase reader@example.org
    """
    from ..delivery.forgetting import DeliveryForgetter
    from ..subscribers.erasure import erase_person

    if not yes:
        click.confirm(f"Erase everything held about {email}? This cannot be undone", abort=True)
    with opened(ctx) as (current, store):
        # Each domain that keeps something about a person forgets it too: the ledger and the outbox.
        erased = erase_person(store, current, email, forgetters=(DeliveryForgetter(current),))
    for path in erased.unfinished:
        click.echo(
            f"Removed {shown(path)}: an unfinished export (or other file) holding the address, left by a "
            "command that was stopped"
        )
    click.echo("Erased." if erased.found else "No such subscriber; the address is recorded as erased all the same.")


@cli.command("segments")
@json_option
@click.pass_context
def segments(ctx, as_json) -> None:
    """Every segment with its count of active subscribers per language.

    \b
    Example:
      mco-newsletter segments --json
    """
    from ..subscribers.segments import ALL, find_segment

    with opened(ctx) as (current, store):
        names = [ALL, *current.segments]
        counts = {name: store.count_by_language(find_segment(current.segments, name)) for name in names}
    public = {name: segment for name, segment in current.segments.items() if segment.public}
    if as_json:
        click.echo(
            json.dumps(
                {
                    name: {
                        "languages": {lang: counts[name].get(lang, 0) for lang in current.languages},
                        "total": sum(counts[name].values()),
                        **({"public": True, "label": dict(public[name].label.values)} if name in public else {}),
                    }
                    for name in names
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    width = max(map(len, names))
    click.echo(f"{'segment':{width}}  " + "  ".join(f"{lang:>6}" for lang in current.languages) + "   total")
    for name in names:
        # A public segment is a topic readers choose on the web: marked with the label they see.
        topic = f"  public: {public[name].label}" if name in public else ""
        click.echo(
            f"{name:{width}}  "
            + "  ".join(f"{counts[name].get(lang, 0):>6}" for lang in current.languages)
            + f"  {sum(counts[name].values()):>6}{topic}"
        )
