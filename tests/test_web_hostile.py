"""Requests no browser sends, against `serve` on a real uvicorn server: forms of too many fields, bytes that are not
HTTP, a signed webhook batch holding a number Python refuses to read. Each gets a plain answer with the security
headers, never a traceback, and what is valid beside it still applies."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import uvicorn

import loopback
from reader_pages import reader_token, row, site  # noqa: F401
from test_web import readers, server, signed_post, signer, status_of  # noqa: F401

MANY_FIELDS = "&".join(f"f{number}=x" for number in range(101)) + "&email=many%40example.org&action=save"


def assert_secured(headers) -> None:
    """The headers every answer carries (docs/web.md, "Every answer")."""
    assert headers["content-security-policy"].startswith("default-src 'none'"), headers
    assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


@pytest.mark.stores
@pytest.mark.parametrize("page", ["/subscribe", "/subscribe/de", "/p/{token}"])
def test_a_form_of_more_than_100_fields_is_a_400(site, run, caplog, page):
    """More than 100 fields on the sign-up or preferences form: 400 as the review form answers, no traceback, and
    nothing changes."""
    caplog.set_level(logging.INFO)
    assert run("subscribers", "add", "anna@example.org", "--language", "en").exit_code == 0
    path = page.format(token=reader_token(site["settings"], "anna@example.org"))
    answer = loopback.post(site["url"] + path, content=MANY_FIELDS.encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400, answer.text
    assert_secured(answer.headers)
    assert "Traceback" not in caplog.text and "ValueError" not in answer.text + caplog.text
    assert row(site["settings"], "many@example.org") is None


def raw_answer(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are and read the answer until the server closes: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    return int(status_line.split()[1]), {k.strip().lower(): v.strip() for k, v in
                                         (line.split(":", 1) for line in lines)}, body


@pytest.fixture
def serve_process(workspace):
    """`mco-newsletter serve` as the organisation runs it, in a process of its own on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "serve",
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    b"GET /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(32),  # a TLS hello sent to the plain HTTP port
], ids=["request_line", "header_name", "two_lengths", "tls_hello"])
def test_the_servers_own_400_answers_carry_the_security_headers(serve_process, request_bytes):
    """What uvicorn answers itself, before any application sees the request, carries the same headers as every
    other answer of `serve` (checked over a raw socket against the real command)."""
    status, headers, body = raw_answer(serve_process, request_bytes)
    assert status == 400
    assert_secured(headers)
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize("protocol", ["h11", "httptools"])
def test_both_http_parsers_give_their_400s_the_headers(workspace, protocol):
    """Whichever parser uvicorn runs (httptools, or h11 where it is missing), its 400 carries the headers."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.web.app import create_app
    from mco_newsletter.web.server import server_options

    settings = load_settings(workspace)
    instance = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning",
                                             lifespan="off", **server_options(protocol)))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.01)
    try:
        port = instance.servers[0].sockets[0].getsockname()[1]
        status, headers, _ = raw_answer(port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        assert status == 400
        assert_secured(headers)
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.mark.stores
def test_a_huge_number_in_one_event_skips_that_event_only(server, signer, caplog):
    """An event holding an integer of 5,000 digits is counted as invalid and logged; the event beside it applies;
    the answer never carries Python's own words."""
    caplog.set_level(logging.INFO, logger="mco_newsletter.web")
    events = (b'[{"sg_event_id": "ok-1", "event": "spamreport", "email": "anna@example.org"},'
              b' {"sg_event_id": "big-1", "event": "bounce", "email": "bernd@example.org", "timestamp": '
              + b"9" * 5000 + b"}]")
    response = signed_post(server, signer, None, body=events)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 2, "applied": 1, "duplicates": 0, "unknown": 0, "unmatched": 0,
                               "invalid": 1}
    assert status_of(server["settings"], "anna@example.org") == "complained"
    assert status_of(server["settings"], "bernd@example.org") == "active"
    assert any("1 malformed event" in record.getMessage() for record in caplog.records), caplog.text


@pytest.mark.stores
def test_a_list_of_one_huge_number_is_one_invalid_event(server, signer):
    """A signed list whose one item is a 5,000-digit number: read, and that item counted as invalid."""
    response = signed_post(server, signer, None, body=b"[" + b"9" * 5000 + b"]")
    assert response.status_code == 200, response.text
    assert response.json()["received"] == 1 and response.json()["invalid"] == 1


@pytest.mark.parametrize("body", [b"{not json", b'[1e99999999999, "\\ud800"', b"[" + b"9" * 5000],
                         ids=["not_json", "cut_short", "cut_short_huge_number"])
@pytest.mark.stores
def test_a_webhook_body_that_is_not_json_is_refused_in_our_words(server, signer, body):
    """A signed body that cannot be read as a JSON list is a 400 saying so in our words, not Python's."""
    response = signed_post(server, signer, None, body=body)
    assert response.status_code == 400
    assert response.json() == {"error": "not a JSON list of events"}
    assert_secured(response.headers)


def test_a_websocket_upgrade_is_answered_by_the_application(serve_process):
    """`serve` has no WebSocket route: an upgrade request gets the application's own answer, with the headers
    (a WebSocket layer would refuse it with an answer of its own)."""
    status, headers, _ = raw_answer(serve_process, b"GET /subscribe HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                    b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert_secured(headers)
