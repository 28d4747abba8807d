"""The public topics a reader chooses (on the sign-up form and the preferences page) as tags of their record."""

from __future__ import annotations

from collections.abc import Collection

from .segments import Segment
from .store import Store


def chosen_topics(tags: Collection[str], topics: list[Segment]) -> list[str]:
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
