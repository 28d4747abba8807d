"""What a reader changes about themselves (language, public topics) and the record of what is held about them."""

from __future__ import annotations

from dataclasses import dataclass

from .segments import Segment
from .store import Store, Subscriber


@dataclass(frozen=True)
class HeldRecord:
    """Everything held about one reader: their record, a sign-up waiting for confirmation, and the issues sent."""

    subscriber: Subscriber
    request: object  # signups.Request or None
    deliveries: tuple[tuple[str, str, str | None], ...]  # (issue id, state, when), oldest first


def chosen_topics(tags, topics: list[Segment]) -> list[str]:
    """The names of the public topics a reader with these tags chose."""
    return [topic.name for topic in topics if topic.chosen_by(tags)]


def set_topics(store: Store, subscriber_id: int, chosen: set[str], topics: list[Segment]) -> None:
    """Give the reader the tag of each chosen public topic and take away those of the others (other tags stay)."""
    add, remove = [], []
    for topic in topics:
        if topic.name in chosen:
            add.append((subscriber_id, topic.tags_any[0]))
        else:
            remove += [(subscriber_id, tag) for tag in topic.tags_any]
    store.remove_tags(remove)
    store.add_tags(add)


def change(store: Store, subscriber_id: int, *, language: str, chosen: set[str], topics: list[Segment]) -> None:
    """The reader's own choice of language (the next issue comes in it) and of public topics."""
    store.set_language(subscriber_id, language)
    set_topics(store, subscriber_id, chosen, topics)


def held_record(store: Store, subscriber_id: int) -> HeldRecord | None:
    """The subject-access record of one reader (None when there is no such reader)."""
    from ..delivery.ledger import Ledger
    from .signups import request_of

    subscriber = store.by_id(subscriber_id)
    if subscriber is None:
        return None
    return HeldRecord(subscriber, request_of(store, subscriber_id), tuple(Ledger(store).history(subscriber_id)))
