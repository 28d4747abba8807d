"""Reusable option decorators and the workspace/settings lookup shared by the commands."""

from __future__ import annotations

from pathlib import Path

import click


def languages_option(help: str):
    """--lang L, repeatable (also --language), into `languages`: for a command that takes several languages."""
    # --lang is the one name of a language everywhere; --language and --to are older spellings kept working.
    return click.option("--lang", "--language", "languages", multiple=True, metavar="L", help=help)


language_option = languages_option("A language code (repeatable); default: every edition that is ready.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")


def one_language_option(help: str, *, required: bool = False, short: bool = False):
    """--lang L (also --language, and -l where the command had it) for a command that takes one language."""
    names = ["--lang", "--language", *(["-l"] if short else [])]
    return click.option(*names, "language", metavar="L", required=required, help=help)


def workspace_root(ctx: click.Context) -> Path:
    """The workspace folder for this invocation (remembered for relative paths in messages)."""
    from ..config import find_workspace

    root = find_workspace(ctx.find_root().obj.get("workspace"))
    ctx.find_root().meta["workspace"] = root
    return root


def settings(ctx: click.Context):
    """The validated settings of this invocation's workspace."""
    from ..config import load_settings

    return load_settings(workspace_root(ctx))


def require_languages(current, languages, param: str = "--lang") -> None:
    """A language the newsletter does not have is a usage error (exit 2), named with the ones it has."""
    for code in languages:
        if code and code not in current.languages:
            raise click.BadParameter(
                f"{code!r} is not one of the newsletter's languages ({', '.join(current.languages)})",
                param_hint=f"'{param}'",
            )


def shown(path: Path) -> str:
    """A path as the user should read it: relative to the current folder when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
