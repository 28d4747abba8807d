"""Commands that turn issues into email editions: render, preview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click

from . import cli
from .options import json_option, language_option, one_language_option, require_languages, settings, shown


def _render_issue(ctx: click.Context, issue_id: str, languages: tuple[str, ...], out: Path, allow_drafts: bool = False):
    from ..edition import choose_languages, load_edition
    from ..render.edition_email import render
    from ..render.writer import write_edition
    from ..workspace import load_issue

    current = settings(ctx)
    require_languages(current, languages)
    issue = load_issue(current, issue_id)
    written = []
    for language in choose_languages(issue, current.languages, languages, allow_drafts):
        rendered = render(load_edition(current, issue, language, allow_drafts=allow_drafts), current)
        written.append((language, write_edition(rendered, out)))
    return written


@cli.command("render")
@click.argument("issue_id", metavar="ID")
@language_option
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where to write ID/LANG.html, .txt and .eml.",
)
@click.option(
    "--allow-drafts", is_flag=True, help="Also render unreviewed translations, with a banner and a [DRAFT] subject."
)
@json_option
@click.pass_context
def render_command(
    ctx: click.Context, issue_id: str, languages: tuple[str, ...], out: Path, allow_drafts: bool, as_json: bool
) -> None:
    """Render the ready editions of an issue to HTML, plain text and a complete .eml message.

    \b
    Examples:
      mco-newsletter render 2024-05
      mco-newsletter render 2024-05 --lang de --allow-drafts --out drafts
    """
    written = _render_issue(ctx, issue_id, languages, out, allow_drafts)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "issue": issue_id,
                    "editions": [
                        {"language": language, "files": [str(path) for path in paths]} for language, paths in written
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    for language, paths in written:
        click.echo(f"{issue_id} [{language}]: " + "  ".join(shown(p) for p in paths))
    if not languages and not allow_drafts:
        from ..edition import skipped_languages
        from ..workspace import load_issue

        current = settings(ctx)
        for language, why in skipped_languages(load_issue(current, issue_id), current.languages):
            click.echo(f"{issue_id} [{language}]: skipped, {why}")


@cli.command("preview")
@click.argument("issue_id", metavar="ID")
@one_language_option("The edition to preview (default: the source language).")
@click.option(
    "--screenshot",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PNG",
    help="Take a full-page screenshot with headless Chromium instead of opening a browser.",
)
@click.option("--width", type=int, default=375, show_default=True, help="Screen width in CSS pixels for --screenshot.")
@click.option(
    "--color-scheme",
    type=click.Choice(["light", "dark"]),
    default=None,
    help="The colour scheme the reader's device prefers, for --screenshot (default: light).",
)
@click.option("--dark", is_flag=True, help="Short for --color-scheme dark.")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where the rendered edition is written.",
)
@click.pass_context
def preview(
    ctx: click.Context,
    issue_id: str,
    language: str | None,
    screenshot: Path | None,
    width: int,
    color_scheme: str | None,
    dark: bool,
    out: Path,
) -> None:
    """Render one edition and open it in a browser, or save a screenshot of it (in the light or dark scheme).

    \b
    Examples:
      mco-newsletter preview 2024-05 --lang de
      mco-newsletter preview 2024-05 --screenshot edition.png --width 360 --dark
    """
    if dark and color_scheme == "light":
        raise click.UsageError("--dark and --color-scheme light contradict each other")
    if (dark or color_scheme) and screenshot is None:
        raise click.UsageError(
            "--dark and --color-scheme go with --screenshot PNG (a browser you open follows your own device's setting)"
        )
    languages = (language,) if language else ()
    language, paths = _render_issue(ctx, issue_id, languages, out, allow_drafts=bool(language))[0]
    html = paths[0]
    if screenshot is not None:
        from ..render.browser import screenshot as take_screenshot

        scheme: Literal["light", "dark"] = "dark" if dark or color_scheme == "dark" else "light"
        take_screenshot(html, screenshot, width, color_scheme=scheme)
        click.echo(
            f"Screenshot of {issue_id} [{language}] at {width} px"
            f"{', dark scheme' if scheme == 'dark' else ''}: {shown(screenshot)}"
        )
        return
    import webbrowser

    click.echo(f"Opening {shown(html)}")
    if not webbrowser.open(html.resolve().as_uri()):
        click.echo("No browser could be started here; open the file above yourself, or use --screenshot PNG.", err=True)
