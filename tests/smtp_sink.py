"""SMTP servers on loopback: a minimal sink that only counts (for the throughput benchmark), and a
recording aiosmtpd server for the tests, with per-recipient answers.

The sink speaks enough ESMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), reads each
message to its terminating dot and throws it away. Run: python tests/smtp_sink.py [--port N]; it
prints the port, and `STAT` on its standard input prints "<messages> <bytes>".
"""

from __future__ import annotations

import argparse
import asyncio
import sys

COUNT = {"messages": 0, "bytes": 0}


class SinkProtocol(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = bytearray()
        self.in_data = False
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
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
                COUNT["messages"] += 1
                del self.buffer[:end + 5]
                self.in_data = False
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(self.buffer[:end]).upper()
            del self.buffer[:end + 2]
            self.command(line)

    def command(self, line: bytes) -> None:
        verb = line[:4]
        if verb == b"EHLO":
            self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250 SMTPUTF8\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            self.transport.write(b"250 OK\r\n")
        else:
            self.transport.write(b"502 not implemented\r\n")


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(SinkProtocol, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if line.strip() == b"STAT":
            print(COUNT["messages"], COUNT["bytes"], flush=True)
    server.close()


class Recording:
    """An aiosmtpd handler that keeps every message with its arrival time, and answers RCPT as told:
    `refuse` addresses get 550, `defer` addresses get 452 for their first N attempts."""

    def __init__(self, *, refuse=(), defer=None, data_delay: float = 0.0):
        import threading
        from collections import Counter

        self.refuse = set(refuse)
        self.defer = dict(defer or {})
        self.data_delay = data_delay
        self.attempts: Counter[str] = Counter()
        self.messages: list[tuple[float, str, bytes]] = []  # (monotonic time, recipient, content)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's naming)
        with self.lock:
            self.attempts[address] += 1
            attempt = self.attempts[address]
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
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((time.monotonic(), rcpt, envelope.content))
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
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
