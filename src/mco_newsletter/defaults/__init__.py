"""What the tool ships for every workspace: the templates (email, text part, new issue, reader and review pages,
reader emails) and their words in each language, which a workspace's own templates/ and locales/ override
(render/theme.py)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
LOCALES = HERE / "locales"
