"""What a reader changes about themselves (language, public topics) and the list's part of the record of what is
held about them (the ledger's part is the delivery domain's: web/reader_context.py puts the two side by side)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .segments import Segment
from .signups import Request, request_of
from .store import Store, Subscriber
from .topics import set_topics

Delivered = tuple[str, str, "str | None"]  # (issue id, state, when)


@dataclass(frozen=True)
class HeldRecord:
    """Everything held about one reader: their record, a sign-up waiting for confirmation, and the issues sent."""

    subscriber: Subscriber
    request: Request | None
    deliveries: tuple[Delivered, ...]  # oldest first


def change(store: Store, subscriber_id: int, *, language: str, chosen: set[str], topics: list[Segment]) -> None:
    """The reader's own choice of language (the next issue comes in it) and of public topics."""
    store.set_language(subscriber_id, language)
    set_topics(store, subscriber_id, chosen, topics)


def list_record(
    store: Store, subscriber_id: int, *, deliveries: Callable[[int], Iterable[Delivered]]
) -> HeldRecord | None:
    """The subject-access record of one reader (None when there is no such reader), with the issues sent to them
    as `deliveries` tells (the ledger's history)."""
    subscriber = store.by_id(subscriber_id)
    if subscriber is None:
        return None
    return HeldRecord(subscriber, request_of(store, subscriber_id), tuple(deliveries(subscriber_id)))
