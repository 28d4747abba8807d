"""Commands for the web: serve (unsubscribe pages and event webhook), archive (static pages and feeds)."""

from __future__ import annotations

from pathlib import Path

import click

from . import cli
from .options import settings as load_settings, shown


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=int, help="Port to listen on.")
@click.pass_context
def serve(ctx, host, port) -> None:
    """Serve the one-click unsubscribe pages and SendGrid's signed event webhook."""
    import logging

    import uvicorn

    from ..web.app import create_app

    settings = load_settings(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not settings.webhook_public_key:
        click.echo("Note: no [webhook] public_key: /webhooks/sendgrid answers 403 until one is set.", err=True)
    # uvicorn's access log would write every path, and a path holds a reader's token: ours logs routes.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, server_header=False,
                log_level="info")


@cli.command("archive")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("build/archive"),
              show_default=True, help="Where to write the archive.")
@click.pass_context
def archive(ctx, out) -> None:
    """Write the static web archive: every approved edition, an index and an Atom feed per language."""
    from ..web.archive import build_archive
    from ..workspace import issue_ids, load_issue

    settings = load_settings(ctx)
    issues = [load_issue(settings, issue_id) for issue_id in issue_ids(settings)]
    written = build_archive(settings, issues, out)
    click.echo(f"Wrote {len(written)} files for {len(issues)} issues to {shown(out)}")
    for language in settings.languages:
        click.echo(f"  {language}: {shown(out / language / 'index.html')}, {shown(out / language / 'feed.atom')}")
