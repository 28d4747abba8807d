"""Errors a person can act on: a message, a hint and the exit code of the command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class NewsletterError(Exception):
    """Something the user can fix; shown without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, exit_code: int | None = None):
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


class ProblemsError(NewsletterError):
    """One or more problems found in the workspace's files."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(first.message if first else "problems found", first.hint if first else None)


def from_unexpected(exc: BaseException) -> NewsletterError | None:
    """The sentence for an error that escaped the code's own checks, or None if it is a bug to show in full.

    A failing disk, a locked or damaged database, a broken template or a translation engine's error are
    facts about the machine or the files, not bugs: the person gets a message and a hint.
    """
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another mco-newsletter command is using the subscriber database; try again when it ends"
        elif "readonly" in text or "read-only" in text:
            hint = "the subscriber database (or its folder) is not writable by you"
        elif "disk" in text and "full" in text:
            hint = "free some disk space, then run the command again"
        else:
            hint = "the subscriber database may be damaged: restore it from a backup"
        return NewsletterError(f"the subscriber database: {text}", hint)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc)
        import errno

        hints = {errno.ENOSPC: "free some disk space, then run the command again (nothing half-written was kept)",
                 errno.EACCES: "check the permissions of that file or folder",
                 errno.EPERM: "check the permissions of that file or folder",
                 errno.EROFS: "the file system is read-only",
                 errno.ENOENT: "check that the path exists"}
        return NewsletterError(f"{where}{reason}", hints.get(exc.errno))
    try:
        import jinja2
    except ImportError:  # pragma: no cover
        jinja2 = None
    if jinja2 is not None and isinstance(exc, jinja2.TemplateError):
        name = getattr(exc, "filename", None) or getattr(exc, "name", None)
        line = getattr(exc, "lineno", None)
        where = f"{name}:{line}: " if name and line else (f"{name}: " if name else "")
        return NewsletterError(f"{where}template error: {exc.message if hasattr(exc, 'message') else exc}",
                               "fix the template; `mco-newsletter check` compiles every template")
    if type(exc).__module__.startswith(("ctranslate2", "sentencepiece")):
        return NewsletterError(f"the translation engine failed: {exc}",
                               "check the installed package with `mco-newsletter models list`; --debug shows more")
    return None
