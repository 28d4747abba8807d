"""uvicorn as `serve` runs it: no access log (a path holds a reader's token), no Server header, no WebSocket
upgrade (there is no WebSocket route), and the answers uvicorn gives on its own carrying our security headers.

uvicorn answers a request it cannot parse (a malformed request line, a bad header name, TLS bytes sent to
the plain port) with a 400 before any application sees it, so the application's middleware cannot add the
headers. Its HTTP protocol classes write that answer in one method, `send_400_response`; ours writes the same
answer with the headers every other answer carries (docs/web.md, "Every answer").
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from ..config import Settings
from .pages import security_headers


def refuse_local_outbox(settings: Settings) -> None:
    """On a PostgreSQL store `serve` may run on several hosts, and the readers' emails it sends (confirmations,
    notices, subject-access records) must reach them from any of them: the outbox would keep each in a folder of
    whichever host answered, where nobody reads it. NewsletterError then, before anything starts."""
    from ..errors import NewsletterError

    if settings.store.url and settings.sending.backend == "outbox":
        raise NewsletterError(
            "serve on a PostgreSQL store sends readers' emails (sign-up confirmations, notices, "
            "records) from any of its hosts: the outbox would leave them in this host's folder",
            hint='set [sending] backend = "sendgrid" or "smtp" in newsletter.toml '
            "(docs/deploy.md); the outbox is for one host with SQLite",
        )


def server_options(http: str = "auto") -> dict:
    """What `serve` gives uvicorn.run (or uvicorn.Config) besides the app, host, port and log level."""
    return {"http": guarded_protocol(http), "ws": "none", "access_log": False, "server_header": False}


@lru_cache(maxsize=4)
def guarded_protocol(name: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol of that name ("auto": httptools when installed, else h11), answering its own 400s
    with the security headers."""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    base = import_from_string(HTTP_PROTOCOLS[name])
    if not callable(getattr(base, "send_400_response", None)):  # a uvicorn that answers otherwise: fail loudly
        raise RuntimeError(f"uvicorn's {base.__name__} has no send_400_response to give the security headers")
    return type(
        f"Guarded{base.__name__}",
        (base,),
        {"send_400_response": _send_400_response, "__doc__": guarded_protocol.__doc__},
    )


_HEADERS = b"".join(f"{name.lower()}: {value}\r\n".encode("latin-1") for name, value in security_headers().items())


def _send_400_response(self, msg: str) -> None:
    body = msg.encode("ascii", "replace")
    # The Date header uvicorn keeps for every answer (and any configured header), then ours.
    head = b"".join(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
    self.transport.write(
        b"HTTP/1.1 400 Bad Request\r\n"
        + head
        + _HEADERS
        + b"content-type: text/plain; charset=utf-8\r\n"
        + b"content-length: "
        + str(len(body)).encode("ascii")
        + b"\r\n"
        + b"connection: close\r\n\r\n"
        + body
    )
    self.transport.close()
