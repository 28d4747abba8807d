"""A minimal SMTP sink on loopback that only counts messages (for the SMTP throughput benchmark).

Speaks enough ESMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), reads each message
to its terminating dot and throws it away. Run: python tests/smtp_sink.py [--port N]; it prints the
port, and `STAT` on its standard input prints "<messages> <bytes>".
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


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink that counts messages")
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
