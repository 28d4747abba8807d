"""HTTP from the tests to their own servers on 127.0.0.1: httpx's functions without the caller's environment
(no proxy from HTTP_PROXY, no .netrc) and with one TLS context for the process.

httpx builds a TLS context from certifi's bundle for every top-level call and every Client, even for a plain
http:// address: 36 ms each, for the few hundred requests of the web tests. Each call still gets a fresh client
(no cookies or connections carried from one request to the next), as httpx.get and httpx.post give.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, verify=_tls(), trust_env=False, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, verify=_tls(), trust_env=False, **kwargs)


def head(url: str, **kwargs) -> httpx.Response:
    return httpx.head(url, verify=_tls(), trust_env=False, **kwargs)


def Client(**kwargs) -> httpx.Client:  # noqa: N802 — httpx's name, so a call reads the same
    return httpx.Client(verify=_tls(), trust_env=False, **kwargs)
