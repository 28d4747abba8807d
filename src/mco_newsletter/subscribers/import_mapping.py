"""A mapping file: which column of a CSV holds each of the tool's fields, how its tags are separated, and which of
the newsletter's languages its own language values mean. `--column FIELD=HEADER` says the same on the command
line and wins over the file.

    # our-list.toml
    email = "E-Mail-Adresse"
    name = "Name"
    language = "Sprache"
    tags = "Interessen"
    tag_separator = ","

    [languages]
    Deutsch = "de"
    Russisch = "ru"
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import NewsletterError
from .import_shape import FIELDS, Choices

KEYS = (*FIELDS, "tag_separator", "from", "languages")


def choices_for(
    *,
    tool: str | None,
    columns: tuple[tuple[str, str], ...],
    mapping_file: Path | None,
    status: str | None,
    languages: tuple[str, ...],
) -> Choices:
    """The person's choices about a file: --from, --status, and the columns of the mapping file and of --column."""
    from .import_formats import TOOLS

    mapped: dict[str, str] = {}
    separator: str | None = None
    names: tuple[tuple[str, str], ...] = ()
    if mapping_file is not None:
        table = _read(mapping_file)
        unknown = [key for key in table if key not in KEYS]
        if unknown:
            raise NewsletterError(
                f"{mapping_file}: unknown key {unknown[0]!r}",
                hint=f"the keys are {', '.join(KEYS)} (docs/subscribers.md)",
            )
        for key, value in table.items():
            if key != "languages" and not isinstance(value, str):
                raise NewsletterError(f'{mapping_file}: {key} must be a string in quotes, e.g. {key} = "…"')
        mapped = {key: table[key] for key in FIELDS if key in table}
        separator = table.get("tag_separator")
        if "from" in table:
            if table["from"] not in TOOLS:
                raise NewsletterError(f"{mapping_file}: from = {table['from']!r} is not one of {', '.join(TOOLS)}")
            tool = tool or table["from"]
        names = tuple(_languages(mapping_file, table.get("languages", {}), languages).items())
    if separator is not None and not separator:
        raise NewsletterError(f"{mapping_file}: tag_separator is empty", hint='e.g. tag_separator = ","')
    mapped.update(dict(columns))
    return Choices(
        tool=tool,
        columns=tuple(mapped.items()),
        tag_separator=separator,
        language_names=names,
        status=status,
        mapping_file=mapping_file,
    )


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise NewsletterError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise NewsletterError(
            f"{path}: not a valid mapping file: {exc}",
            hint='one line per field, e.g. email = "E-Mail-Adresse" (docs/subscribers.md)',
        ) from None


def _languages(path: Path, table, languages: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(table, dict):
        raise NewsletterError(f'{path}: languages must be a table: [languages] then lines like Deutsch = "de"')
    for value, code in table.items():
        if code not in languages:
            raise NewsletterError(
                f"{path}: [languages] {value} = {code!r} is not one of the newsletter's languages "
                f"({', '.join(languages)})"
            )
    return dict(table)
