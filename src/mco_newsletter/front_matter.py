"""The YAML block at the top of issue.md, read with the line of every key."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import Problem

FENCE = "---"
# No digest needs more: the limits keep a hostile file from costing minutes and gigabytes (or a crash).
MAX_CHARACTERS = 64_000
MAX_DEPTH = 10


try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date is our message, not a crash."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def split_front_matter(text: str, path: Path, problems: list[Problem]) -> tuple[dict | None, dict[str, int], str, int]:
    """Return (metadata, key → line, Markdown body, number of lines before the body)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        problems.append(
            Problem(
                path,
                1,
                "no front matter",
                "start the file with a `---` line, the title, date, language, preheader "
                "and keywords, then another `---` line",
            )
        )
        return None, {}, text, 0
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        problems.append(Problem(path, 1, "front matter is not closed", "add a `---` line after the last key"))
        return None, {}, "", len(lines)
    block = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    if len(block) > MAX_CHARACTERS:
        problems.append(
            Problem(
                path,
                1,
                f"the front matter is {len(block) / 1000:.0f} KB; it may be at most {MAX_CHARACTERS // 1000} KB",
                "keep only title, date, language, preheader, keywords and closing there",
            )
        )
        return None, {}, body, end + 1
    hostile = _hostile_structure(block)
    if hostile is not None:
        line, message, hint = hostile
        problems.append(Problem(path, line + 2, message, hint))
        return None, {}, body, end + 1
    try:
        loader = _Loader(block)  # one reading: the nodes (with their lines), then the values built from them
        try:
            node = loader.get_single_node()
            meta = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(
            Problem(
                path,
                line,
                f"front matter is not valid YAML: {reason}",
                "write one `key: value` per line; quote values that contain ': '",
            )
        )
        return None, {}, body, end + 1
    if meta is None:
        meta, node = {}, None
    if not isinstance(meta, dict):
        problems.append(Problem(path, 2, "front matter must be `key: value` lines"))
        return None, {}, body, end + 1
    key_lines = {"": 2}
    if node is not None:
        for key_node, _ in node.value:
            key_lines[str(key_node.value)] = key_node.start_mark.line + 2
    return meta, key_lines, body, end + 1


def _hostile_structure(block: str) -> tuple[int, str, str] | None:
    """(line in the block, message, hint) for anchors, aliases or deep nesting; None for plain key: value YAML.

    The YAML events are read as a stream and the first offence stops the reading, before an alias bomb
    is expanded or deep nesting exhausts the composer's stack.
    """
    depth = 0
    try:
        for event in yaml.parse(block, Loader=_Loader):
            line = event.start_mark.line if event.start_mark else 0
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return (
                    line,
                    "front matter may not use YAML anchors (&) or aliases (*)",
                    "write every value out in full",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return (
                        line,
                        f"front matter is nested too deeply (more than {MAX_DEPTH} levels)",
                        "write one `key: value` per line; keywords are one list, e.g. [Conscription, Russia]",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # reported with its line when the block is loaded
    return None
