"""What `subscribers import` tells: the format it read the file as, the mapping and first rows of a dry run, what
became of people who left, of rows not imported and of languages that are not the newsletter's; or all of it as
JSON."""

from __future__ import annotations

from pathlib import Path

import click

from ..wording import counted
from .options import shown


def show_report(path: Path, report, *, dry_run: bool, default_language: str | None) -> None:
    """The lines before the summary, for a person."""
    shape = report.shape
    if shape.tool or shape.mapped or dry_run:
        how = f" (recognised by its columns {', '.join(shape.recognised_by)})" if shape.recognised_by else ""
        click.echo(f"Reading {shown(path)} as {shape.title}{how}.")
    if dry_run:
        click.echo("Mapping:")
        for name, where in shape.mapping():
            click.echo(f"  {name:<11} ← {where}")
        if report.first_rows:
            click.echo("First rows as they would be imported:")
        for row in report.first_rows:
            click.echo(f"  line {row.line}: {_row_words(row)}")
    if report.left_added:
        click.echo(f"Kept as having left, so that no later import brings them back: {_counts(report.left_added)}.")
    if report.left_marked:
        click.echo(
            f"Marked as having left (the file says so, after their consent here): {_counts(report.left_marked)}."
        )
    if report.kept_newer:
        click.echo(
            f"Left active: {counted(report.kept_newer, 'reader')} whose consent here is newer than the file's "
            "record of their leaving."
        )
    if report.not_imported:
        click.echo("Not imported: " + "; ".join(f"{n:,} {reason}" for reason, n in report.not_imported.items()) + ".")
    if report.unmapped_languages:
        total = sum(report.unmapped_languages.values())
        click.echo(
            f"{counted(total, 'row')} without one of the newsletter's languages got {default_language} "
            f"(--default-language): "
            + ", ".join(f"{value} ({n:,})" for value, n in report.unmapped_languages.most_common())
            + "."
        )


def report_json(path: Path, report, *, dry_run: bool, default_language: str | None) -> dict:
    """The whole report for --json; the first rows only on a dry run (a real import's rows are in the store)."""
    shape = report.shape
    data = {
        "file": str(path),
        "dry_run": dry_run,
        "format": {
            "tool": shape.tool or None,
            "title": shape.title,
            "recognised_by": list(shape.recognised_by),
            "mapping": dict(shape.mapping()),
        },
        "rows": report.rows,
        "added": report.added,
        "updated": report.updated,
        "resubscribed": report.resubscribed,
        "unchanged": report.unchanged,
        "kept_inactive": report.kept_inactive,
        "erased": report.erased,
        "left_added": dict(report.left_added),
        "left_marked": dict(report.left_marked),
        "kept_newer": report.kept_newer,
        "not_imported": dict(report.not_imported),
        "unmapped_languages": {"default_language": default_language, "values": dict(report.unmapped_languages)},
        "rejected": report.rejected,
        "rejects": [{"line": r.line, "reason": r.reason} for r in report.rejects],
        "rejects_file": str(report.rejects_path) if report.rejects_path else None,
        "ignored_columns": list(report.ignored_columns),
    }
    if dry_run:
        data["first_rows"] = [
            {
                "line": row.line,
                "email": row.email,
                "name": row.name,
                "language": row.language,
                "tags": list(row.tags),
                "status": row.status,
                "consent_at": row.consent_at,
                "consent_source": row.consent_source,
            }
            for row in report.first_rows
        ]
    return data


def _row_words(row) -> str:
    parts = [row.email, f"name {row.name!r}" if row.name else "no name", row.language]
    parts.append(f"tags {', '.join(row.tags)}" if row.tags else "no tags")
    parts.append(row.status)
    parts.append(f"consent {row.consent_at}" if row.consent_at else "consent: the time of the import")
    if row.consent_source:
        parts.append(f"source {row.consent_source!r}")
    return " · ".join(parts)


def _counts(counter) -> str:
    return ", ".join(f"{n:,} {status}" for status, n in sorted(counter.items()))
