"""A local SendGrid v3 /mail/send server for tests and benchmarks: validates every request, injects faults.

Every body is validated against Twilio's published OpenAPI spec (tsg_mail_v3.json, found through
MCO_NEWSLETTER_SENDGRID_SPEC, default ../shared/specs/sendgrid/tsg_mail_v3.json beside the repository),
plus what the spec does not say: at most 1,000 personalizations and 1,000 recipients, no address twice
in one request, a body under 30 MB. Accepted requests get 202 and an X-Message-Id. Faults (429 with
rate-limit headers, 500/502/503, slow answers, dropped connections, a 302 redirect to a page that
answers GET with 200 as a captive portal does) are injected at a given rate, before acceptance, so
such a request delivered nothing. One fault comes after acceptance: `slow_accept` records the
request as accepted, then answers only after `slow_accept_seconds` (a client with a shorter timeout
never hears that it was accepted). `close_after_answer` closes each connection right after its answer,
as a server does with idle kept-alive connections; `record.connections` counts the connections opened.

Run as a script for benchmarks: python tests/sendgrid_server.py [--port N] (prints the port).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC_ENV = "MCO_NEWSLETTER_SENDGRID_SPEC"
MAX_BODY = 30 * 1024 * 1024
API_KEY = "SG.test-key-for-the-local-server"


def spec_path() -> Path:
    shared = Path(os.environ.get("MCO_NEWSLETTER_SHARED", REPO.parent / "shared"))
    return Path(os.environ.get(SPEC_ENV, shared / "specs" / "sendgrid" / "tsg_mail_v3.json"))


def compile_validator():
    """A validator of /v3/mail/send bodies, compiled from the published spec."""
    import fastjsonschema

    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    components = json.loads(json.dumps(spec["components"]))
    schema = components["requestBodies"]["PostMailSend"]["content"]["application/json"]["schema"]
    # The spec types the top-level custom_args as a string; the API takes an object of strings.
    schema["properties"]["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}
    return fastjsonschema.compile({"$ref": "#/components/requestBodies/PostMailSend/content/application~1json/schema",
                                   "components": components})


@dataclass
class Faults:
    """Fault rates (0..1) and the slow answer's delay."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    redirect: float = 0.0
    slow_accept: float = 0.0
    slow_seconds: float = 0.2
    slow_accept_seconds: float = 1.0
    reset_seconds: float = 0.05
    seed: int = 1

    def total(self) -> float:
        return self.rate_limit + self.server_error + self.slow + self.drop + self.redirect + self.slow_accept


@dataclass
class Record:
    """What the server accepted and refused."""

    accepted: list[dict] = field(default_factory=list)
    requests: int = 0
    connections: int = 0
    accepted_requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def recipients(self) -> list[str]:
        with self.lock:
            return [p["to"][0]["email"] for p in self.accepted]


class SendGridServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, faults: Faults | None = None, keep_bodies: bool = False,
                 keep_personalizations: bool = True):
        super().__init__(("127.0.0.1", port), Handler)
        self.validate = compile_validator()
        self.faults = faults or Faults()
        self.random = random.Random(self.faults.seed)
        self.random_lock = threading.Lock()
        self.record = Record()
        self.keep_bodies = keep_bodies
        self.keep_personalizations = keep_personalizations
        self.close_after_answer = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def draw_fault(self) -> str | None:
        faults = self.faults
        with self.random_lock:
            roll = self.random.random()
        for name in ("rate_limit", "server_error", "slow", "drop", "redirect", "slow_accept"):
            rate = getattr(faults, name)
            if roll < rate:
                return name
            roll -= rate
        return None

    def start(self) -> "SendGridServer":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class Handler(BaseHTTPRequestHandler):
    server: SendGridServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: tests read the record, not a log
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.record.lock:
            self.server.record.connections += 1

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """GET /stats: what the server saw (for benchmarks running it in another process); GET /portal:
        the page a redirect leads to, answered 200 like a captive portal's."""
        if self.path == "/portal":
            return self.answer(200, {"page": "Welcome! Accept the terms to use this network."})
        record = self.server.record
        with record.lock:
            stats = {"requests": record.requests, "accepted_requests": record.accepted_requests,
                     "accepted_recipients": len(record.accepted),
                     "distinct_recipients": len({p["to"][0]["email"] for p in record.accepted}),
                     "invalid": len(record.invalid),
                     "faults": record.faults}
        self.answer(200 if self.path == "/stats" else 404, stats)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        server = self.server
        with server.record.lock:
            server.record.requests += 1
        if self.path.rstrip("/") != "/v3/mail/send":
            return self.answer(404, {"errors": [{"message": "not found", "field": None}]})
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.answer(401, {"errors": [{"message": "The provided authorization grant is invalid, expired, "
                                                            "or revoked", "field": None, "help": None}]})
        length = int(self.headers.get("Content-Length") or 0)
        if length >= MAX_BODY:
            self.close_connection = True
            return self.answer(413, {"errors": [{"message": "request body too large", "field": None}]})
        raw = self.rfile.read(length)
        fault = server.draw_fault()
        if fault:
            with server.record.lock:
                server.record.faults[fault] = server.record.faults.get(fault, 0) + 1
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            if fault == "rate_limit":
                reset = time.time() + server.faults.reset_seconds
                return self.answer(429, {"errors": [{"message": "too many requests", "field": None}]},
                                   {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Reset": f"{reset:.3f}"})
            if fault == "server_error":
                with server.random_lock:
                    status = server.random.choice([500, 502, 503])
                return self.answer(status, {"errors": [{"message": "internal error", "field": None}]})
            if fault == "redirect":
                return self.answer(302, None, {"Location": "/portal"})
            if fault == "slow":
                time.sleep(server.faults.slow_seconds)
        body, problems = self.check(raw)
        if problems:
            with server.record.lock:
                server.record.invalid.extend(problems)
            return self.answer(400, {"errors": [{"message": p, "field": None, "help": None} for p in problems]})
        with server.record.lock:
            server.record.accepted_requests += 1
            if server.keep_personalizations:
                server.record.accepted.extend(body["personalizations"])
            else:
                server.record.accepted.extend({"to": p["to"]} for p in body["personalizations"])
            if server.keep_bodies:
                server.record.bodies.append(raw)
        if fault == "slow_accept":
            time.sleep(server.faults.slow_accept_seconds)  # accepted: the answer is merely late
        self.answer(202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

    def check(self, raw: bytes) -> tuple[dict | None, list[str]]:
        """The parsed body and every problem with it (none when valid)."""
        import fastjsonschema

        try:
            body = json.loads(raw)
        except ValueError as exc:
            return None, [f"invalid JSON: {exc}"]
        try:
            self.server.validate(body)
        except fastjsonschema.JsonSchemaValueException as exc:
            return body, [f"schema: {exc.message} ({exc.name})"]
        problems = []
        personalizations = body["personalizations"]
        if len(personalizations) > 1000:
            problems.append(f"{len(personalizations)} personalizations (at most 1000)")
        addresses = [r["email"].lower() for p in personalizations for kind in ("to", "cc", "bcc")
                     for r in p.get(kind, [])]
        if len(addresses) > 1000:
            problems.append(f"{len(addresses)} recipients (at most 1000)")
        if len(set(addresses)) != len(addresses):
            problems.append("an address appears twice in one request")
        return body, problems

    def answer(self, status: int, body: dict | None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if data:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)
        if self.server.close_after_answer:  # no "Connection: close": the client finds out by itself
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SendGrid /v3/mail/send server")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = SendGridServer(args.port, keep_personalizations=False)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
