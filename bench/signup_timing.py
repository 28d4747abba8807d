"""The sign-up form as a timing oracle: how well the time of its answer tells an active reader's address from
any other (issue 22).

Run from the repository: python bench/signup_timing.py [--addresses 100] [--probes 15] [--gap-ms 0] [--src DIR]
It starts `mco-newsletter serve` (the code in --src, by default this checkout's src/) in a fresh copy of the
repository's workspace, on loopback, with --addresses addresses in each state: active, pending (signed up
through the server first), unsubscribed, unknown, erased. Then it probes every address --probes times, all
probes in one shuffled order, one request at a time over a keep-alive connection, --gap-ms apart: an adversary
on the same network who asks as often as the per-client limit lets them (the limit is off here).

It prints each state's answer times (median, p90, p99) and the accuracy of three classifiers telling active
from not active, each a threshold fitted on half of the addresses and tested on the other half (and the
other way round): on one probe's time; on the median of an address's probes; and on the time of the probe
that came just after one of the address (what work done after the answer could still tell). Accuracy is
balanced (the mean of the two classes' hit rates): 50 % is chance, and "noise" is two standard errors of it
at the test sets' size.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from send import copy_workspace  # noqa: E402  (bench/send.py: the repository's workspace, copied)

STATES = ("active", "pending", "unsubscribed", "unknown", "erased")
SETUP = """
import sys
from pathlib import Path
from mco_newsletter.config import load_settings
from mco_newsletter.delivery.forgetting import DeliveryForgetter
from mco_newsletter.subscribers.erasure import erase_person
from mco_newsletter.subscribers.store import open_store

settings = load_settings(Path(sys.argv[1]))
store = open_store(settings.store)
with store.transaction():
    for state, email in (line.split() for line in sys.stdin.read().splitlines()):
        if state in ("active", "unsubscribed", "erased"):
            number = store.add(email=email, name=None, language="en", tags=(), consent_source="bench")
            if state == "unsubscribed":
                store.set_status(number, "unsubscribed")
erased = [line.split()[1] for line in open(sys.argv[2]).read().splitlines()]
for email in erased:
    erase_person(store, settings, email, forgetters=(DeliveryForgetter(settings),))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(email: str) -> bytes:
    body = f"email={email.replace('@', '%40')}&language=de&name=&website=".encode()
    return (f"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def ask(connection: socket.socket, email: str) -> float:
    """One sign-up over the connection; seconds from the first byte sent to the last byte of the answer."""
    data = request(email)
    started = time.perf_counter()
    connection.sendall(data)
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += connection.recv(65536)
    elapsed = time.perf_counter() - started
    assert head.startswith(b"HTTP/1.1 200"), head
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def balanced_accuracy(scores: dict[str, list[float]], active: set[str], train: set[str], test: set[str]) -> float:
    """Fit a threshold (and its side) on the train addresses' scores, return its balanced accuracy on test."""
    def accuracy(threshold: float, side: int, addresses: set[str]) -> float:
        hits = {True: [0, 0], False: [0, 0]}
        for address in addresses:
            for score in scores[address]:
                said = (score < threshold) if side > 0 else (score >= threshold)
                hits[address in active][0] += said == (address in active)
                hits[address in active][1] += 1
        return (hits[True][0] / hits[True][1] + hits[False][0] / hits[False][1]) / 2

    candidates = sorted({score for address in train for score in scores[address]})
    step = max(1, len(candidates) // 400)
    best = max(((accuracy(threshold, side, train), threshold, side)
                for threshold in candidates[::step] for side in (1, -1)))
    return accuracy(best[1], best[2], test)


def classify(name: str, scores: dict[str, list[float]], active: set[str], rng: random.Random) -> str:
    """Two-fold: fit on one half of the addresses (each class split in two), test on the other, and back."""
    halves: list[set[str]] = [set(), set()]
    for group in (sorted(active), sorted(set(scores) - active)):
        shuffled = group[:]
        rng.shuffle(shuffled)
        halves[0].update(shuffled[::2])
        halves[1].update(shuffled[1::2])
    accuracies = [balanced_accuracy(scores, active, halves[a], halves[1 - a]) for a in (0, 1)]
    positives = sum(len(scores[address]) for address in active) / 2
    negatives = sum(len(values) for address, values in scores.items() if address not in active) / 2
    noise = 2 * 0.5 * (0.25 / positives + 0.25 / negatives) ** 0.5
    accuracy = statistics.mean(accuracies)
    verdict = "within noise of chance" if abs(accuracy - 0.5) <= noise else "TELLS THEM APART"
    return (f"  {name:<38} {accuracy * 100:5.1f} % (folds {accuracies[0] * 100:.1f}, {accuracies[1] * 100:.1f}; "
            f"noise ±{noise * 100:.1f} points) → {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100, help="addresses per state")
    parser.add_argument("--probes", type=int, default=15, help="probes per address")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="pause between probes")
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the code `serve` runs")
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · serve from {args.src}")
    folder = Path(tempfile.mkdtemp(prefix="mco-timing-bench-"))
    root = copy_workspace(folder)
    with (root / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nclient_limit = 0\n")
    addresses = {f"{state}{number}@example.org": state for state in STATES for number in range(args.addresses)}
    env = {**os.environ, "PYTHONPATH": str(args.src.resolve())}
    erased = folder / "erased.txt"
    erased.write_text("".join(f"{state} {email}\n" for email, state in addresses.items() if state == "erased"))
    subprocess.run([sys.executable, "-c", SETUP, str(root), str(erased)], env=env, check=True, text=True,
                   input="".join(f"{state} {email}\n" for email, state in addresses.items()))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                time.sleep(0.05)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for email, state in addresses.items():
            if state == "pending":
                ask(connection, email)
        time.sleep(2)  # their emails written, the server quiet again
        for _ in range(50):  # warm up: the first answers of a fresh process are slower for everyone
            ask(connection, "warm-up@example.org")
        order = [email for email in addresses for _ in range(args.probes)]
        rng.shuffle(order)
        times: list[tuple[str, float]] = []
        started = time.perf_counter()
        for email in order:
            times.append((email, ask(connection, email)))
            if args.gap_ms:
                time.sleep(args.gap_ms / 1000)
        seconds = time.perf_counter() - started
        connection.close()
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    print(f"{len(order):,} probes ({args.addresses} addresses × {len(STATES)} states × {args.probes}) in "
          f"{seconds:.1f} s, {args.gap_ms:g} ms apart")
    print(f"  {'state':<14}{'median':>9}{'p90':>9}{'p99':>9}  (ms)")
    for state in STATES:
        values = [seconds * 1000 for email, seconds in times if addresses[email] == state]
        print(f"  {state:<14}{statistics.median(values):9.2f}{percentile(values, 0.9):9.2f}"
              f"{percentile(values, 0.99):9.2f}")
    active = {email for email, state in addresses.items() if state == "active"}
    one: dict[str, list[float]] = {email: [] for email in addresses}
    following: dict[str, list[float]] = {email: [] for email in addresses}
    for (email, seconds), (_, after) in zip(times, times[1:] + [(None, None)]):
        one[email].append(seconds)
        if after is not None:
            following[email].append(after)
    print("active told from not active by:")
    print(classify("one probe's time", one, active, rng))
    print(classify(f"the median of {args.probes} probes", {email: [statistics.median(values)]
                                                             for email, values in one.items()}, active, rng))
    print(classify("the time of the probe after one", following, active, rng))


if __name__ == "__main__":
    main()
