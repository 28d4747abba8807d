"""The workspace's issues: finding them by id, loading one with every problem named (workspace_check.py checks
the whole workspace)."""

from __future__ import annotations

from .config import Settings
from .errors import NewsletterError, ProblemsError
from .issue import ISSUE_FILE, ISSUE_ID_RE, Issue, issue_path, read_issue


def issue_ids(settings: Settings) -> list[str]:
    """Ids of every issue folder in the workspace, oldest first."""
    if not settings.issues_dir.is_dir():
        return []
    return sorted(p.parent.name for p in settings.issues_dir.glob(f"*/{ISSUE_FILE}"))


def require_issue_id(issue_id: str) -> None:
    """Refuse what is not an issue id (a path such as ../../elsewhere or /tmp/issue.md): issues live in issues/."""
    if not ISSUE_ID_RE.match(issue_id):
        raise NewsletterError(
            f"{issue_id!r} is not an issue id", hint="give the name of the issue's folder in issues/, e.g. 2024-05"
        )


def load_issue(settings: Settings, issue_id: str) -> Issue:
    """The issue with this id, or a clear error naming what is wrong with it."""
    from .render.privacy import issue_findings

    require_issue_id(issue_id)
    path = issue_path(settings.issues_dir, issue_id)
    if not path.is_file():
        known = issue_ids(settings)
        hint = f"known issues: {', '.join(known)}" if known else "create one with `mco-newsletter new <id>`"
        raise NewsletterError(f"no issue {issue_id!r} ({path.relative_to(settings.root)} does not exist)", hint)
    issue, problems = read_issue(path, languages=settings.languages)
    if issue is not None:
        problems += issue_findings(issue, settings.privacy)[0]
    if problems:
        raise ProblemsError(problems)
    assert issue is not None
    return issue


def require_published(issue: Issue) -> None:
    """Refuse an issue whose front matter says `status: draft`: it is not sent and not archived."""
    if not issue.published:
        raise NewsletterError(
            f"issue {issue.id} is a draft (status: draft in its front matter)",
            hint=f"when it is ready, write `status: published` in "
            f"issues/{issue.id}/issue.md (a test send with --test-to works for drafts)",
        )
