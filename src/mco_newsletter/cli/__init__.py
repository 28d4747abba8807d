"""The `mco-newsletter` command: a thin click layer over the library; errors become messages, not tracebacks."""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import NewsletterError, ProblemsError


class NewsletterGroup(click.Group):
    """A click group that shows NewsletterError as `Error: …` plus a hint, with the error's exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProblemsError as exc:
            root = ctx.meta.get("workspace")
            for problem in exc.problems:
                click.echo(problem.format(root), err=True)
            ctx.exit(exc.exit_code)
        except NewsletterError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"  hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(130)


@click.group(cls=NewsletterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mco-newsletter")
@click.option("--workspace", "-w", metavar="DIR", envvar="MCO_NEWSLETTER_WORKSPACE",
              help="The folder holding newsletter.toml (default: found upward from here).")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Compose, check and render the multilingual digest of the Movement of Conscientious Objectors.

    Every command works on a workspace: the folder with newsletter.toml, issues/, templates/ and locales/.
    """
    ctx.obj = {"workspace": workspace}


def main() -> None:
    """Console entry point."""
    from . import editions, issues, sending, subscribers, translation, web  # noqa: F401  (registers the commands)

    cli(prog_name="mco-newsletter")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
