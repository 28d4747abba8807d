"""The last resort of the command line: an error that escaped the code's own checks, said in a sentence when it is
a fact about the machine or the files (a failing disk, a locked or damaged database, a broken template, the
translation engine), or shown in full when it is a bug."""

from __future__ import annotations

from ..errors import NewsletterError, template_location


def from_unexpected(exc: BaseException) -> NewsletterError | None:
    """The sentence for an error that escaped the code's own checks, or None if it is a bug to show in full.

    A failing disk, a locked or damaged database, a broken template or a translation engine's error are
    facts about the machine or the files, not bugs: the person gets a message and a hint.
    """
    from ..storage.failures import failure_of

    failure = failure_of(exc)
    if failure is not None:
        return failure
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc)
        import errno

        hints = {
            errno.ENOSPC: "free some disk space, then run the command again (nothing half-written was kept)",
            errno.EACCES: "check the permissions of that file or folder",
            errno.EPERM: "check the permissions of that file or folder",
            errno.EROFS: "that disk is mounted read-only: write somewhere else, or mount it read-write",
            errno.ENOENT: "check that the path exists",
            errno.ENOTDIR: "a file stands where that path needs a folder: choose another path",
            errno.EISDIR: "that path is a folder: give a file name",
            errno.EDQUOT: "your disk quota is used up: free some space",
        }
        hint = hints.get(exc.errno, "--debug shows where it happened") if exc.errno is not None else None
        return NewsletterError(f"{where}{reason}", hint or "--debug shows where it happened")

    import jinja2  # a dependency of the tool

    if isinstance(exc, jinja2.TemplateError):
        name, line = template_location(exc)
        where = f"{name}:{line}: " if name and line else (f"{name}: " if name else "")
        return NewsletterError(
            f"{where}template error: {exc.message if hasattr(exc, 'message') else exc}",
            "fix the template; `mco-newsletter check` compiles every template",
        )
    if type(exc).__module__.startswith(("ctranslate2", "sentencepiece")):
        return NewsletterError(
            f"the translation engine failed: {exc}",
            "check the installed package with `mco-newsletter models list`; --debug shows more",
        )
    return None
