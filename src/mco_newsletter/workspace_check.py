"""`check`: every problem in a workspace's settings, templates and issues, and what is worth fixing though it
blocks nothing, in file order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Settings, read_settings
from .errors import NewsletterError, Problem
from .issue import ISSUE_FILE, Issue, issue_path, read_issue
from .workspace import require_issue_id


@dataclass(frozen=True)
class Findings:
    """What check found: problems (exit 1), warnings (worth fixing, not blocking) and notes (what the workspace
    overrides of the package's templates and words: said, nothing to fix)."""

    problems: list[Problem]
    warnings: list[Problem]
    notes: list[Problem]


def check(root: Path, issue_id: str | None = None) -> list[Problem]:
    """Every problem in the settings and in one issue (or all of them), in file order."""
    return check_all(root, issue_id).problems


def check_all(root: Path, issue_id: str | None = None) -> Findings:
    """Every problem and warning in the settings and in one issue (or all of them), in file order."""
    from .glossary import glossary_problems
    from .render.privacy import issue_findings
    from .render.theme import overrides
    from .scaffold import scaffold_problems

    settings, problems = read_settings(root)
    warnings: list[Problem] = []
    notes: list[Problem] = []
    renderable = False
    if settings is not None:
        notes = [
            Problem(override.path, 0, override.note)
            for override in overrides(settings.templates_dir, settings.locales_dir)
        ]
        template_problems = _check_templates(settings)
        renderable = not template_problems  # editions are rendered (for their size) only with working templates
        problems += template_problems
        problems += _check_database_ignored(settings)
        problems += glossary_problems(settings)
        problems += _sending_problems(settings)
        warnings += _settings_warnings(settings)
    languages = settings.languages if settings else None
    issues_dir = settings.issues_dir if settings else root / "issues"
    if issue_id is not None:
        require_issue_id(issue_id)
        paths = [issue_path(issues_dir, issue_id)]
    else:
        paths = sorted(issues_dir.glob(f"*/{ISSUE_FILE}"))
    from .catalog_checks import catalog_findings

    for path in paths:
        issue, found = read_issue(path, languages=languages)
        problems += found
        if issue is not None and settings is not None:
            refused, noted = issue_findings(issue, settings.privacy)
            problems += refused + scaffold_problems(settings, issue)
            warnings += noted
            if renderable and not found and not refused:
                warnings += _edition_warnings(settings, issue, path)
        refused, noted = catalog_findings(path.parent, issue, tuple(languages or ()))
        problems += refused
        warnings += noted
    return Findings(in_file_order(problems), in_file_order(warnings), in_file_order(notes))


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """Each problem once, by file and line: the checks run one after another, and a link written three times in a
    paragraph is found three times at the paragraph's line."""
    once = list(dict.fromkeys(problems))
    return sorted(once, key=lambda problem: (str(problem.path), problem.line))


def _settings_warnings(settings: Settings) -> list[Problem]:
    from .delivery.preflight import MAILBOX_HINT, mailbox_provider_warning
    from .schema import locate_key

    warnings = []
    if not settings.postal_address:
        warnings.append(
            Problem(
                settings.path,
                0,
                "no postal_address: mail providers and bulk-sender rules expect the "
                "sender's postal or contact address in every email",
                'add postal_address = "…" (one string, or a table per language); it is printed in the footer',
            )
        )
    if settings.dkim is not None and not settings.dkim.key.exists():
        warnings.append(
            Problem(
                settings.path,
                locate_key(settings.path.read_text(encoding="utf-8"), ("dkim",)),
                f"no DKIM key at {settings.dkim.key}: sending over SMTP (or to the outbox) refuses until there is one",
                "make it with `mco-newsletter dkim keygen` and publish the record it prints",
            )
        )
    if settings.dkim is not None and settings.sending.backend == "sendgrid":
        warnings.append(
            Problem(
                settings.path,
                locate_key(settings.path.read_text(encoding="utf-8"), ("dkim",)),
                "[dkim] signs only what this tool sends itself (smtp, outbox); with backend "
                '"sendgrid", SendGrid signs with its own keys',
                "set up SendGrid's domain authentication (Settings → Sender Authentication; docs/deliverability.md)",
            )
        )
    provider = mailbox_provider_warning(settings.sender.address)
    if provider:
        line = locate_key(settings.path.read_text(encoding="utf-8"), ("sender", "address"))
        warnings.append(Problem(settings.path, line, provider, MAILBOX_HINT))
    if settings.bounces is not None:
        from .bounces.checks import bounce_warnings

        text = settings.path.read_text(encoding="utf-8")
        warnings += [
            Problem(settings.path, locate_key(text, key_path), message, hint)
            for key_path, message, hint in bounce_warnings(settings)
        ]
    return warnings


def _sending_problems(settings: Settings) -> list[Problem]:
    """What would stop `send`, though other commands work: a base_url that is not https."""
    from .delivery.preflight import base_url_problem
    from .schema import locate_key

    problem = base_url_problem(settings.base_url)
    if not problem:
        return []
    line = locate_key(settings.path.read_text(encoding="utf-8"), ("base_url",))
    return [
        Problem(
            settings.path,
            line,
            problem,
            'write base_url = "https://…" (the archive and `serve` behind https); send refuses until then',
        )
    ]


def _edition_warnings(settings: Settings, issue: Issue, path: Path) -> list[Problem]:
    """Each ready edition rendered as sent: one that Gmail would clip is named."""
    from .delivery.preflight import CLIPPING_HINT, edition_warnings
    from .edition import ready_languages

    return [
        Problem(path, 0, warning, CLIPPING_HINT)
        for warning in edition_warnings(settings, issue, ready_languages(issue, settings.languages))
    ]


def _check_templates(settings: Settings) -> list[Problem]:
    from .catalog_files import KEEP_THE_FILE, CatalogSyntaxError, read_catalog
    from .render.theme import catalog_files, catalog_path, own_catalogs
    from .template_check import template_problems

    # The package has every template; the words of a language it does not ship are the workspace's to add.
    problems = [
        Problem(
            catalog_path(settings.locales_dir, language),
            0,
            f"no catalog of template words for {language!r}",
            "the tool has none for this language: add it with pybabel init, see docs/translating-templates.md",
        )
        for language in settings.languages
        if language != "en" and not catalog_files(settings.locales_dir, language)
    ]
    for path in own_catalogs(settings.locales_dir):  # read as strictly as msgfmt, which the tool's pass
        try:
            read_catalog(path)
        except CatalogSyntaxError as exc:
            problems.append(Problem(path, exc.line, f"not a valid PO file: {exc.reason}", KEEP_THE_FILE))
        except NewsletterError as exc:
            problems.append(Problem(path, 0, exc.message.removeprefix(f"{path}: "), exc.hint))
    # Rendering needs every language's words: with a catalog missing or broken, only that is reported.
    return problems or template_problems(settings)


def _check_database_ignored(settings: Settings) -> list[Problem]:
    """Subscriber data must never be committed: the database path must be git-ignored."""
    import shutil
    import subprocess

    from .schema import locate_key

    if settings.database_url:
        return []  # the store is on a database server, not in a file of the workspace
    path = settings.database_path
    try:
        relative = path.resolve().relative_to(settings.root.resolve())
    except ValueError:
        return []  # outside the workspace: not in the content repository at all
    git = shutil.which("git")
    if not git or not (settings.root / ".git").exists():
        return []
    result = subprocess.run([git, "-C", str(settings.root), "check-ignore", "-q", str(relative)], capture_output=True)
    if result.returncode == 0:
        return []
    line = locate_key(settings.path.read_text(encoding="utf-8"), ("database", "path"))
    return [
        Problem(
            settings.path,
            line,
            f"the subscriber database {relative} is not covered by .gitignore",
            "keep it under private/ (ignored) or add its path to .gitignore",
        )
    ]
