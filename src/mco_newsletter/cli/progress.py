"""Progress of `translate`: a live line on a terminal, a summary line per language otherwise."""

from __future__ import annotations

import sys
import time

import click


class TranslationProgress:
    """Pieces done of total, per language, and the rate; written to stderr."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started: dict[str, float] = {}
        self.counts: dict[str, tuple[int, int]] = {}
        self.shown = ""

    def update(self, language: str, done: int, total: int) -> None:
        now = time.monotonic()
        self.started.setdefault(language, now)
        self.counts[language] = (done, total)
        if self.live:
            pieces = "piece" if total == 1 else "pieces"
            line = f"{language}: {done}/{total} {pieces} translated{self._rate(language, now)}"
            click.echo("\r" + line.ljust(len(self.shown)), file=self.stream, nl=False)
            self.shown = line

    def finish(self) -> None:
        """End the live line, or write what each language took."""
        if self.live:
            if self.shown:
                click.echo("", file=self.stream)
            return
        now = time.monotonic()
        for language, (done, total) in self.counts.items():
            click.echo(
                f"{language}: {done} of {total} {'piece' if total == 1 else 'pieces'} translated in "
                f"{now - self.started[language]:.1f} s{self._rate(language, now)}",
                file=self.stream,
            )

    def _rate(self, language: str, now: float) -> str:
        done = self.counts[language][0]
        elapsed = now - self.started[language]
        return f" ({done / elapsed:.1f} pieces/s)" if done and elapsed > 0 else ""
