"""The translators' review pages: who is asking, what they see, and what their decisions do.

Plain synchronous functions over review.py's domain, so that the terminal and the browser never
disagree: the routes (review_routes.py) run them in a thread, and bench/review.py calls them directly.
A page speaks the language being reviewed (the translator's own); the start page the one of theirs the
browser prefers. Nothing here reads the subscriber database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ..config import Settings
from ..errors import NewsletterError
from ..issue import Issue
from ..review import Decision, Review
from ..translators import Translator
from .client_limit import SharedWindows
from .review_view import IssueView, PieceView, issue_view, next_piece, piece_view

ACTIONS = ("approve", "override", "draft", "skip")


@dataclass(frozen=True)
class Links:
    """The addresses of one translator's pages; `root` is the path the reverse proxy serves the app under."""

    root: str
    token: str

    @property
    def start(self) -> str:
        return f"{self.root}/review/{self.token}"

    @property
    def script(self) -> str:
        return f"{self.root}/review/static/review.js"

    def issue(self, issue_id: str, language: str) -> str:
        return f"{self.start}/{quote(issue_id)}/{quote(language)}"

    def preview(self, issue_id: str, language: str) -> str:
        return self.issue(issue_id, language) + "/preview"


class ReviewSite:
    """What the review routes share: the settings and the translators' registry."""

    def __init__(self, settings: Settings, *, shared: SharedWindows | None = None) -> None:
        from ..translators import open_registry
        from .throttle import Throttle

        self.settings = settings
        self.registry = open_registry(settings)
        self.throttle = Throttle(shared=shared)  # shared: counted with every replica's (web/shared_counts.py)
        self._issues: dict[str, tuple] = {}

    def issue(self, issue_id: str) -> Issue:
        """The issue (as load_issue gives it), parsed again only when its file changed."""
        from ..issue import issue_path
        from ..workspace import load_issue, require_issue_id

        require_issue_id(issue_id)
        try:
            stat = issue_path(self.settings.issues_dir, issue_id).stat()
            seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            seen = None
        cached = self._issues.get(issue_id)
        if seen is not None and cached is not None and cached[0] == seen:
            return cached[1]
        issue = load_issue(self.settings, issue_id)
        if len(self._issues) > 256:
            self._issues.clear()
        self._issues[issue_id] = (seen, issue)
        return issue

    def translator(self, token: str) -> Translator | None:
        return self.registry.by_token(token)

    def gettext(self, language: str) -> Callable[[str], str]:
        """The gettext of a language's page words (locales/<lang>/LC_MESSAGES/messages.po), for what the pages
        say that is made in the code: the rules' findings, where a draft came from."""
        from ..render.locale import translations

        return translations(self.settings.locales_dir, language).gettext

    def review(self, translator: Translator, issue_id: str, language: str) -> Review | None:
        """The review of an issue's language by this translator; None when it is not theirs or not there.

        NewsletterError when it is theirs but cannot be read now (no catalog yet, a broken file).
        """
        if language not in translator.languages or language not in self.settings.languages:
            return None
        try:
            issue = self.issue(issue_id)
        except NewsletterError:
            return None
        if issue.language == language:
            return None
        return Review(issue, language, translator=translator.identity)

    def waiting(self, translator: Translator, links: Links, language: str) -> list[dict]:
        """Every issue with a catalog in one of the translator's languages, newest first, with its progress."""
        from ..catalogs import count_states
        from ..merging import current_view
        from ..workspace import issue_ids

        rows = []
        for issue_id in reversed(issue_ids(self.settings)):
            try:
                issue = self.issue(issue_id)
                for code in translator.languages:
                    if code == issue.language or code not in self.settings.languages:
                        continue
                    _, merged, states = current_view(issue, code)
                    if merged is None:
                        continue
                    counts = count_states(code, states, True)
                    rows.append(
                        {
                            "issue_id": issue_id,
                            "title": issue.title,
                            "source_language": issue.language,
                            "language_name": language_name(code, language),
                            "url": links.issue(issue_id, code),
                            "approved": counts.approved,
                            "total": counts.total,
                        }
                    )
            except NewsletterError:
                continue  # an issue that cannot be read now is the organisation's to fix (`check` says so)
        return rows


@lru_cache(maxsize=64)
def language_name(code: str, in_language: str) -> str:
    """'Deutsch', 'русский', 'German': a language's name as readers of another one say it."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code).get_display_name(in_language) or code
    except (UnknownLocaleError, ValueError):
        return code


def page_facts(review: Review, translator: Translator, links: Links) -> dict:
    """What every part of an issue page needs to know: where forms go, in which languages."""
    from ..render.locale import text_direction

    issue_id, language = review.issue.id, review.language
    return {
        "url": links.issue(issue_id, language),
        "preview_url": links.preview(issue_id, language),
        "form_key": translator.form_key,
        "language": language,
        "language_name": language_name(language, language),
        "source_language": review.issue.language,
        "dir": text_direction(language),
    }


def start_page(site: ReviewSite, translator: Translator, links: Links, language: str) -> str:
    from .pages import render_page

    return render_page(
        site.settings,
        "review_start.html.j2",
        language,
        translator=translator,
        rows=site.waiting(translator, links, language),
    )


def issue_page(
    site: ReviewSite,
    review: Review,
    translator: Translator,
    links: Links,
    *,
    view: IssueView | None = None,
    notice: dict[str, str] | None = None,
) -> str:
    """The issue page: every piece by need, the preview beside them."""
    from .pages import render_page

    view = view or issue_view(review, gettext=site.gettext(review.language))
    return render_page(
        site.settings,
        "review_issue.html.j2",
        review.language,
        view=view,
        page=page_facts(review, translator, links),
        issue_id=review.issue.id,
        title=review.issue.title,
        start_url=links.start,
        script_url=links.script,
        notice=notice,
        open_approved=not view.needs and not view.drafts,
    )


def problem_page(site: ReviewSite, language: str, kind: str, message: str, back_url: str | None = None) -> str:
    """Why a page cannot be shown: `kind` forbidden (a form without its key) or unavailable (a file to fix)."""
    from .pages import render_page

    return render_page(site.settings, "review_problem.html.j2", language, kind=kind, message=message, back_url=back_url)


def parts(site: ReviewSite, language: str) -> Any:  # Jinja2's TemplateModule: the macros as attributes
    """The page's parts template (its macros), in a language."""
    from ..render.templates import environment_for

    settings = site.settings
    return (
        environment_for(settings.templates_dir, settings.locales_dir, language)
        .get_template("pages/review_parts.html.j2")
        .module
    )


def piece_html(site: ReviewSite, review: Review, view: PieceView, translator: Translator, links: Links) -> str:
    return str(parts(site, review.language).piece(view, page_facts(review, translator, links)))


def progress_html(site: ReviewSite, review: Review) -> str:
    counts = review.counts()
    return str(parts(site, review.language).progress(counts.approved, counts.total))


@dataclass(frozen=True)
class Outcome:
    """What one POST did: the decision (None for a skip), the piece as it now stands, where to go on."""

    decision: Decision | None
    view: PieceView | None
    next: str | None


def decide(
    review: Review, *, context: str, action: str, text: str, expected: str, gettext: Callable[[str], str] | None = None
) -> Outcome:
    """Approve, approve anyway (an override), save a draft or skip one piece, as review.py decides; `gettext` (of
    ReviewSite.gettext) puts what is said of the piece in the page's language (English without it)."""
    order = [state.piece.context for state in review.by_need()]
    state = review.state(context)
    if state is None or action == "skip":
        return Outcome(None, None, next_piece(order, context, review))
    if action in ("approve", "override"):
        decision = review.approve(context, text, override=action == "override", expected=expected)
    else:
        decision = review.save_draft(context, text, expected=expected)
    state = review.state(context) or state
    kept = None if decision.approved or decision.saved else text
    view = piece_view(state, text=kept, decision=decision, **({"gettext": gettext} if gettext else {}))
    return Outcome(decision, view, next_piece(order, context, review))


def preview_page(site: ReviewSite, review: Review, links: Links) -> str:
    from .preview import preview_html

    return preview_html(
        site.settings,
        review.issue,
        review.language,
        review.states(),
        pictures_url=links.preview(review.issue.id, review.language),
    )
