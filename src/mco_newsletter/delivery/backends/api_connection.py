"""One kept-alive connection to a provider's HTTP API, with the standard library: TLS with the system's
certificate checks, a timeout on every step, a proxy from the environment (https_proxy, no_proxy), and
no redirect followed (a 3xx is an answer for the caller to judge).

A POST can fail in three ways that mean different things for mail, so each has its own exception:
NotConnected (no connection, or the request did not get out whole: nothing was taken), BadCertificate
(the host is not who it claims to be: nothing was sent, and trying again will not help) and NoAnswer
(the request went out and no answer came: the provider may have taken it).
"""

from __future__ import annotations

import base64
import http.client
import ssl
import urllib.request
from email.message import Message
from typing import NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from ...idle_sockets import readable


class NotConnected(Exception):
    """No connection, or the request did not get out whole: the provider took nothing."""


class BadCertificate(Exception):
    """The host's TLS certificate is not valid for its name: nothing was sent."""


class NoAnswer(Exception):
    """The request went out and no (whole) answer came: it may have been taken."""


class Answer(NamedTuple):
    """The provider's answer: status, headers, body."""

    status: int
    headers: Message
    body: bytes


class ApiConnection:
    """POSTs to one API host over one connection, kept alive between requests (one caller at a time).

    The headers given (an API key among them) go only into requests; they are never part of an error.
    """

    def __init__(self, base_url: str, *, timeout: float, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        # api_host_problem refused a URL without a host before this is made.
        self.scheme, self.host, self.port = parts.scheme, parts.hostname or "", parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._headers = headers
        self._connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> Answer:
        """The answer to one POST of `body` (JSON) to `path` under the base URL."""
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: bytes | None = None) -> Answer:
        """The answer to one request to `path` under the base URL."""
        connection = self._open()
        try:
            connection.request(method, self.prefix + path, body=body, headers=self._headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise NotConnected(_reason(exc)) from None
        try:
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()  # whatever comes later on this connection would be the late answer to this request
            raise NoAnswer(_reason(exc)) from None
        return Answer(response.status, response.headers, data)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> http.client.HTTPConnection:
        connection = self._connection
        if connection is not None and connection.sock is not None and not _dropped(connection.sock):
            return connection
        self.close()
        connection = self._new()
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as exc:
            connection.close()
            raise BadCertificate(exc.verify_message or _reason(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise NotConnected(_reason(exc)) from None
        self._connection = connection
        return connection

    def _new(self) -> http.client.HTTPConnection:
        proxy = _proxy(self.scheme, self.host)
        host, port = (proxy.hostname or "", proxy.port or 80) if proxy else (self.host, self.port)
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:  # plain http: only to this machine (api_host_problem), for the tests' local server
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        if proxy:
            headers = None
            if proxy.username:
                credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
                headers = {"Proxy-Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")}
            connection.set_tunnel(self.host, self.port, headers=headers)  # CONNECT: TLS runs end to end
        return connection


def _proxy(scheme: str, host: str) -> SplitResult | None:
    """The proxy the environment names for this scheme and host (urllib's rules), split, or None."""
    url = urllib.request.getproxies().get(scheme)
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return parts if parts.hostname else None


def _dropped(sock) -> bool:
    """True when an idle kept-alive connection has something to read: the server closed it (or spoke unasked)."""
    return readable(sock)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
