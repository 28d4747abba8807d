"""SMTP servers on loopback: a minimal sink that only counts (for the throughput benchmark and the
protocol tests), and a recording aiosmtpd server for the tests, with per-recipient answers.

The sink speaks enough ESMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), offers
PIPELINING (unless --no-pipelining), reads each message to its terminating dot and throws it away. It
answers everything that has arrived in one write, as Postfix does (--reply-each: one write per reply,
as aiosmtpd does), and counts those writes (`rounds`: each is a wait
for the client) and the commands that came before the answer to the one before them (`early`: a
pipelining client; the body after 354 does not count). Run: python tests/smtp_sink.py [--port N]
[--no-pipelining] [--reply-each]; it prints the port, and `STAT` on its standard input prints what it counted since
the last STAT: "<messages> <bytes> <CPU seconds> <seconds from the first message to the last> <rounds>
<early>". CountingSink runs it from Python.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

COUNT = {"messages": 0, "bytes": 0, "first": 0.0, "last": 0.0, "rounds": 0, "early": 0}
EHLO = [b"250-sink", b"250-PIPELINING", b"250-8BITMIME", b"250-SIZE 52428800", b"250 SMTPUTF8"]


class SinkProtocol(asyncio.Protocol):
    pipelining = True
    reply_each = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = bytearray()
        self.in_data = False
        self.replies: list[bytes] = []
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._take()
        self._flush()

    def _flush(self) -> None:
        if self.replies:
            COUNT["rounds"] += 1
            self.transport.write(b"".join(self.replies))
            self.replies.clear()

    def _take(self) -> None:
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    # Keep only what may hold the start of the terminator.
                    if len(self.buffer) > 8:
                        COUNT["bytes"] += len(self.buffer) - 4
                        del self.buffer[:-4]
                    return
                COUNT["bytes"] += end
                if not COUNT["messages"]:
                    COUNT["first"] = time.monotonic()
                COUNT["messages"] += 1
                COUNT["last"] = time.monotonic()
                del self.buffer[:end + 5]
                self.in_data = False
                self.replies.append(b"250 2.0.0 queued\r\n")
                COUNT["early"] += b"\n" in self.buffer
                if self.reply_each:
                    self._flush()
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end]).upper()
            del self.buffer[:end + 2]
            self.command(line)
            if not self.in_data:
                COUNT["early"] += b"\n" in self.buffer
            if self.reply_each:
                self._flush()

    def command(self, line: bytes) -> None:
        verb = line[:4]
        if verb == b"EHLO":
            lines = EHLO if self.pipelining else [line for line in EHLO if b"PIPELINING" not in line]
            self.replies.append(b"\r\n".join(lines) + b"\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.replies.append(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"".join(self.replies) + b"221 bye\r\n")
            self.replies.clear()
            self.transport.close()
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.replies.append(b"250 OK\r\n")
        else:
            self.replies.append(b"502 not implemented\r\n")


async def serve(port: int, pipelining: bool, reply_each: bool) -> None:
    SinkProtocol.pipelining, SinkProtocol.reply_each = pipelining, reply_each
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    cpu = time.process_time()
    while line := await reader.readline():
        if line.strip() == b"STAT":
            print(COUNT["messages"], COUNT["bytes"], time.process_time() - cpu, COUNT["last"] - COUNT["first"],
                  COUNT["rounds"], COUNT["early"], flush=True)
            COUNT.update(messages=0, bytes=0, first=0.0, last=0.0, rounds=0, early=0)
            cpu = time.process_time()
    server.close()


class CountingSink:
    """The sink in its own process; `take()` returns what it counted since the last call."""

    def __init__(self, *, pipelining: bool = True, reply_each: bool = False):
        options = ([] if pipelining else ["--no-pipelining"]) + (["--reply-each"] if reply_each else [])
        self.process = subprocess.Popen([sys.executable, str(Path(__file__)), *options], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def take(self) -> dict:
        self.process.stdin.write("STAT\n")
        self.process.stdin.flush()
        messages, size, cpu, span, rounds, early = self.process.stdout.readline().split()
        return {"messages": int(messages), "bytes": int(size), "cpu": float(cpu), "span": float(span),
                "rounds": int(rounds), "early": int(early)}

    def close(self) -> None:
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait()


class Recording:
    """An aiosmtpd handler that keeps every message with its arrival time, and answers as told: `refuse`
    addresses get 550 to RCPT, `defer` addresses 452 for their first N attempts, `reject_data` addresses
    a (reply, N) get that reply to the end of their message's data for their first N attempts; at a `drop` address ("rcpt" or "data": after taking
    the message) the first attempt's connection is cut without an answer. With `pipelining` the server
    offers PIPELINING (aiosmtpd reads pipelined commands one by one, as RFC 2920 allows)."""

    def __init__(self, *, refuse=(), defer=None, reject_data=None, drop=None, data_delay: float = 0.0,
                 pipelining: bool = False):
        import threading
        from collections import Counter

        self.refuse = set(refuse)
        self.defer = dict(defer or {})
        self.reject_data = dict(reject_data or {})
        self.drop = dict(drop or {})
        self.data_delay = data_delay
        self.pipelining = pipelining
        self.attempts: Counter[str] = Counter()
        self.messages: list[tuple[float, str, bytes]] = []  # (monotonic time, recipient, content)
        self.senders: list[tuple[str, str]] = []  # (recipient, the envelope's MAIL FROM) of each message taken
        self.lock = threading.Lock()
        self.held = False  # while True, every end of data waits for its answer (a sender held mid-send)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's naming)
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's naming)
        with self.lock:
            self.attempts[address] += 1
            attempt = self.attempts[address]
        if attempt == 1 and self.drop.get(address) == "rcpt":
            server.transport.abort()
            return "250 OK"  # never arrives
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        if attempt <= self.defer.get(address, 0):
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        import time

        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        while self.held:
            await asyncio.sleep(0.01)
        with self.lock:
            rejected = [reply for rcpt in envelope.rcpt_tos for reply, times in [self.reject_data.get(rcpt, ("", 0))]
                        if self.attempts[rcpt] <= times]
        if rejected:
            return rejected[0]
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((time.monotonic(), rcpt, envelope.content))
                self.senders.append((rcpt, envelope.mail_from))
            dropped = any(self.drop.get(rcpt) == "data" and self.attempts[rcpt] == 1 for rcpt in envelope.rcpt_tos)
        if dropped:  # taken, but the answer never leaves
            server.transport.abort()
        return "250 OK"

    def recipients(self) -> list[str]:
        with self.lock:
            return [rcpt for _, rcpt, _ in self.messages]


def start_recording(handler: Recording, *, login: tuple[bytes, bytes] | None = None, smtputf8: bool = True):
    """A running aiosmtpd controller on a free loopback port; `login` requires AUTH with that pair."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == login
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

    with socket.socket() as probe:  # aiosmtpd's controller cannot start on port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {"authenticator": authenticate, "auth_require_tls": False} if login else {}
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8, **options)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink that counts messages")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-pipelining", dest="pipelining", action="store_false")
    parser.add_argument("--reply-each", action="store_true")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.pipelining, args.reply_each))


if __name__ == "__main__":
    main()
