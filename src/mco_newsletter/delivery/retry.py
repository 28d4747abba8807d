"""Retry policy: exponential backoff with full jitter, and the two kinds of failure a backend reports."""

from __future__ import annotations

import random
from collections.abc import Iterable

from ..errors import NewsletterError


class TransientError(Exception):
    """The provider may accept later: 5xx, 429, a timeout or a dropped connection.

    `unanswered` names the rows whose request or message may have been accepted although no answer
    came (a timeout after the request went out): sending them again may give them a second copy.
    """

    def __init__(self, message: str, retry_after: float | None = None, unanswered: Iterable[int] = ()) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.unanswered = frozenset(unanswered)


class PermanentError(NewsletterError):
    """Retrying cannot help now (a refused request, a full disk): the send stops; nothing of the batch
    that was not accepted went out, so its rows go back to pending."""


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): uniform in [0, min(cap, base·2^(attempt-1))]."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return (rng or random).uniform(0, ceiling)
