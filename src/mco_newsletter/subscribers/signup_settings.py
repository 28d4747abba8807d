"""[signup] in newsletter.toml: how long a confirmation link lasts, and how many sign-ups one client may make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..schema import Finding, Table

SCHEMA = {"signup": Table(optional={"confirm_days": int, "client_limit": int})}
MAX_CONFIRM_DAYS = 90


@dataclass(frozen=True)
class SignupSettings:
    """Web sign-up: confirmation links are valid `confirm_days` days; one client (an IP address, held in
    memory only) may post `client_limit` sign-ups an hour (0: no limit, for a server behind a proxy that limits)."""

    confirm_days: int = 7
    client_limit: int = 10


def check(data: dict) -> Iterator[Finding]:
    """Findings for [signup] values that are well-typed but out of range."""
    table = data.get("signup", {})
    days = table.get("confirm_days", 7)
    if isinstance(days, int) and not 1 <= days <= MAX_CONFIRM_DAYS:
        yield ("signup", "confirm_days"), f"signup.confirm_days must be 1 to {MAX_CONFIRM_DAYS}, not {days}", \
            "a week (7) gives a reader time to find the email; unconfirmed sign-ups are deleted after it"
    limit = table.get("client_limit", 10)
    if isinstance(limit, int) and limit < 0:
        yield ("signup", "client_limit"), f"signup.client_limit must be 0 or more, not {limit}", \
            "the sign-ups one client may post per hour (0: no limit)"


def build(root, data: dict) -> SignupSettings:
    """The typed [signup] table."""
    return SignupSettings(**data.get("signup", {}))
