"""Retry policy: exponential backoff with full jitter, and the two kinds of failure a backend reports."""

from __future__ import annotations

import random

from ..errors import NewsletterError


class TransientError(Exception):
    """The provider may accept later: 5xx, 429, a timeout or a dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(NewsletterError):
    """The provider refused the request as such (400, 401, 403, 413): retrying cannot help."""


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): uniform in [0, min(cap, base·2^(attempt-1))]."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)
