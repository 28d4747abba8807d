"""Commands of the translation loop: models, translate, status, review."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..wording import counted
from . import cli
from .options import json_option, languages_option, one_language_option, shown
from .options import settings as load_settings


def checked_languages(settings, given: tuple[str, ...], option: str = "--lang") -> tuple[str, ...]:
    """The given languages, each one of the newsletter's, or a usage error (exit 2)."""
    for language in given:
        if language not in settings.languages:
            raise click.BadParameter(
                f"{language!r} is not one of the newsletter's languages (choose from {', '.join(settings.languages)})",
                param_hint=option,
            )
    return tuple(dict.fromkeys(given))


@cli.group("models")
def models() -> None:
    """Offline translation models (Argos packages; folder: $ARGOS_PACKAGES_DIR).

    \b
    Examples:
      mco-newsletter models list
      mco-newsletter models install --file translate-en_de-1_0.argosmodel
    """


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models_list(as_json: bool) -> None:
    """Show the installed language pairs.

    \b
    Example:
      mco-newsletter models list --json
    """
    from ..translation.packages import installed, packages_dir

    found = installed()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "folder": str(packages_dir()),
                    "packages": [
                        {
                            "from": p.from_code,
                            "to": p.to_code,
                            "version": p.version,
                            "name": p.name,
                            "path": str(p.path),
                        }
                        for p in found
                    ],
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"Packages in {packages_dir()}:")
    for package in found:
        click.echo(f"  {package.from_code} → {package.to_code}  {package.version}  {package.name}")
    if not found:
        click.echo("  (none: install one with `mco-newsletter models install FROM TO` or `--file`)")


@models.command("install")
@click.argument("languages", nargs=-1, metavar="[FROM TO]")
@click.option(
    "--file",
    "package_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Install this .argosmodel file instead of downloading.",
)
def models_install(languages, package_file) -> None:
    """Install a package: FROM TO downloads it from the Argos index; --file installs a file.

    \b
    Examples:
      mco-newsletter models install --file translate-en_ru-1_9.argosmodel
      mco-newsletter models install en de
    """
    from ..translation.packages import install_file, install_from_index

    if package_file and languages:
        raise click.UsageError("give either FROM TO or --file, not both")
    start = time.monotonic()

    def step(message: str) -> None:
        click.echo(f"{message} …", err=True)

    if package_file:
        package = install_file(package_file, step)
    elif len(languages) == 2:
        package = install_from_index(languages[0], languages[1], step=step)
    else:
        raise click.UsageError("give FROM TO (e.g. `models install en de`) or --file PACKAGE.argosmodel")
    click.echo(f"Installed {package.label} in {package.path} ({time.monotonic() - start:.1f} s)")


@cli.command("translate")
@click.argument("issue_id", metavar="ID")
@click.option(
    "--lang",
    "--to",
    "targets",
    multiple=True,
    metavar="L",
    help="A language to draft (repeatable; --to is the old name); default: all others.",
)
@json_option
@click.pass_context
def translate(ctx, issue_id, targets, as_json) -> None:
    """Draft the other editions with offline machine translation into issues/ID/<lang>.po.

    \b
    Examples:
      mco-newsletter translate 2024-05
      mco-newsletter translate 2024-05 --lang de
    """
    from ..translation.drafts import draft_catalogs
    from ..translation.engine import Engine
    from ..workspace import load_issue
    from .progress import TranslationProgress

    settings = load_settings(ctx)
    targets = checked_languages(settings, targets)
    issue = load_issue(settings, issue_id)
    if issue.language in targets:
        raise click.BadParameter(
            f"issue {issue_id} is written in {issue.language}: there is nothing to translate into it",
            param_hint="--lang",
        )
    targets = targets or tuple(lang for lang in settings.languages if lang != issue.language)
    engine = Engine(settings.translation)
    progress = TranslationProgress()
    try:
        reports = draft_catalogs(settings, issue, targets, engine, progress=progress.update)
    finally:
        progress.finish()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "issue": issue_id,
                    "languages": [
                        {
                            "language": r.language,
                            "path": str(r.path),
                            "drafted": r.drafted,
                            "kept": r.kept,
                            "changed": r.changed,
                            "from_memory": r.from_memory,
                            "close_matches": r.close_matches,
                            "written": r.written,
                        }
                        for r in reports
                    ],
                    "model_calls": engine.usage.calls,
                    "sentences": engine.usage.sentences,
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        return
    for report in reports:
        parts = [counted(report.drafted, "piece") + " drafted", f"{report.kept} kept"]
        if report.changed:
            parts.append(f"{report.changed} changed in the source (previous translation kept for review)")
        parts.append(f"{report.from_memory} from translation memory")
        if report.close_matches:
            parts.append(counted(report.close_matches, "close match", "close matches") + " from translation memory")
        action = "wrote" if report.written else "unchanged"
        click.echo(f"{issue_id} [{report.language}]: {', '.join(parts)}; {action} {shown(report.path)}")
    click.echo(f"Model calls: {engine.usage.calls} ({counted(engine.usage.sentences, 'sentence')})")


@cli.command("status")
@click.argument("issue_id", metavar="[ID]", required=False)
@languages_option("Only this language (repeatable).")
@json_option
@click.pass_context
def status(ctx, issue_id, languages, as_json) -> None:
    """Per language: approved pieces, drafts, changed since approval, untranslated, ready. Without ID: every issue.

    \b
    Examples:
      mco-newsletter status
      mco-newsletter status 2024-05 --lang ru
    """
    from ..errors import NewsletterError
    from ..workspace import issue_ids, load_issue
    from .reviewing import status_line, status_rows

    settings = load_settings(ctx)
    languages = checked_languages(settings, languages) or settings.languages
    if issue_id:
        rows = status_rows(load_issue(settings, issue_id), languages)
        if as_json:
            click.echo(json.dumps({"issue": issue_id, "languages": rows}, indent=1, ensure_ascii=False))
        for row in [] if as_json else rows:
            click.echo(status_line(row))
        return
    report: list[dict] = []
    for one in issue_ids(settings):
        try:  # one broken issue or catalog does not hide the others
            report.append({"issue": one, "languages": status_rows(load_issue(settings, one), languages)})
        except NewsletterError as exc:
            report.append({"issue": one, "error": exc.message})
    if as_json:
        click.echo(json.dumps({"issues": report}, indent=1, ensure_ascii=False))
        return
    if not report:
        click.echo("No issues yet: create one with `mco-newsletter new <id>`.")
    for item in report:
        if "error" in item:
            click.echo(f"{item['issue']}: cannot be read ({item['error']}); `mco-newsletter check` says more")
        else:
            click.echo(f"{item['issue']}: " + " · ".join(status_line(row, short=True) for row in item["languages"]))


@cli.command("review")
@click.argument("issue_id", metavar="ID")
@one_language_option("The language to review.", required=True)
@click.option(
    "--translator",
    metavar='"NAME <EMAIL>"',
    help="Who approves: written to the catalog's Last-Translator (default: [translation] translator).",
)
@click.pass_context
def review(ctx, issue_id, language, translator) -> None:
    """Walk the pieces not yet approved: approve, edit, machine draft, skip or quit. Every decision is saved at once.

    \b
    Example:
      mco-newsletter review 2024-05 --lang de --translator "Anna Beispiel <anna@example.org>"
    """
    from ..review import Review, translator_identity
    from ..workspace import load_issue
    from .reviewing import run_session

    settings = load_settings(ctx)
    checked_languages(settings, (language,))
    issue = load_issue(settings, issue_id)
    if language == issue.language:
        raise click.BadParameter(
            f"issue {issue_id} is written in {language}: its {language} edition is the source, "
            "there is nothing to review",
            param_hint="--lang",
        )
    configured = (settings.raw.get("translation") or {}).get("translator")
    session = Review(issue, language, translator=translator_identity(translator or configured))
    run_session(session, settings)
