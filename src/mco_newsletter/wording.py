"""How the tool words what it says: a count with its noun in the right number, and the marker of the messages the
review pages show in the translator's language."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """'1 reader', '2 readers', '1,200 retries' (plural given where adding an s is wrong)."""
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def N_(message: str) -> str:  # noqa: N802 — gettext's name for a message marked, not yet translated
    """Marks a message the review pages show in the translator's language (`pybabel extract` finds it)."""
    return message
