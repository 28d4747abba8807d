"""`translators add|list|revoke`: who may review in the browser, each with a personal link (docs/review.md)."""

from __future__ import annotations

import json

import click

from ..wording import counted
from . import cli
from .options import json_option
from .options import settings as load_settings


@cli.group("translators")
def translators() -> None:
    """Translators' personal review links: add, list, revoke.

    \b
    Examples:
      mco-newsletter translators add "Anna Beispiel" --lang de
      mco-newsletter translators list
    """


@translators.command("add")
@click.argument("name")
@click.option(
    "--lang",
    "--language",
    "languages",
    multiple=True,
    required=True,
    metavar="L",
    help="A language they review (repeatable).",
)
@click.option("--email", metavar="ADDRESS", help="Their address, written with their name as Last-Translator.")
@click.pass_context
def add(ctx, name, languages, email) -> None:
    """Give NAME a personal review link for the languages given; the link is printed once, on the last line.

    \b
    Example:
      mco-newsletter translators add "Anna Beispiel" --lang de --email anna@example.org
    """
    from ..translators import open_registry, review_url
    from .translation import checked_languages

    settings = load_settings(ctx)
    languages = checked_languages(settings, languages)
    if not settings.base_url.startswith("https://"):
        click.echo(
            f"Warning: base_url {settings.base_url} is not https: the link would travel unencrypted; "
            "serve the review pages behind HTTPS.",
            err=True,
        )
    registry = open_registry(settings)
    try:
        translator, token = registry.add(name=name, languages=languages, email=email)
    finally:
        registry.close()
    click.echo(f"Added {translator.identity}: reviews {', '.join(translator.languages)}.")
    click.echo(
        f"Send {translator.name} this personal link over a channel you trust; whoever holds it can review "
        f"these languages. It is shown only now (the registry keeps a hash); "
        f'`mco-newsletter translators revoke "{translator.name}"` ends it.'
    )
    click.echo(review_url(settings, token))


@translators.command("list")
@json_option
@click.pass_context
def list_translators(ctx, as_json) -> None:
    """Everyone whose review link works, with their languages (never the links).

    \b
    Example:
      mco-newsletter translators list
    """
    from ..translators import open_registry

    registry = open_registry(load_settings(ctx))
    try:
        found = registry.active()
    finally:
        registry.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "translators": [
                        {"name": t.name, "email": t.email, "languages": list(t.languages), "added": t.created_at}
                        for t in found
                    ]
                },
                indent=1,
                ensure_ascii=False,
            )
        )
        return
    if not found:
        click.echo("No translators yet: add one with `mco-newsletter translators add NAME --lang L`.")
        return
    click.echo(f"{counted(len(found), 'translator')} with a review link:")
    for translator in found:
        click.echo(f"  {translator.identity}  {', '.join(translator.languages)}  (added {translator.created_at[:10]})")


@translators.command("revoke")
@click.argument("name")
@click.pass_context
def revoke(ctx, name) -> None:
    """End NAME's review link at once (their next click gets the same 404 as any unknown link).

    \b
    Example:
      mco-newsletter translators revoke "Anna Beispiel"
    """
    from ..errors import NewsletterError
    from ..translators import open_registry

    registry = open_registry(load_settings(ctx))
    try:
        revoked = registry.revoke(name)
        names = [t.name for t in registry.active()] if revoked is None else []
    finally:
        registry.close()
    if revoked is None:
        raise NewsletterError(
            f"no translator named {name!r} has a review link",
            hint=f"translators with a link: {', '.join(names)}"
            if names
            else "`mco-newsletter translators list` shows who has one",
        )
    click.echo(f"Revoked the review link of {revoked.identity}.")
