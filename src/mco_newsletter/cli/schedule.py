"""`schedule list` and `schedule cancel`: sends waiting for their time (delivery/schedule.py)."""

from __future__ import annotations

import click

from . import cli


@cli.group("schedule")
def schedule() -> None:
    """Sends scheduled with `send --at`: list them, cancel one."""
