"""The ASGI application of `mco-newsletter serve`: one-click unsubscribe, SendGrid's signed event webhook, the
health route, and (web/signup.py, web/review_routes.py) the reader and review pages.

Logs name the route, never the path: a path holds a reader's token. Every failure to find a reader
gets the same 404 page, whatever the reason. Every answer, errors included, carries the security headers.

Pages that only read use a read-only connection of their own: no write, this server's or another program's,
makes them wait. A change the database cannot take (locked longer than site.WRITE_WAIT_S, a full or read-only disk,
damage) is never answered as done: 503 with Retry-After, a page in the reader's language, one log line.
"""

from __future__ import annotations

import errno
import logging
import re
import time
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..config import Settings
from ..errors import DatabaseError
from .http import MAX_FORM_BYTES, TooLarge, answer, not_found, page, plain, read_body
from .pages import browser_language, mask_address, security_headers
from .site import Site

log = logging.getLogger("mco_newsletter.web")
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
ONE_CLICK = "One-Click"
# SendGrid posts batches of well under 1 MB; nothing larger is read, whatever it claims to be.
MAX_EVENTS_BYTES = 4 * 1024 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{1,250}={0,2}")
RETRY_AFTER_S = 60
HEALTH_TIMEOUT_S = 2.0
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)  # the same 503 as a database that cannot write


async def health(request: Request) -> Response:
    """GET /healthz: 200 "ok" when the store answers within HEALTH_TIMEOUT_S, else 503 "unavailable"; nothing
    about what failed (the log has one line with its kind)."""
    import asyncio

    site: Site = request.app.state.site
    try:
        ok = await asyncio.wait_for(run_in_threadpool(site.healthy), HEALTH_TIMEOUT_S)
    except TimeoutError:
        ok = False
        log.warning("GET /healthz: the store did not answer within %s s", HEALTH_TIMEOUT_S)
    return plain("ok\n" if ok else "unavailable\n", 200 if ok else 503)


def not_written(site: Site, request: Request, exc: Exception) -> Response:
    """The answer to a change the database (or the disk) could not take: nothing was recorded, so 503 with
    Retry-After; a page in the reader's language (a route sets request.state.language once it knows it), JSON for
    the webhook. One log line names the route and the cause: no traceback, no path, no address."""
    from ..storage.failures import failure_of

    failure = exc if isinstance(exc, DatabaseError) else failure_of(exc, site.settings.store)
    if failure is not None:
        cause = failure.cause
    else:
        # Not str(exc): it names the file.
        cause = f"the disk failed: {getattr(exc, 'strerror', None) or type(exc).__name__}"
    route = getattr(request.scope.get("route"), "path", "(no route)")
    log.warning("%s %s: nothing recorded, answered 503: %s", request.method, route, cause)
    if request.url.path.startswith("/webhooks/"):
        response: Response = answer({"error": f"nothing recorded: {cause}; try again later"}, 503)
    else:
        language = getattr(request.state, "language", None) or request.path_params.get("language")
        if language not in site.settings.languages:
            language = browser_language(
                request.headers.get("accept-language", ""), site.settings.languages, site.settings.source_language
            )
        response = page(site, "unavailable.html.j2", language, status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def unsubscribe_page(request: Request) -> Response:
    site: Site = request.app.state.site
    reader = await run_in_threadpool(site.reader, request.path_params["token"])
    if reader is None:
        return not_found(site, request)
    request.state.language = reader.language
    shown = mask_address(reader.email)
    if request.method == "POST":
        try:
            form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode("utf-8", "replace"))
        except TooLarge:
            return plain("Request too large", 413)
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click"; our own pages post their buttons.
        if form.get("resubscribe") == ["yes"] and not form.get("List-Unsubscribe"):
            await site.resubscribe(reader)
            return page(site, "resubscribed.html.j2", reader.language, email=shown)
        if form.get("List-Unsubscribe") == [ONE_CLICK] or form.get("confirm") == ["yes"] or not form:
            from ..reporting.attribution import issue_of

            await site.unsubscribe(reader, issue_of(request.query_params.get("issue")))
            return page(site, "unsubscribed.html.j2", reader.language, email=shown)
    if reader.status != "active":
        return page(site, "left.html.j2", reader.language, email=shown)
    return page(site, "unsubscribe.html.j2", reader.language, email=shown)


async def sendgrid_events(request: Request) -> Response:
    from ..delivery.webhook_signature import verify
    from .events import MalformedEvents, apply_events, parse_events

    site: Site = request.app.state.site
    if site.verifier is None:
        return answer({"error": "webhook not configured"}, 403)
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        return answer({"error": "missing signature"}, 403)
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return answer({"error": "malformed signature or timestamp"}, 400)
    if abs(time.time() - int(timestamp)) > site.settings.webhook_max_age_seconds:
        return answer({"error": "stale timestamp"}, 403)
    try:
        body = await read_body(request, MAX_EVENTS_BYTES)
    except TooLarge:
        return answer({"error": "payload too large"}, 413)
    # A check takes milliseconds of pure-Python arithmetic: off the event loop, so other requests go on.
    if not await run_in_threadpool(verify, site.verifier, body, signature, timestamp):
        return answer({"error": "bad signature"}, 403)
    try:
        events = parse_events(body)
    except MalformedEvents as exc:
        return answer({"error": str(exc)}, 400)

    def apply():
        with site.locked() as store:
            return apply_events(store, events)

    report = await run_in_threadpool(apply)
    return answer(report.__dict__)


class RouteLog:
    """ASGI middleware: one log line per request with the route's template, status and time; no path, no token.
    It also gives any answer that lacks them the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in security_headers().items()
                    if name.lower().encode("latin-1") not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, sending)
        route = scope.get("route")
        log.info(
            "%s %s %d %.1f ms",
            scope["method"],
            getattr(route, "path", "(no route)"),
            status["code"],
            (time.perf_counter() - started) * 1000,
        )


def create_app(settings: Settings, *, editor: bool | None = None, chores: bool = True) -> Starlette:
    """The application, ready for uvicorn (a key that cannot be loaded is an error here, at start-up).

    `editor`: whether this replica serves the review pages, writing catalogs into its own checkout (default: on
    SQLite, the one host, yes; on PostgreSQL only where asked, and only one replica of the store at a time).
    `chores`: whether it runs the periodic purges (web/chores.py)."""

    async def nowhere(request: Request, exc) -> Response:
        return not_found(request.app.state.site, request)

    async def not_allowed(request: Request, exc) -> Response:
        return plain("Method not allowed", 405)

    async def failed(request: Request, exc) -> Response:
        return plain("Internal error", 500)

    async def storage_failed(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OSError) and exc.errno not in DISK_ERRORS:
            raise exc  # not the disk: a bug, shown in full by `failed`
        return not_written(request.app.state.site, request, exc)

    from ..storage.failures import driver_errors
    from .editor import editor_routes
    from .signup import reader_routes

    site = Site(settings)
    app = Starlette(
        routes=[
            Route("/u/{token}", unsubscribe_page, methods=["GET", "POST"]),
            Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"]),
            Route("/healthz", health, methods=["GET", "HEAD"]),
            *editor_routes(site, editor),  # the review pages, or the page that says they are served elsewhere
            *reader_routes(site),  # sign-up, confirmation and preferences (web/signup.py, web/preferences.py)
        ],
        exception_handlers={
            404: nowhere,
            405: not_allowed,
            Exception: failed,
            DatabaseError: storage_failed,
            OSError: storage_failed,
            **dict.fromkeys(driver_errors(settings.store), storage_failed),
        },
    )
    site.serving()
    if chores:
        from .chores import Chores

        site.chores = Chores(site)
        site.chores.start()
    app.router.redirect_slashes = False  # a token spelled with "/" is not a path to redirect: it is a 404
    app.state.site = site
    app.add_middleware(RouteLog)
    return app
