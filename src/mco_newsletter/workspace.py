"""The workspace's issues: finding them by id, checking them, scaffolding new ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .config import Settings, SETTINGS_FILE, find_workspace, read_settings
from .errors import NewsletterError, Problem, ProblemsError
from .issue import ISSUE_FILE, ISSUE_ID_RE, Issue, issue_path, read_issue


def issue_ids(settings: Settings) -> list[str]:
    """Ids of every issue folder in the workspace, oldest first."""
    if not settings.issues_dir.is_dir():
        return []
    return sorted(p.parent.name for p in settings.issues_dir.glob(f"*/{ISSUE_FILE}"))


def load_issue(settings: Settings, issue_id: str) -> Issue:
    """The issue with this id, or a clear error naming what is wrong with it."""
    path = issue_path(settings.issues_dir, issue_id)
    if not path.is_file():
        known = issue_ids(settings)
        hint = f"known issues: {', '.join(known)}" if known else "create one with `mco-newsletter new <id>`"
        raise NewsletterError(f"no issue {issue_id!r} ({path.relative_to(settings.root)} does not exist)", hint)
    issue, problems = read_issue(path, languages=settings.languages)
    if problems:
        raise ProblemsError(problems)
    assert issue is not None
    return issue


def check(root: Path, issue_id: str | None = None) -> list[Problem]:
    """Every problem in the settings and in one issue (or all of them), in file order."""
    settings, problems = read_settings(root)
    if settings is not None:
        problems += _check_templates(settings)
        problems += _check_database_ignored(settings)
    languages = settings.languages if settings else None
    issues_dir = settings.issues_dir if settings else root / "issues"
    if issue_id is not None:
        paths = [issue_path(issues_dir, issue_id)]
    else:
        paths = sorted(issues_dir.glob(f"*/{ISSUE_FILE}"))
    from .catalog_checks import catalog_problems

    for path in paths:
        issue, found = read_issue(path, languages=languages)
        problems += found
        problems += catalog_problems(path.parent, issue, tuple(languages or ()))
    return problems


def _check_templates(settings: Settings) -> list[Problem]:
    from .render.locale import catalog_path
    from .render.templates import HTML_TEMPLATE, TEXT_TEMPLATE

    problems = [Problem(settings.templates_dir / name, 0, "template missing",
                        "restore it from the mco-newsletter repository")
                for name in (HTML_TEMPLATE, TEXT_TEMPLATE) if not (settings.templates_dir / name).is_file()]
    for language in settings.languages:
        path = catalog_path(settings.locales_dir, language)
        if language != "en" and not path.is_file():
            problems.append(Problem(path, 0, f"no catalog of template words for {language!r}",
                                    "see docs/translating-templates.md"))
    return problems


def _check_database_ignored(settings: Settings) -> list[Problem]:
    """Subscriber data must never be committed: the database path must be git-ignored."""
    import shutil
    import subprocess

    from .schema import locate_key

    path = settings.database_path
    try:
        relative = path.resolve().relative_to(settings.root.resolve())
    except ValueError:
        return []  # outside the workspace: not in the content repository at all
    git = shutil.which("git")
    if not git or not (settings.root / ".git").exists():
        return []
    result = subprocess.run([git, "-C", str(settings.root), "check-ignore", "-q", str(relative)],
                            capture_output=True)
    if result.returncode == 0:
        return []
    line = locate_key(settings.path.read_text(encoding="utf-8"), ("database", "path"))
    return [Problem(settings.path, line, f"the subscriber database {relative} is not covered by .gitignore",
                    "keep it under private/ (ignored) or add its path to .gitignore")]


def scaffold_issue(settings: Settings, issue_id: str, *, language: str, title: str,
                   date: dt.date | None = None) -> Path:
    """Create issues/<id>/issue.md with front matter and a skeleton to fill in; never overwrite."""
    if not ISSUE_ID_RE.match(issue_id):
        raise NewsletterError(f"{issue_id!r} is not a usable issue id",
                              hint="use letters, digits, '-', '_' or '.', e.g. 2024-06")
    if language not in settings.languages:
        raise NewsletterError(f"language {language!r} is not one of the newsletter's languages",
                              hint=f"use one of {', '.join(settings.languages)} (set in {SETTINGS_FILE})")
    if not title.strip() or "\n" in title:
        raise NewsletterError("the title must be one non-empty line")
    path = issue_path(settings.issues_dir, issue_id)
    if path.exists():
        raise NewsletterError(f"{path.relative_to(settings.root)} already exists", hint="pick another id")
    import yaml

    front = yaml.safe_dump({"title": title.strip(), "date": (date or dt.date.today()).isoformat(),
                            "language": language, "preheader": "One line that mail clients show after the subject.",
                            "keywords": []}, allow_unicode=True, sort_keys=False, width=1000)
    body = ("Write the intro here: the paragraphs before the first section.\n\n"
            "## First section heading\n\nWrite the section's paragraphs here.\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(f"---\n{front}---\n\n{body}")
    return path


__all__ = ["check", "find_workspace", "issue_ids", "load_issue", "scaffold_issue"]
