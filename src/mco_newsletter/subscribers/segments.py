"""Segments: named slices of the active subscribers, by language and tags, defined in newsletter.toml."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NewsletterError

ALL = "all"


@dataclass(frozen=True)
class Segment:
    """Who a segment holds: active subscribers matching every rule that is set."""

    name: str
    languages: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    description: str = ""
    # A public segment is a topic readers choose themselves on the sign-up and preferences pages: it is
    # defined by tags_any alone, choosing it adds the first of them, leaving it removes them all.
    public: bool = False
    label: object = None  # Localized: the topic's name as readers see it, per language

    def label_in(self, language: str) -> str:
        """The topic's name in a reader's language."""
        return self.label.of(language) if self.label is not None else self.name

    def chosen_by(self, tags) -> bool:
        """Whether a reader with these tags chose this topic."""
        return any(tag in tags for tag in self.tags_any)


def segment_from_table(name: str, table: dict, source_language: str = "en") -> Segment:
    """A Segment from its [segments.NAME] table (already validated)."""
    from ..localized import Localized

    label = table.get("label")
    return Segment(name=name,
                   languages=tuple(table.get("languages", ())),
                   tags_any=tuple(table.get("tags_any", ())),
                   tags_all=tuple(table.get("tags_all", ())),
                   exclude_tags=tuple(table.get("exclude_tags", ())),
                   description=table.get("description", ""),
                   public=bool(table.get("public", False)),
                   label=None if label is None else Localized(label, source_language))


def public_topics(segments: dict[str, Segment]) -> list[Segment]:
    """The segments readers may choose themselves, in the order newsletter.toml gives them."""
    return [segment for segment in segments.values() if segment.public]


def find_segment(segments: dict[str, Segment], name: str) -> Segment:
    """The segment with this name, or an error listing the known ones."""
    if name == ALL:
        return Segment(ALL, description="every active subscriber")
    try:
        return segments[name]
    except KeyError:
        known = ", ".join([ALL, *segments])
        raise NewsletterError(f"unknown segment {name!r}",
                              hint=f"known segments: {known} (define more as [segments.NAME] in newsletter.toml)") from None
