"""[signup] in newsletter.toml: how long a confirmation link lasts, how many sign-ups one client may make, and how
many sign-up emails the site sends an hour at most."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..schema import Finding, Table

SCHEMA = {"signup": Table(optional={"confirm_days": int, "client_limit": int, "emails_per_hour": int})}
MAX_CONFIRM_DAYS = 90


@dataclass(frozen=True)
class SignupSettings:
    """Web sign-up: confirmation links are valid `confirm_days` days; one client (an IP address or IPv6 /64, held
    in memory only) may post `client_limit` sign-ups an hour (0: no limit, for a server behind a proxy that
    limits); the site sends at most `emails_per_hour` sign-up emails (confirmations and notices) an hour,
    however many clients ask (0: no ceiling)."""

    confirm_days: int = 7
    client_limit: int = 10
    emails_per_hour: int = 500


def check(data: dict) -> Iterator[Finding]:
    """Findings for [signup] values that are well-typed but out of range."""
    table = data.get("signup", {})
    days = table.get("confirm_days", 7)
    if isinstance(days, int) and not 1 <= days <= MAX_CONFIRM_DAYS:
        yield (
            ("signup", "confirm_days"),
            f"signup.confirm_days must be 1 to {MAX_CONFIRM_DAYS}, not {days}",
            "a week (7) gives a reader time to find the email; unconfirmed sign-ups are deleted after it",
        )
    limit = table.get("client_limit", 10)
    if isinstance(limit, int) and limit < 0:
        yield (
            ("signup", "client_limit"),
            f"signup.client_limit must be 0 or more, not {limit}",
            "the sign-ups one client may post per hour (0: no limit)",
        )
    ceiling = table.get("emails_per_hour", 500)
    if isinstance(ceiling, int) and ceiling < 0:
        yield (
            ("signup", "emails_per_hour"),
            f"signup.emails_per_hour must be 0 or more, not {ceiling}",
            "the sign-up emails the site sends per hour at most, whoever asks (0: no ceiling)",
        )


def build(root: Path, data: dict) -> SignupSettings:
    """The typed [signup] table."""
    return SignupSettings(**data.get("signup", {}))
