"""Reusable option decorators and the workspace/settings lookup shared by the commands."""

from __future__ import annotations

from pathlib import Path

import click

language_option = click.option(
    "--lang", "languages", multiple=True, metavar="L",
    help="A language code (repeatable); default: every edition that is ready.")


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


def shown(path: Path) -> str:
    """A path as the user should read it: relative to the current folder when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def counted(count: int, noun: str) -> str:
    """`1 row`, `2 rows`: a count with its noun in the right number (English nouns that take -s)."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
