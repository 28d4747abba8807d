"""Commands for the web: serve (unsubscribe pages and event webhook), archive (static pages and feeds)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..wording import counted
from . import cli
from .options import json_option, shown
from .options import settings as load_settings


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--editor/--no-editor",
    default=None,
    help="Serve the translators' review pages, writing catalogs into this host's workspace (default: yes "
    "on SQLite; on PostgreSQL only the one replica started with --editor).",
)
@click.pass_context
def serve(ctx, host, port, editor) -> None:
    """Serve the sign-up, confirmation, preferences and one-click unsubscribe pages, SendGrid's signed event webhook,
    the review pages and GET /healthz (sign-ups that expired unconfirmed are deleted as it starts).

    \b
    Example:
      mco-newsletter serve --host 127.0.0.1 --port 8000
      mco-newsletter serve --port 8025 --editor
    """
    import logging

    import uvicorn

    from ..web.app import create_app
    from ..web.server import refuse_local_outbox, server_options

    settings = load_settings(ctx)
    refuse_local_outbox(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not settings.webhook_public_key:
        click.echo("Note: no [webhook] public_key: /webhooks/sendgrid answers 403 until one is set.", err=True)
    # uvicorn's access log would write every path, and a path holds a reader's token: ours logs routes.
    uvicorn.run(
        create_app(settings, editor=editor),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.web.forwarded_allow_ips,
        **server_options(),
    )


@cli.command("archive")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/archive"),
    show_default=True,
    help="Where to write the archive.",
)
@click.option(
    "--relative-urls",
    is_flag=True,
    help="Link pages to each other by relative addresses, so that a copy can be browsed from disk.",
)
@json_option
@click.pass_context
def archive(ctx, out, relative_urls, as_json) -> None:
    """Write the static web archive of the published issues: their approved editions, an index and an Atom feed
    per language. Drafts are left out; a broken issue is skipped with its reason (exit 1), the rest is built.

    \b
    Examples:
      mco-newsletter archive --out site
      mco-newsletter archive --out site --relative-urls
    """
    from ..web.archive import build_archive

    settings = load_settings(ctx)
    report = build_archive(settings, out, relative_urls=relative_urls)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": str(out),
                    "published": report.published,
                    "drafts": report.drafts,
                    "broken": [{"issue": issue_id, "problems": reasons} for issue_id, reasons in report.broken],
                    "languages": report.languages,
                    "files": [str(path) for path in report.written],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        for issue_id in report.drafts:
            click.echo(f"Skipped {issue_id}: a draft (status: draft), not published.", err=True)
        for issue_id, reasons in report.broken:
            click.echo(f"Skipped {issue_id}: it cannot be built:", err=True)
            for reason in reasons:
                click.echo("  " + reason.replace("\n", "\n  "), err=True)
        click.echo(
            f"Wrote {counted(len(report.written), 'file')} for {counted(len(report.published), 'issue')} "
            f"to {shown(out)}"
        )
        for language in report.languages:
            click.echo(f"  {language}: {shown(out / language / 'index.html')}, {shown(out / language / 'feed.atom')}")
    if report.broken:
        ctx.exit(1)
