"""Whether an idle connection's socket has something to read: the server closed it, or spoke unasked.

The store's PostgreSQL connections and SendGrid's kept-alive HTTPS connection ask this before they are used again.
poll(), not select(): a long-running process (serve, a large send) may hold more than 1024 open files, and select()
takes no descriptor past that; its error read as "closed" made every check say so, and every connection was opened
again before each use.
"""

from __future__ import annotations

import select
from typing import Protocol


class HasFileno(Protocol):
    def fileno(self) -> int: ...


def readable(sock: HasFileno | int) -> bool:
    """True when the socket (an object with fileno(), or a descriptor) has data or an end to read now, or is broken."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed, or no descriptor at all
        return True
