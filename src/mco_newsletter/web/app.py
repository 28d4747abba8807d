"""The ASGI application of `mco-newsletter serve`: one-click unsubscribe and SendGrid's signed event webhook.

Logs name the route, never the path: a path holds a reader's token. Every failure to find a reader
gets the same 404 page, whatever the reason.
"""

from __future__ import annotations

import logging
import threading
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..config import Settings
from .pages import render_page, security_headers
from .review_routes import review_routes

log = logging.getLogger("mco_newsletter.web")
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
ONE_CLICK = b"List-Unsubscribe=One-Click"


class Site:
    """The settings, the subscriber store and the keys the routes share (one SQLite connection, locked)."""

    def __init__(self, settings: Settings):
        from ..subscribers.store import open_store
        from ..subscribers.tokens import unsubscribe_secret

        self.settings = settings
        self.store = open_store(settings.database_path)
        self.secret = unsubscribe_secret(settings.private_dir)
        self.lock = threading.Lock()
        self.verifier = None
        if settings.webhook_public_key:
            from sendgrid.helpers.eventwebhook import EventWebhook

            self.verifier = EventWebhook(settings.webhook_public_key)

    def reader(self, token: str):
        from ..subscribers.tokens import read_token

        subscriber_id = read_token(self.secret, token)
        if subscriber_id is None:
            return None
        with self.lock:
            return self.store.by_id(subscriber_id)

    def unsubscribe(self, subscriber) -> None:
        with self.lock, self.store.transaction():
            if self.store.by_id(subscriber.id).status == "active":
                self.store.set_status(subscriber.id, "unsubscribed")


def page(site: Site, template: str, language: str, status: int = 200, **context) -> HTMLResponse:
    html = render_page(site.settings, template, language, **context)
    return HTMLResponse(html, status_code=status, headers=security_headers(html))


def not_found(site: Site, request: Request) -> HTMLResponse:
    """The one answer for every token that leads nowhere, in the language the browser prefers."""
    from babel import negotiate_locale

    wanted = [part.split(";")[0].strip().replace("-", "_")
              for part in request.headers.get("accept-language", "").split(",") if part.strip()]
    language = negotiate_locale(wanted, site.settings.languages) or site.settings.source_language
    return page(site, "not_found.html.j2", language, status=404)


async def unsubscribe_page(request: Request) -> Response:
    site: Site = request.app.state.site
    reader = await run_in_threadpool(site.reader, request.path_params["token"])
    if reader is None:
        return not_found(site, request)
    if request.method == "POST":
        body = await request.body()
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click"; our own button posts its form.
        if ONE_CLICK in body or b"confirm=yes" in body or not body:
            await run_in_threadpool(site.unsubscribe, reader)
            return page(site, "unsubscribed.html.j2", reader.language, email=reader.email)
    return page(site, "unsubscribe.html.j2", reader.language, email=reader.email)


async def sendgrid_events(request: Request) -> Response:
    from .events import MalformedEvents, apply_events, parse_events

    site: Site = request.app.state.site
    if site.verifier is None:
        return JSONResponse({"error": "webhook not configured"}, status_code=403)
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    body = await request.body()
    if not signature or not timestamp or not timestamp.isdigit():
        return JSONResponse({"error": "missing signature"}, status_code=403)
    if abs(time.time() - int(timestamp)) > site.settings.webhook_max_age_seconds:
        return JSONResponse({"error": "stale timestamp"}, status_code=403)
    if not _verified(site, body, signature, timestamp):
        return JSONResponse({"error": "bad signature"}, status_code=403)
    try:
        events = parse_events(body)
    except MalformedEvents as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def apply():
        with site.lock:
            return apply_events(site.store, events)

    report = await run_in_threadpool(apply)
    return JSONResponse(report.__dict__)


def _verified(site: Site, body: bytes, signature: str, timestamp: str) -> bool:
    try:
        return site.verifier.verify_signature(body.decode("utf-8"), signature, timestamp)
    except Exception:  # noqa: BLE001 — the helper raises on malformed base64, DER or UTF-8: all mean "not signed by SendGrid"
        return False


class RouteLog:
    """ASGI middleware: one log line per request with the route's template, status and time; no path, no token."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        route = scope.get("route")
        log.info("%s %s %d %.1f ms", scope["method"], getattr(route, "path", "(no route)"), status["code"],
                 (time.perf_counter() - started) * 1000)


def create_app(settings: Settings) -> Starlette:
    """The application, ready for uvicorn."""
    async def nowhere(request: Request, exc) -> Response:
        return not_found(request.app.state.site, request)

    app = Starlette(routes=[
        Route("/u/{token}", unsubscribe_page, methods=["GET", "POST"]),
        Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"]),
        *review_routes(settings),
    ], exception_handlers={404: nowhere})
    app.state.site = Site(settings)
    app.add_middleware(RouteLog)
    return app
