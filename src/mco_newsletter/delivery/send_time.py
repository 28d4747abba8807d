"""When a scheduled send goes: `time_zone` in newsletter.toml (the organisation's, an IANA name such as
"Europe/Helsinki"), `send --at "2025-06-03 08:00"` read in it, and the time shown back beside UTC.

A wall-clock time that a change of clocks skips ("02:30" on the night clocks go forward) is refused, and one it gives
twice (the night they go back) is refused unless its offset is given: a send never goes an hour early or late because
of a guess. A time with its own offset ("2025-06-03 08:00+03:00", "…Z") is taken as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError
from ..schema import Finding

SCHEMA = {"time_zone": str}
ZONE_HINT = 'an IANA time zone name, e.g. time_zone = "Europe/Helsinki" (or "UTC")'
_WHEN = re.compile(r"\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?\s*")


@dataclass(frozen=True)
class SendTime:
    """A moment a send goes: in UTC, and as the organisation reads it."""

    utc: dt.datetime
    local: dt.datetime
    zone: str

    def shown(self) -> str:
        """2025-06-03 08:00 Europe/Helsinki (EEST, UTC+03:00) = 2025-06-03 05:00 UTC"""
        offset = self.local.strftime("%z")
        return (
            f"{self.local:%Y-%m-%d %H:%M} {self.zone} ({self.local.tzname()}, UTC{offset[:3]}:{offset[3:]}) = "
            f"{self.utc:%Y-%m-%d %H:%M} UTC"
        )


def zone_problem(name: str) -> str | None:
    """Why a time zone name cannot be used, or None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or name != name.strip() or name.startswith(("/", ".")):
        return "is not a time zone name"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "is not a time zone this system knows"
    return None


def check(data: dict) -> Iterator[Finding]:
    """Yield (key path, message, hint) for a time_zone that cannot be used."""
    name = data.get("time_zone")
    if name is not None and zone_problem(name):
        yield ("time_zone",), f"time_zone {name!r} {zone_problem(name)}", ZONE_HINT


def build(root: Path, data: dict) -> str | None:
    return data.get("time_zone")


def read_send_time(text: str, *, zone: str | None, now: dt.datetime | None = None) -> SendTime:
    """The moment `--at` names, in the organisation's time zone; refused when it is not a time, is ambiguous, or has
    passed."""
    from zoneinfo import ZoneInfo

    found = _WHEN.fullmatch(text)
    if not found:
        raise NewsletterError(
            f"--at {text!r} is not a date and time",
            hint='write it as "2025-06-03 08:00", in the organisation\'s time zone (time_zone in newsletter.toml)',
            exit_code=2,
        )
    day, clock, seconds, offset = found.groups()
    try:
        naive = dt.datetime.fromisoformat(f"{day}T{int(clock[:-3]):02d}:{clock[-2:]}:{seconds or '00'}")
    except ValueError:
        raise NewsletterError(f"--at {text!r} is not a date and time that exists", exit_code=2) from None
    if offset is None and zone is None:
        raise NewsletterError(
            "newsletter.toml names no time_zone to read --at in",
            hint=f'add {ZONE_HINT}, or give the offset: --at "{day} {clock}+03:00"',
            exit_code=2,
        )
    local_zone = ZoneInfo(zone) if zone else dt.UTC
    if offset is not None:
        given = (
            dt.UTC
            if offset == "Z"
            else dt.timezone(
                dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:])) * (-1 if offset[0] == "-" else 1)
            )
        )
        moment = naive.replace(tzinfo=given).astimezone(dt.UTC)
    else:
        moment = _from_wall_clock(naive, local_zone, zone or "UTC", text)
    current = now or dt.datetime.now(dt.UTC)
    when = SendTime(moment, moment.astimezone(local_zone), zone or "UTC")
    if moment <= current:
        raise NewsletterError(
            f"{when.shown()} has passed", hint="give a time in the future, or send now without --at", exit_code=2
        )
    return when


def _from_wall_clock(naive: dt.datetime, zone, name: str, text: str) -> dt.datetime:
    """The UTC moment a wall-clock time names in `zone`: refused when the clocks skip it or show it twice."""
    readings = {naive.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC) for fold in (0, 1)}
    if any(reading.astimezone(zone).replace(tzinfo=None) != naive for reading in readings):
        raise NewsletterError(
            f"--at {text!r} does not exist in {name}: the clocks skip it that night",
            hint="choose a time an hour later or earlier",
            exit_code=2,
        )
    if len(readings) > 1:
        first, second = sorted(readings)
        offset = naive.replace(tzinfo=zone, fold=0).strftime("%z")
        raise NewsletterError(
            f"--at {text!r} happens twice in {name} (the clocks go back that night): at "
            f"{first:%H:%M} and at {second:%H:%M} UTC",
            hint=f'give the offset you mean, e.g. --at "{naive:%Y-%m-%d %H:%M}{offset[:3]}:{offset[3:]}"',
            exit_code=2,
        )
    return readings.pop()


def stored(moment: dt.datetime) -> str:
    """A moment as the store keeps times: UTC, ISO 8601, whole seconds."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def send_time_of(stamp: str, zone: str) -> SendTime:
    """A stored moment as a SendTime in the zone it was scheduled in."""
    from zoneinfo import ZoneInfo

    moment = dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
    return SendTime(moment, moment.astimezone(ZoneInfo(zone) if zone != "UTC" else dt.UTC), zone)
