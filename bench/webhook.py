"""Webhook figures: SendGrid events per second through `serve`'s /webhooks/sendgrid over loopback.

Run from the repository: python bench/webhook.py [--batches 50]
`serve` runs in its own process on a workspace of 20,000 subscribers; the client signs batches of
1,000 events (delivered, bounce, open, spamreport, unknown kinds, some repeated) with a test P-256
key, posts them one after another, then checks that every event was recorded exactly once.
Target (issue 6): at least 5,000 events/s, nothing lost. It also times the signature check alone
(pure-Python ECDSA, delivery/webhook_signature.py) on one batch, in this process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from send import make_workspace  # noqa: E402

KINDS = ["delivered"] * 6 + ["open", "processed", "bounce", "spamreport", "unsubscribe", "something_new"]


def main() -> None:
    import httpx
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    folder = Path(tempfile.mkdtemp(prefix="mco-webhook-bench-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = None
    try:
        root = make_workspace(folder, 20_000)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SENDGRID_WEBHOOK_PUBLIC_KEY": public}
        server = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "serve",
                                   "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/webhooks/sendgrid"
        rng = random.Random(1)
        batches, unique = [], set()
        for number in range(args.batches):
            events = []
            for index in range(1000):
                event_id = f"ev-{number}-{index}"
                if number and rng.random() < 0.02:  # SendGrid retries: some events arrive twice
                    event_id = f"ev-{number - 1}-{index}"
                unique.add(event_id)
                events.append({"sg_event_id": event_id, "event": rng.choice(KINDS),
                               "email": f"reader{rng.randrange(20_000)}@example.org", "timestamp": int(time.time())})
            batches.append(json.dumps(events).encode())
        with httpx.Client() as client:
            for _ in range(200):
                try:
                    client.get(f"http://127.0.0.1:{port}/")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            start = time.perf_counter()
            for body in batches:
                stamp = str(int(time.time()))
                signature = base64.b64encode(private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
                response = client.post(url, content=body, headers={
                    "X-Twilio-Email-Event-Webhook-Signature": signature,
                    "X-Twilio-Email-Event-Webhook-Timestamp": stamp, "Content-Type": "application/json"})
                response.raise_for_status()
            elapsed = time.perf_counter() - start
        total = len(batches) * 1000
        with sqlite3.connect(root / "private" / "subscribers.sqlite3") as db:
            recorded = db.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
        check = verification_seconds(public, private, batches[0])
        print(f"signature check of one batch of 1,000 events ({len(batches[0]) / 1024:.0f} KiB): {check * 1000:.1f} ms "
              f"(median of 30) → {1000 / check:,.0f} events/s for the checks alone")
        print(f"{total:,} events in {len(batches)} signed batches of 1,000: {elapsed:.2f} s = {total / elapsed:,.0f} "
              f"events/s (target 5,000/s → {total / elapsed / 5000:.1f}× of target); {recorded:,} distinct events "
              f"recorded of {len(unique):,} sent ({'nothing lost' if recorded == len(unique) else 'LOST EVENTS'})")
    finally:
        if server:
            server.terminate()
            server.wait()
        shutil.rmtree(folder)


def verification_seconds(public: str, private, body: bytes) -> float:
    """The median time of verify() on one signed batch."""
    import statistics

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from mco_newsletter.delivery.webhook_signature import load_public_key, verify

    key = load_public_key(public)
    stamp = str(int(time.time()))
    signature = base64.b64encode(private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        assert verify(key, body, signature, stamp)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
