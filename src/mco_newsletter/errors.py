"""Errors a person can act on: a message, a hint and the exit code of the command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class NewsletterError(Exception):
    """Something the user can fix; shown without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class WorkspaceError(NewsletterError):
    """No workspace, or a workspace missing a part it needs."""


class NotReadyError(NewsletterError):
    """An edition that was asked for cannot be rendered yet."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, at a line, with a hint on how to fix it."""

    path: Path
    line: int
    message: str
    hint: str | None = None

    def location(self, root: Path | None = None) -> str:
        path = self.path
        if root is not None:
            try:
                path = path.resolve().relative_to(root.resolve())
            except ValueError:
                pass
        return f"{path}:{self.line}" if self.line else str(path)

    def format(self, root: Path | None = None) -> str:
        text = f"{self.location(root)}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class DatabaseError(NewsletterError):
    """The subscriber database cannot be read or changed now: locked, full, read-only or damaged.

    `cause` says which in words fit for a server's log and its answers: no path, and no holder's command line
    (which may name an address).
    """

    def __init__(self, message: str, hint: str | None = None, *, cause: str | None = None) -> None:
        super().__init__(message, hint)
        self.cause = cause or message


class ProblemsError(NewsletterError):
    """One or more problems found in the workspace's files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(first.message if first else "problems found", first.hint if first else None)


def template_location(exc: BaseException, templates_dir: Path | None = None) -> tuple[str | None, int | None]:
    """The template (relative to templates_dir when given) and line an error of Jinja2 comes from.

    A syntax error carries both; an error while rendering (an undefined variable) only shows in the
    traceback, whose frames Jinja2 rewrites to the template's own file and line.
    """
    import traceback

    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None)
    if not line:
        frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename.endswith(".j2")]
        if frames:
            name, line = frames[-1].filename, frames[-1].lineno
    if name and templates_dir is not None:
        try:
            name = str(Path(name).resolve().relative_to(templates_dir.resolve()))
        except ValueError:
            pass
    return name, line
