"""Which replica serves the translators' review pages: the "editor", the one host whose workspace is the content
checkout the organisation commits from (the review pages write its catalogs, issues/<id>/<lang>.po).

On SQLite (one host) `serve` is the editor. On PostgreSQL a replica is the editor only when started with
`serve --editor`, and only one replica of a store at a time (a session lock in the store, released the moment
its connection ends): a second one refuses to start and names the holder. Every other replica writes no
catalog: it answers every /review/ path with 421 Misdirected Request and a page, in the browser's language,
asking the translator to tell the organisation what it says (the proxy should send /review/ to the editor:
docs/deploy.md). No link is checked there, so no link is learned there either.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..errors import NewsletterError
from .site import Site

ELSEWHERE = (
    "this server does not serve the review pages: the reverse proxy should send /review/ to the host"
    " started with `serve --editor` (docs/deploy.md)"
)


def editor_routes(site: Site, editor: bool | None) -> list[Route]:
    """The review routes on the editor, the routes that say "elsewhere" on any other replica."""
    from .review_routes import review_routes

    shared = site.shared_counts is not None
    if editor is None:
        editor = not shared  # SQLite: the one host is the editor
    if not editor:
        return [Route("/review/{rest:path}", _elsewhere(site), methods=["GET", "POST"])]
    if shared:
        _hold_editor(site)
    return review_routes(site.settings, shared=site.shared_counts)


def _hold_editor(site) -> None:
    from ..storage.replica_locks import EDITOR_LOCK, hold, holder

    db = site.shared_counts.db
    if not hold(db, EDITOR_LOCK):
        raise NewsletterError(
            f"another `serve --editor` already serves the review pages of this store: "
            f"{holder(db, EDITOR_LOCK) or 'it just stopped'}",
            hint="one replica is the editor, the one whose workspace holds the catalogs you "
            "commit; start the others without --editor (docs/deploy.md)",
        )


def _elsewhere(site):
    async def answer(request: Request) -> Response:
        from .pages import browser_language, render_page, security_headers

        settings = site.settings
        language = browser_language(
            request.headers.get("accept-language", ""), settings.languages, settings.source_language
        )
        html = render_page(
            settings, "review_problem.html.j2", language, kind="unavailable", message=ELSEWHERE, back_url=None
        )
        return HTMLResponse(html, status_code=421, headers=security_headers(html))

    return answer
