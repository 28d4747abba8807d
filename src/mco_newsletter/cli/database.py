"""`database status|copy|compact`: where the subscriber store is and what it holds, carrying an SQLite store into
PostgreSQL (storage/copy.py does the work), and rewriting the tables that held erased people (storage/compaction.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..wording import counted
from . import cli
from .options import json_option
from .options import settings as load_settings


@cli.group("database")
def database() -> None:
    """The subscriber store: where it is, what it holds; carry an SQLite store into PostgreSQL; compact it.

    \b
    Examples:
      mco-newsletter database status
      mco-newsletter database copy --to postgresql://mco@db.example.org/newsletter
      mco-newsletter database compact
    """


@database.command("status")
@json_option
@click.pass_context
def status(ctx, as_json) -> None:
    """Which store the workspace uses (a URL without its password), its schema version and rows per table.

    \b
    Example:
      mco-newsletter database status --json
    """
    from ..storage.database import open_database
    from ..storage.inventory import status as store_status

    db = open_database(load_settings(ctx).store)
    try:
        found = store_status(db)
    finally:
        db.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "store": found.kind,
                    "location": found.shown,
                    "schema_version": found.version,
                    "newest_schema_version": found.newest,
                    "rows": found.rows,
                },
                indent=1,
            )
        )
        return
    click.echo(f"Store: {'PostgreSQL' if found.kind == 'postgresql' else 'SQLite'}, {found.shown}")
    click.echo(
        f"Schema version: {found.version}"
        + (" (the newest this tool knows)" if found.version == found.newest else f" (this tool knows {found.newest})")
    )
    width = max(map(len, found.rows), default=0)
    for table, count in found.rows.items():
        click.echo(f"  {table:<{width}}  {count:>12,}")


@database.command("copy")
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="The PostgreSQL database to fill: postgresql://USER@HOST:PORT/DATABASE (empty; the password in "
    "PGPASSWORD or ~/.pgpass).",
)
@click.option(
    "--from",
    "source_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The SQLite file to copy (default: the workspace's store).",
)
@click.pass_context
def copy(ctx, target_url, source_path) -> None:
    """Copy the workspace's SQLite store into an empty PostgreSQL database, ids and link nonces as they are, in one
    transaction, verified table by table before it is committed. The SQLite file is left as it was.

    \b
    Example:
      mco-newsletter database copy --to postgresql://mco@db.example.org/newsletter
    """
    from ..errors import NewsletterError
    from ..storage.copy import copy_store
    from ..storage.database import open_database
    from ..storage.location import StoreLocation, looks_like_url, url_problem
    from ..storage.translator_rows import carry_over
    from ..translators import FILE_NAME

    settings = load_settings(ctx)
    problem = (
        url_problem(target_url)
        if looks_like_url(target_url)
        else "give the PostgreSQL database as postgresql://USER@HOST:PORT/DATABASE"
    )
    if problem:
        raise click.BadParameter(problem, param_hint="--to")
    if source_path is None and settings.store.kind != "sqlite":
        raise NewsletterError(
            f"the workspace's store is PostgreSQL already ({settings.store.shown})",
            hint="to copy an SQLite file into another database, give it with --from FILE",
        )
    source_file = source_path or settings.database_path
    if not source_file.is_file():
        raise NewsletterError(f"{source_file}: no SQLite store there", hint="give the file with --from FILE")
    source = open_database(StoreLocation(path=source_file))
    try:
        carry_over(source, source_file.parent / FILE_NAME)  # a registry still in its old file goes too
        target = open_database(StoreLocation(url=target_url))
        try:
            copied = copy_store(source, target)
        finally:
            target.close()
    finally:
        source.close()
    width = max(len(item.table) for item in copied)
    click.echo(f"Copied {source_file} into {StoreLocation(url=target_url).shown}:")
    for item in copied:
        click.echo(f"  {item.table:<{width}}  {item.rows:>12,} rows  sha256 {item.digest[:16]}")
    click.echo("Each table was read back and compared before the commit: the same rows, ids and values.")
    click.echo(
        "Next: set [database] url (or MCO_NEWSLETTER_DB) to the new store. The SQLite file is left as it was; "
        "the keys stay in "
        f"{settings.private_dir} (they are not in the database: keep them with it)."
    )


@database.command("compact")
@json_option
@click.pass_context
def compact(ctx, as_json) -> None:
    """Rewrite the tables that held erased people, so that no byte of a deleted row is left in their files
    (PostgreSQL: VACUUM FULL of each; SQLite, which overwrites rows as it deletes them: VACUUM of the file, to give
    its free space back). Each table is locked against every reader and writer while it is rewritten, about a
    second per 100,000 rows, and needs free disk space for its copy: run it at a quiet hour, e.g. weekly from a
    systemd timer (docs/subscribers.md). What the server's write-ahead log and backups keep is not touched.

    \b
    Example:
      mco-newsletter database compact --json
    """
    from ..storage.compaction import compact as compact_store
    from ..storage.database import open_database

    settings = load_settings(ctx)
    db = open_database(settings.store)
    try:
        done = compact_store(db)
    finally:
        db.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "store": done.kind,
                    "location": settings.store.shown,
                    "tables": [
                        {
                            "table": t.table,
                            "bytes_before": t.bytes_before,
                            "bytes_after": t.bytes_after,
                            "seconds": round(t.seconds, 3),
                        }
                        for t in done.tables
                    ],
                    "erasures_since_previous": done.erasures,
                    "previous_compaction": done.previous,
                    "skipped": [{"table": table, "reason": reason} for table, reason in done.skipped],
                },
                indent=1,
            )
        )
        return
    postgresql = done.kind == "postgresql"
    click.echo(
        f"Compacted {settings.store.shown}"
        + (" (VACUUM FULL of each table):" if postgresql else " (VACUUM of the file):")
    )
    width = max(len(t.table) for t in done.tables)
    for t in done.tables:
        click.echo(f"  {t.table:<{width}}  {_size(t.bytes_before):>9} → {_size(t.bytes_after):>9}  {t.seconds:.1f} s")
    since = f"since the last compaction ({done.previous[:16].replace('T', ' ')} UTC)" if done.previous else "in all"
    click.echo(
        f"{counted(done.erasures, 'erasure')} {since}: "
        + (
            "no deleted row's bytes are left in these tables' files."
            if postgresql
            else "SQLite had overwritten their rows when they were deleted."
        )
    )
    for table, reason in done.skipped:
        click.echo(f"Not compacted: {table} ({reason}).")
    if postgresql:
        click.echo(
            "The server's write-ahead log, its archive and backups keep deleted rows for as long as they are "
            "kept (docs/subscribers.md)."
        )


def _size(count: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return ""
