"""A local SendGrid v3 /mail/send server for tests and benchmarks: validates every request, injects faults; and the
batch ids and Scheduled Sends API that `send --at` uses.

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

Scheduling, as Twilio documents it and as its specs type it: POST /v3/mail/batch gives a batch id (201) and GET
/v3/mail/batch/{id} knows it; a /mail/send body's `batch_id` must be one given, and its `send_at` at most 72 hours
ahead. The Scheduled Sends API (tsg_scheduled_sends_v3.json beside the mail spec: every body validated against its
schema) takes POST /v3/user/scheduled_sends {batch_id, status} (201; 400 for a batch that has a status already, or
later than 10 minutes before its send_at), lists with GET, and changes a status with PATCH and DELETE under
/v3/user/scheduled_sends/{batch_id}. `record.batches` holds each batch's send_at and status.

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


HORIZON_SECONDS = 72 * 3600  # send_at at most this far ahead (the mail spec's words)
LAST_CANCEL_SECONDS = 600  # no cancel or pause later than this before send_at (Twilio's docs)


def spec_path() -> Path:
    shared = Path(os.environ.get("MCO_NEWSLETTER_SHARED", REPO.parent / "shared"))
    return Path(os.environ.get(SPEC_ENV, shared / "specs" / "sendgrid" / "tsg_mail_v3.json"))


def compile_scheduled_sends_validators() -> dict:
    """Validators of the Scheduled Sends API's request bodies, by method: compiled from its published spec."""
    import fastjsonschema

    spec = json.loads((spec_path().parent / "tsg_scheduled_sends_v3.json").read_text(encoding="utf-8"))
    paths = spec["paths"]
    found = {}
    for method, path in (("POST", "/v3/user/scheduled_sends"), ("PATCH", "/v3/user/scheduled_sends/{batch_id}")):
        schema = paths[path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        found[method] = fastjsonschema.compile({**schema, "components": spec["components"]})
    return found


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
    # batch id → {"send_at": the send_at its messages carry (None: none yet), "status": None, "pause" or "cancel",
    # "recipients": how many messages it holds}
    batches: dict[str, dict] = field(default_factory=dict)
    scheduled_requests: list[tuple[str, str, dict | None]] = field(default_factory=list)  # (method, path, body)
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
        self.validate_scheduled = compile_scheduled_sends_validators()
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
        if self.path.startswith(("/v3/mail/batch/", "/v3/user/scheduled_sends")):
            return self.scheduling("GET")
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
        if self.path in ("/v3/mail/batch", "/v3/user/scheduled_sends"):
            return self.scheduling("POST")
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
            if body.get("batch_id"):
                batch = server.record.batches[body["batch_id"]]
                batch["send_at"] = body.get("send_at")
                batch["recipients"] += len(body["personalizations"])
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
        if "batch_id" in body and body["batch_id"] not in self.server.record.batches:
            problems.append(f"batch_id {body['batch_id']!r} is not a batch id this account created")
        send_at = body.get("send_at")
        if send_at is not None and send_at > time.time() + HORIZON_SECONDS:
            problems.append("send_at: a send cannot be scheduled more than 72 hours in advance")
        return body, problems

    def do_PATCH(self) -> None:  # noqa: N802 (http.server's naming)
        self.scheduling("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802 (http.server's naming)
        self.scheduling("DELETE")

    def scheduling(self, method: str) -> None:
        """The batch ids and the Scheduled Sends API, each body validated against its spec."""
        import fastjsonschema

        server = self.server
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self.answer(401, {"errors": [{"message": "authorization required", "field": None}]})
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = None
        if method in ("POST", "PATCH") and self.path != "/v3/mail/batch":
            try:
                body = json.loads(raw)
                server.validate_scheduled[method](body)
            except (ValueError, fastjsonschema.JsonSchemaValueException) as exc:
                with server.record.lock:
                    server.record.invalid.append(f"{method} {self.path}: {getattr(exc, 'message', exc)}")
                return self.answer(400, {"errors": [{"message": f"invalid body: {exc}", "field": None}]})
        record = server.record
        with record.lock:
            record.scheduled_requests.append((method, self.path, body))
            batches = record.batches
            if (method, self.path) == ("POST", "/v3/mail/batch"):
                batch_id = uuid.uuid4().hex
                batches[batch_id] = {"send_at": None, "status": None, "recipients": 0}
                return self.answer(201, {"batch_id": batch_id})
            if method == "GET" and self.path.startswith("/v3/mail/batch/"):
                batch_id = self.path.rsplit("/", 1)[1]
                return self.answer(200, {"batch_id": batch_id}) if batch_id in batches else \
                    self.answer(400, {"errors": [{"message": "invalid batch id", "field": None}]})
            if (method, self.path) == ("GET", "/v3/user/scheduled_sends"):
                return self.answer(200, [{"batch_id": b, "status": s["status"]} for b, s in batches.items()
                                         if s["status"]])
            batch_id = body["batch_id"] if method == "POST" else self.path.rsplit("/", 1)[1]
            batch = batches.get(batch_id)
            if batch is None:
                return self.answer(404, {"errors": [{"message": "batch id not found", "field": "batch_id"}]})
            if method == "GET":
                return self.answer(200, [{"batch_id": batch_id, "status": batch["status"]}] if batch["status"] else [])
            if method == "DELETE":
                batch["status"] = None
                return self.answer(204, None)
            if batch["send_at"] is not None and time.time() > batch["send_at"] - LAST_CANCEL_SECONDS:
                return self.answer(400, {"errors": [{"message": "cannot cancel or pause a batch within 10 minutes "
                                                                "of its send_at", "field": None}]})
            if method == "POST" and batch["status"] is not None:
                return self.answer(400, {"errors": [{"message": "batch already has a status", "field": None}]})
            batch["status"] = body["status"]
            return self.answer(201, {"batch_id": batch_id, "status": body["status"]}) if method == "POST" else \
                self.answer(204, None)

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
