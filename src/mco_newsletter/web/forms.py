"""The urlencoded forms the reader pages receive: read within their size, and refused plainly when they hold more
fields than any form of ours sends (a 400 with the security headers, as the review form answers; never a 500)."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from .app import MAX_FORM_BYTES, TooLarge, plain, read_body

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
