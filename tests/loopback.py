"""The tests' own servers on 127.0.0.1: waiting for one to listen, and HTTP to them with httpx's functions without
the caller's environment (no proxy from HTTP_PROXY, no .netrc) and with one TLS context for the process.

httpx builds a TLS context from certifi's bundle for every top-level call and every Client, even for a plain
http:// address: 36 ms each, for the few hundred requests of the web tests. Each call still gets a fresh client
(no cookies or connections carried from one request to the next), as httpx.get and httpx.post give.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
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


def wait_until_listening(process, port: int, *, name: str, log, seconds: float = 15) -> None:
    """Return once something listens on 127.0.0.1:`port`; RuntimeError with the server's stderr and `log()` when
    `process` ends first or nothing listens within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} did not start: {process.stderr.read().decode()}\n{log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} within {seconds:g} s\n{log()}")


def stop_daemon(process, folder) -> None:
    """Stop a server started under a reaper (SIGTERM: the reaper stops the master and waits for every service; its
    group killed if that takes 20 s) and remove its folder."""
    if process is not None and process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    shutil.rmtree(folder, ignore_errors=True)
