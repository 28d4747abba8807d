"""The [translation] and [segments] tables of newsletter.toml, registered by config for rooms that do not yet
export their own schema, checks and builder (translation/engine.py and subscribers/segments.py own the types)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .schema import Finding, Table

TRANSLATION_SCHEMA = {
    "translation": Table(optional={"beam_size": int, "length_penalty": (int, float), "threads": int, "batch_size": int,
                                   "max_length_factor": (int, float), "max_length": int, "compute_type": str,
                                   "max_input_tokens": int, "translator": str}),
}
SEGMENTS_SCHEMA = {
    "segments": Table(each=Table(optional={
        "languages": list, "tags_any": list, "tags_all": list, "exclude_tags": list, "description": str,
        "public": bool, "label": (str, dict),
    })),
}


def translation_settings(root: Path, data: dict):
    """The typed [translation] table."""
    from .translation.engine import EngineSettings

    # translator (who approves in review) is read by the review command, not the engine.
    return EngineSettings(**{k: v for k, v in data.get("translation", {}).items() if k != "translator"})


def segments(root: Path, data: dict) -> dict:
    """Every [segments.NAME] table as a Segment."""
    from .subscribers.segments import segment_from_table

    return {name: segment_from_table(name, table, data["source_language"])
            for name, table in data.get("segments", {}).items()}


def check_segments(data: dict) -> Iterator[Finding]:
    """Findings for segment rules that are well-typed but wrong."""
    languages = data["languages"]
    for name, table in data.get("segments", {}).items():
        if name == "all":
            yield ("segments", name), "'all' is built in and holds every active subscriber", \
                "give your segment another name"
        for key in ("languages", "tags_any", "tags_all", "exclude_tags"):
            values = table.get(key, [])
            if not all(isinstance(v, str) and v.strip() for v in values):
                yield ("segments", name, key), f"segments.{name}.{key} must be a list of words", None
            elif key == "languages":
                for code in values:
                    if code not in languages:
                        yield ("segments", name, key), \
                            f"segment {name!r} names language {code!r}, which is not in languages", \
                            f"use some of {', '.join(map(str, languages))}"
        yield from _check_public(data, name, table)


def _check_public(data: dict, name: str, table: dict) -> Iterator[Finding]:
    """A public segment is a topic readers choose: tags_any alone, and a label in their language."""
    from .localized import check_localized

    if not table.get("public"):
        if "label" in table:
            yield ("segments", name, "label"), f"segments.{name}.label is shown only for a public segment", \
                "add public = true, or remove the label"
        return
    if not table.get("tags_any"):
        yield ("segments", name, "public"), f"public segment {name!r} has no tags_any", \
            "a reader's choice adds the first tag of tags_any: give it one, e.g. tags_any = [\"courts\"]"
    for key in ("languages", "tags_all", "exclude_tags"):
        if table.get(key):
            yield ("segments", name, key), f"public segment {name!r} cannot have {key}", \
                "a reader chooses a topic for themselves: define it by tags_any alone"
    if "label" not in table:
        yield ("segments", name, "public"), f"public segment {name!r} has no label", \
            "add label = { en = \"…\", de = \"…\" }: readers choose it by that name"
    else:
        yield from check_localized(data, ("segments", name, "label"), one_line=True)
