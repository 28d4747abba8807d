"""The `mco-newsletter` command: a thin click layer over the library; errors become messages, not tracebacks."""

from __future__ import annotations

import importlib
import os

import click

from .. import __version__
from ..errors import NewsletterError, ProblemsError

DEBUG_ENV = "MCO_NEWSLETTER_DEBUG"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def debugging(ctx: click.Context) -> bool:
    """True when --debug or MCO_NEWSLETTER_DEBUG=1 asks for tracebacks."""
    return bool((ctx.find_root().obj or {}).get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


# The module of this package that defines each command. A command loads its own module only: `send` (started
# again after a crash, or by cron) does not import the translation and review code (90 ms); --help loads all.
COMMAND_MODULES = {
    "new": "issues",
    "check": "issues",
    "render": "editions",
    "preview": "editions",
    "send": "sending",
    "send-status": "sending",
    "subscribers": "subscribers",
    "segments": "subscribers",
    "models": "translation",
    "translate": "translation",
    "status": "translation",
    "review": "translation",
    "overrides": "overrides",
    "translators": "translators",
    "serve": "web",
    "archive": "web",
    "dkim": "deliverability",
    "bounces": "bounces",
    "database": "database",
    "keys": "keys",
    "report": "report",
    "schedule": "schedule",
}


class NewsletterGroup(click.Group):
    """A click group that shows NewsletterError as `Error: …` plus a hint, with the error's exit code.

    Anything else that bad input or a failing machine can raise (OSError, a database driver's error, a template
    error, a translation engine's error) is shown the same way; --debug shows the traceback instead.
    Commands are loaded when they are named (COMMAND_MODULES).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__name__}.{COMMAND_MODULES[cmd_name]}")  # its decorators register it
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            root = ctx.meta.get("workspace")
            for problem in exc.problems:
                click.echo(problem.format(root), err=True)
            ctx.exit(exc.exit_code)
        except NewsletterError as exc:
            _show(exc)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except click.Abort as exc:
            # click raises Abort for a declined confirmation, and for Ctrl-C or end of input at a prompt.
            if isinstance(exc.__context__, KeyboardInterrupt):
                click.echo("\nInterrupted.", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            if isinstance(exc.__context__, EOFError):
                _show(
                    NewsletterError(
                        "no answer to the question (standard input is closed)",
                        "answer it in a terminal, or add --yes to skip the question",
                    )
                )
                ctx.exit(1)
            click.echo("Nothing changed.")  # the person said no: that is an answer, not an error
            ctx.exit(0)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 — the last resort: a sentence, never a traceback
            from .unexpected import from_unexpected

            converted = from_unexpected(exc)
            if converted is None or debugging(ctx):
                raise
            _show(converted)
            ctx.exit(converted.exit_code)


def _show(exc: NewsletterError) -> None:
    click.echo(f"Error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)


@click.group(cls=NewsletterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mco-newsletter")
@click.option(
    "--workspace",
    "-w",
    metavar="DIR",
    envvar="MCO_NEWSLETTER_WORKSPACE",
    help="The folder holding newsletter.toml (default: found upward from here).",
)
@click.option("--debug", is_flag=True, help=f"Show the traceback of an unexpected error (or set {DEBUG_ENV}=1).")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, debug: bool) -> None:
    """Compose, check and render the multilingual digest of the Movement of Conscientious Objectors.

    Every command works on a workspace: the folder with newsletter.toml and issues/ (and, to override the
    tool's own, templates/ and locales/).

    \b
    Examples:
      mco-newsletter check
      mco-newsletter --workspace ~/mco-digest render 2024-05
    """
    from ..credentials import load_credentials

    ctx.obj = {"workspace": workspace, "debug": debug}
    try:
        load_credentials()  # under systemd: secrets from LoadCredential= (docs/deploy.md)
    except NewsletterError as exc:
        _show(exc)
        ctx.exit(exc.exit_code)


def main() -> None:
    """Console entry point."""
    cli(prog_name="mco-newsletter")


if __name__ == "__main__":  # pragma: no cover
    main()
