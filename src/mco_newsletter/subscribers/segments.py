"""Segments: named slices of the active subscribers, by language and tags, defined in newsletter.toml."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError
from ..localized import Localized, check_localized
from ..schema import Finding, Table

ALL = "all"
SCHEMA = {
    "segments": Table(
        each=Table(
            optional={
                "languages": list,
                "tags_any": list,
                "tags_all": list,
                "exclude_tags": list,
                "description": str,
                "public": bool,
                "label": (str, dict),
            }
        )
    ),
}


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
    label: Localized | None = None  # the topic's name as readers see it, per language

    def label_in(self, language: str) -> str:
        """The topic's name in a reader's language."""
        return self.label.of(language) if self.label is not None else self.name

    def chosen_by(self, tags: Collection[str]) -> bool:
        """Whether a reader with these tags chose this topic."""
        return any(tag in tags for tag in self.tags_any)


def segment_from_table(name: str, table: dict, source_language: str = "en") -> Segment:
    """A Segment from its [segments.NAME] table (already validated)."""
    label = table.get("label")
    return Segment(
        name=name,
        languages=tuple(table.get("languages", ())),
        tags_any=tuple(table.get("tags_any", ())),
        tags_all=tuple(table.get("tags_all", ())),
        exclude_tags=tuple(table.get("exclude_tags", ())),
        description=table.get("description", ""),
        public=bool(table.get("public", False)),
        label=None if label is None else Localized(label, source_language),
    )


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
        raise NewsletterError(
            f"unknown segment {name!r}",
            hint=f"known segments: {known} (define more as [segments.NAME] in newsletter.toml)",
        ) from None


def build(root: Path, data: dict) -> dict[str, Segment]:
    """Every [segments.NAME] table as a Segment."""
    return {
        name: segment_from_table(name, table, data["source_language"])
        for name, table in data.get("segments", {}).items()
    }


def check(data: dict) -> Iterator[Finding]:
    """Findings for segment rules that are well-typed but wrong."""
    languages = data["languages"]
    for name, table in data.get("segments", {}).items():
        if name == "all":
            yield (
                ("segments", name),
                "'all' is built in and holds every active subscriber",
                "give your segment another name",
            )
        for key in ("languages", "tags_any", "tags_all", "exclude_tags"):
            values = table.get(key, [])
            if not all(isinstance(v, str) and v.strip() for v in values):
                yield ("segments", name, key), f"segments.{name}.{key} must be a list of words", None
            elif key == "languages":
                for code in values:
                    if code not in languages:
                        yield (
                            ("segments", name, key),
                            f"segment {name!r} names language {code!r}, which is not in languages",
                            f"use some of {', '.join(map(str, languages))}",
                        )
        yield from _check_public(data, name, table)


def _check_public(data: dict, name: str, table: dict) -> Iterator[Finding]:
    """A public segment is a topic readers choose: tags_any alone, and a label in their language."""
    if not table.get("public"):
        if "label" in table:
            yield (
                ("segments", name, "label"),
                f"segments.{name}.label is shown only for a public segment",
                "add public = true, or remove the label",
            )
        return
    if not table.get("tags_any"):
        yield (
            ("segments", name, "public"),
            f"public segment {name!r} has no tags_any",
            'a reader\'s choice adds the first tag of tags_any: give it one, e.g. tags_any = ["courts"]',
        )
    for key in ("languages", "tags_all", "exclude_tags"):
        if table.get(key):
            yield (
                ("segments", name, key),
                f"public segment {name!r} cannot have {key}",
                "a reader chooses a topic for themselves: define it by tags_any alone",
            )
    if "label" not in table:
        yield (
            ("segments", name, "public"),
            f"public segment {name!r} has no label",
            'add label = { en = "…", de = "…" }: readers choose it by that name',
        )
    else:
        yield from check_localized(data, ("segments", name, "label"), one_line=True)
