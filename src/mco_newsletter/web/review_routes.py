"""The HTTP side of the review pages: links and forms checked, decisions answered as a page or as JSON.

Every link that leads nowhere (tampered, revoked, unknown, another translator's language or issue)
raises the application's own 404, so it gets the one neutral page readers get for a bad unsubscribe
link; a client that keeps presenting bad links waits longer each time (throttle.py). Every POST must
carry the form key of the link's translator (CSRF), else 403. The log names routes, never a token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from importlib.resources import files
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..config import Settings
from ..errors import NewsletterError
from .client_limit import SharedWindows
from .pages import security_headers
from .review_pages import (
    ACTIONS,
    Links,
    ReviewSite,
    decide,
    issue_page,
    piece_html,
    preview_page,
    problem_page,
    progress_html,
    start_page,
)
from .review_view import anchor, issue_view

log = logging.getLogger("mco_newsletter.web")
PAGE_WITH_SCRIPT = {"script-src": "'self'", "connect-src": "'self'", "frame-src": "'self'"}
MAX_FORM_BYTES = 256 * 1024
SCRIPT = "review.js"


def review_routes(settings: Settings, *, shared: SharedWindows | None = None) -> list[Route]:
    """The routes of the review pages, for create_app (`shared`: the replicas' shared counts, for the throttle)."""
    site = ReviewSite(settings, shared=shared)
    script = (files(__package__) / "static" / SCRIPT).read_bytes()

    async def translator_of(request: Request):
        token = request.path_params["token"]
        translator = await run_in_threadpool(site.translator, token)
        if translator is None:
            delay = await run_in_threadpool(site.throttle.failed, request.client.host if request.client else "")
            if delay:
                await asyncio.sleep(delay)
            raise HTTPException(404)
        return translator, Links(request.scope.get("root_path", ""), token)

    async def review_of(request: Request, translator, links: Links):
        """The review the path names (404 if it is not this translator's), or a page saying why it cannot be read."""
        params = request.path_params
        try:
            review = await run_in_threadpool(site.review, translator, params["issue_id"], params["language"])
        except NewsletterError as exc:
            log.warning("review of %s [%s] unavailable: %s", params["issue_id"], params["language"], exc.message)
            html = problem_page(site, params["language"], "unavailable", exc.message, links.start)
            return None, HTMLResponse(html, status_code=503, headers=security_headers(html))
        if review is None:
            raise HTTPException(404)
        return review, None

    async def start(request: Request) -> Response:
        from babel import negotiate_locale

        translator, links = await translator_of(request)
        wanted = [
            part.split(";")[0].strip().replace("-", "_")
            for part in request.headers.get("accept-language", "").split(",")
            if part.strip()
        ]
        language = negotiate_locale(wanted, translator.languages) or translator.languages[0]
        html = await run_in_threadpool(start_page, site, translator, links, language)
        return HTMLResponse(html, headers=security_headers(html))

    async def issue(request: Request) -> Response:
        translator, links = await translator_of(request)
        form = await _form(request) if request.method == "POST" else None
        if isinstance(form, Response):
            return form
        if form is not None and not hmac.compare_digest(form.get("csrf", "").encode(), translator.form_key.encode()):
            html = problem_page(site, translator.languages[0], "forbidden", "", links.start)
            return HTMLResponse(html, status_code=403, headers=security_headers(html))
        review, unavailable = await review_of(request, translator, links)
        if unavailable is not None:
            return unavailable
        if form is None:
            notice = {"kind": request.query_params.get("done", ""), "piece": request.query_params.get("piece", "")}
            html = await run_in_threadpool(issue_page, site, review, translator, links, notice=notice)
            return HTMLResponse(html, headers=security_headers(html, directives=PAGE_WITH_SCRIPT))
        if form.get("action") not in ACTIONS or not form.get("piece"):
            return Response(
                "The form is incomplete.", status_code=400, media_type="text/plain", headers=security_headers("")
            )
        context, action = form["piece"], form["action"]
        text = form.get("translation", "").replace("\r\n", "\n").strip()  # browsers send CRLF line ends
        gettext = site.gettext(review.language)
        outcome = await run_in_threadpool(
            decide, review, context=context, action=action, text=text, expected=form.get("version", ""), gettext=gettext
        )
        decision = outcome.decision
        result = (
            "skipped"
            if decision is None
            else "conflict"
            if decision.conflict is not None
            else ("requested" if decision.requested else "approved")
            if decision.approved
            else "saved"
            if decision.saved
            else "refused"
            if decision.refused
            else "unchanged"
        )
        page_url = links.issue(review.issue.id, review.language)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {
                    "result": result,
                    "next": anchor(outcome.next) if outcome.next else None,
                    "piece": await run_in_threadpool(piece_html, site, review, outcome.view, translator, links)
                    if outcome.view is not None
                    else None,
                    "progress": await run_in_threadpool(progress_html, site, review),
                    "preview": f"{links.preview(review.issue.id, review.language)}?v={time.time_ns()}",
                },
                headers=security_headers(""),
            )
        if result in ("conflict", "refused"):  # the piece with what was sent, and why it was not taken
            assert outcome.view is not None, "a conflict and a refusal show the piece"
            view = await run_in_threadpool(issue_view, review, {context: outcome.view}, gettext=gettext)
            html = await run_in_threadpool(issue_page, site, review, translator, links, view=view)
            return HTMLResponse(
                html,
                status_code=409 if result == "conflict" else 422,
                headers=security_headers(html, directives=PAGE_WITH_SCRIPT),
            )
        target = f"{page_url}?done={result}&piece={quote(context, safe='')}"
        return RedirectResponse(
            target + (f"#{anchor(outcome.next)}" if outcome.next else ""), status_code=303, headers=security_headers("")
        )

    async def preview(request: Request) -> Response:
        from .preview import preview_headers

        translator, links = await translator_of(request)
        review, unavailable = await review_of(request, translator, links)
        if unavailable is not None:
            return unavailable
        html = await run_in_threadpool(preview_page, site, review, links)
        return HTMLResponse(html, headers=preview_headers(html))

    async def picture(request: Request) -> Response:
        translator, links = await translator_of(request)
        review, unavailable = await review_of(request, translator, links)
        if unavailable is not None:
            return unavailable
        shown = await run_in_threadpool(_picture, site, review, request.path_params["name"])
        if shown is None:
            raise HTTPException(404)
        return Response(shown.data, media_type=shown.mime_type, headers=security_headers(""))

    async def script_file(request: Request) -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8", headers=security_headers(""))

    base = "/review/{token}/{issue_id}/{language}"
    return [
        Route(f"/review/static/{SCRIPT}", script_file),
        Route("/review/{token}", start),
        Route(base, issue, methods=["GET", "POST"]),
        Route(f"{base}/preview", preview),
        Route(f"{base}/preview/{{name}}", picture),
    ]


async def _form(request: Request) -> dict[str, str] | Response:
    """The fields of a urlencoded form (the first value of each); 413 for a body no review form makes, 400 for
    one that is not a form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return Response(
                "Too long for a review form.", status_code=413, media_type="text/plain", headers=security_headers("")
            )
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return Response("Not a review form.", status_code=400, media_type="text/plain", headers=security_headers(""))
    return {name: values[0] for name, values in fields.items()}


def _picture(site: ReviewSite, review, name: str):
    """A picture the issue shows, as the email carries it; None for any other name."""
    from ..issue_blocks import Image
    from ..issue_walk import all_blocks
    from ..pictures import is_local, picture_name
    from ..render.pictures import shown_picture

    issue = review.issue
    sources = [
        block.src
        for block in all_blocks(issue.intro, issue.sections)
        if isinstance(block, Image) and is_local(block.src)
    ]
    src = next((src for src in sources if picture_name(src) == name), None)
    if src is None:
        return None
    try:
        return shown_picture(site.settings.root, issue.folder, src)
    except NewsletterError:
        return None
