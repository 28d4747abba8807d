"""What the routes of `serve` share about requests and answers: bodies read within their size, forms parsed
(refused plainly when they hold more fields than any form of ours sends: a 400 with the security headers, never a
500), and the answers with the security headers (a page, JSON, plain text, the one 404 page).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from .pages import browser_language, render_page, security_headers
from .site import Site

MAX_FORM_BYTES = 4096
_LENGTH = re.compile(r"[0-9]{1,12}")


class TooLarge(Exception):
    """The request body is larger than the route reads."""


def page(site: Site, template: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = render_page(site.settings, template, language, **context)
    return HTMLResponse(html, status_code=status, headers=security_headers(html))


def answer(data: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=security_headers())


def plain(text: str, status: int) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status, headers=security_headers())


def not_found(site: Site, request: Request) -> HTMLResponse:
    """The one answer for every token that leads nowhere, in the language the browser prefers."""
    language = browser_language(
        request.headers.get("accept-language", ""), site.settings.languages, site.settings.source_language
    )
    return page(site, "not_found.html.j2", language, status=404)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (TooLarge) by its Content-Length or once more than `limit` bytes arrived."""
    length = request.headers.get("content-length")
    if length is not None and (not _LENGTH.fullmatch(length) or int(length) > limit):
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


# The sign-up form with every public topic ticked sends well under this; parse_qs raises past it.
MAX_FIELDS = 100


async def form_fields(request: Request) -> dict[str, list[str]] | Response:
    """Every field's values (blank ones kept), or the answer to give instead: 413 for a body over
    MAX_FORM_BYTES (refused before it is read), 400 for more than MAX_FIELDS fields."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except TooLarge:
        return plain("Request too large", 413)
    try:
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return plain("Not a form of this site", 400)


def first(form: dict[str, list[str]], key: str) -> str:
    """A form field's first value ("" when it was not sent)."""
    return form.get(key, [""])[0]
