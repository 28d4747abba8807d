"""Commands of the translation loop: models, translate, status, review."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import cli
from .options import settings as load_settings, shown


@cli.group("models")
def models() -> None:
    """Offline translation models (Argos packages; folder: $ARGOS_PACKAGES_DIR)."""


@models.command("list")
def models_list() -> None:
    """Show the installed language pairs."""
    from ..translation.packages import installed, packages_dir

    found = installed()
    click.echo(f"Packages in {packages_dir()}:")
    for package in found:
        click.echo(f"  {package.from_code} → {package.to_code}  {package.version}  {package.name}")
    if not found:
        click.echo("  (none: install one with `mco-newsletter models install FROM TO` or `--file`)")


@models.command("install")
@click.argument("languages", nargs=-1, metavar="[FROM TO]")
@click.option("--file", "package_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Install this .argosmodel file instead of downloading.")
def models_install(languages, package_file) -> None:
    """Install a package: FROM TO downloads it from the Argos index; --file installs a file."""
    from ..translation.packages import install_file, install_from_index

    if package_file and languages:
        raise click.UsageError("give either FROM TO or --file, not both")
    if package_file:
        package = install_file(package_file)
    elif len(languages) == 2:
        package = install_from_index(*languages)
    else:
        raise click.UsageError("give FROM TO (e.g. `models install en de`) or --file PACKAGE.argosmodel")
    click.echo(f"Installed {package.label} in {package.path}")


@cli.command("translate")
@click.argument("issue_id", metavar="ID")
@click.option("--to", "targets", multiple=True, metavar="L", help="A language to draft (repeatable); default: all others.")
@click.pass_context
def translate(ctx, issue_id, targets) -> None:
    """Draft the other editions with offline machine translation into issues/ID/<lang>.po."""
    from ..translation.drafts import draft_catalogs
    from ..translation.engine import Engine
    from ..workspace import load_issue

    settings = load_settings(ctx)
    issue = load_issue(settings, issue_id)
    targets = tuple(dict.fromkeys(targets)) or tuple(lang for lang in settings.languages if lang != issue.language)
    engine = Engine(settings.translation)
    for report in draft_catalogs(settings, issue, targets, engine):
        action = "wrote" if report.written else "unchanged"
        click.echo(f"{issue_id} [{report.language}]: {report.drafted} drafted, {report.kept} kept, "
                   f"{report.from_memory} from translation memory; {action} {shown(report.path)}")
    click.echo(f"Model calls: {engine.usage.calls} ({engine.usage.sentences} sentences)")


@cli.command("status")
@click.argument("issue_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx, issue_id, as_json) -> None:
    """Per language: approved pieces, machine drafts, changed since approval, untranslated, ready."""
    from ..catalogs import state
    from ..workspace import load_issue

    settings = load_settings(ctx)
    issue = load_issue(settings, issue_id)
    rows = []
    for language in settings.languages:
        if language == issue.language:
            rows.append({"language": language, "source": True, "ready": True})
            continue
        review = state(issue, language)
        rows.append({"language": language, "source": False, "total": review.total, "approved": review.approved,
                     "machine_drafts": review.drafts, "changed": review.changed,
                     "untranslated": review.untranslated, "ready": review.ready})
    if as_json:
        click.echo(json.dumps({"issue": issue_id, "languages": rows}, indent=1))
        return
    for row in rows:
        if row["source"]:
            click.echo(f"{row['language']}: source language, ready")
        else:
            click.echo(f"{row['language']}: {row['approved']}/{row['total']} approved, {row['machine_drafts']} machine "
                       f"drafts, {row['changed']} changed since approval, {row['untranslated']} untranslated — "
                       f"{'ready' if row['ready'] else 'not ready'}")


@cli.command("review")
@click.argument("issue_id", metavar="ID")
@click.option("--lang", "language", required=True, metavar="L", help="The language to review.")
@click.pass_context
def review(ctx, issue_id, language) -> None:
    """Walk the pieces not yet approved: accept, edit, skip or quit. Every decision is saved at once."""
    from ..review import run_review
    from ..workspace import load_issue

    settings = load_settings(ctx)
    issue = load_issue(settings, issue_id)
    run_review(issue, language)
