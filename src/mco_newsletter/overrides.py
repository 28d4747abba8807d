"""Overrides: a legitimate difference between a translation and its source, accepted and recorded in the catalog.

A translator comment on the entry, `# override: numbers — approved by Anna Petrova <…> on 2024-06-01`,
names the rules (translation_rules.OVERRIDABLE) whose findings it accepts.
"""

from __future__ import annotations

OVERRIDE = "override:"


def overrides(comments: list[str]) -> set[str]:
    """The rules a translator comment `override: numbers, links` accepts for this entry."""
    accepted: set[str] = set()
    for comment in comments:
        if comment.strip().lower().startswith(OVERRIDE):
            names = comment.strip()[len(OVERRIDE):].split("—", 1)[0].split("(", 1)[0]
            accepted |= {name.strip().lower() for name in names.split(",") if name.strip()}
    return accepted


def override_comment(rules: list[str], who: str, day: str) -> str:
    """The translator comment that records an override: which rules, by whom, when."""
    by = f" by {who}" if who else ""
    return f"{OVERRIDE} {', '.join(sorted(set(rules)))} — approved{by} on {day}"
