"""Which issue a reader's own action came from: the unsubscribe and preferences links in each message carry the
issue (`?issue=2024-05`, delivery/message.py), and the reader's pages count the action for it.

Only a number is kept: +1 for the campaign of that issue that sent the reader their message, in that message's
edition (storage/report_rows.py). The issue named in a link is believed only when a campaign of it sent that reader a
message: a link with another issue, or none (links sent before links carried it, a mailto request), counts the
action as not attributed, per day. Who did it is never written down beyond what the reader's record already says.
"""

from __future__ import annotations

from collections import Counter

from ..issue import ISSUE_ID_RE
from ..storage.dialect import now
from ..storage.report_rows import PREFERENCES, UNSUBSCRIBE, Tallies
from ..subscribers.store import Store

# The kinds of action are passed on for the reader's pages (web/), which count them.
__all__ = ["PREFERENCES", "UNSUBSCRIBE", "count_action", "issue_of"]


def issue_of(value: str | None) -> str | None:
    """The issue a link names, or None for anything that is not an issue id."""
    return value if value and ISSUE_ID_RE.match(value) else None


def count_action(store: Store, *, subscriber_id: int, issue: str | None, kind: str, source: str = "page") -> bool:
    """Count one reader action (inside the caller's transaction); True when it was counted for a campaign."""
    tallies = Tallies(store.db)
    if issue is not None and tallies.attribute(subscriber_id, issue, kind):
        return True
    tallies.add_unmatched(Counter({(now()[:10], source, kind, True): 1}))
    return False
