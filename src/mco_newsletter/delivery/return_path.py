"""Addresses at the bounce mailbox ([bounces] address): each message's return path, and the mailto unsubscribe.

With `address = "bounces@example.org"`, the message to each reader goes out over SMTP with the envelope sender
(MAIL FROM) `bounces+TOKEN@example.org` (VERP): a bounce comes back to that address, and TOKEN names the ledger
row the message was sent for. TOKEN is a v3 token (subscribers/tokens.py) of the RETURN_PATH purpose: the row
id encrypted, with a MAC over it and the address the message went to, so a bounce can neither be read for a
reader's id nor forged for another reader (nor reach a reader who has since changed their address). The
mailto unsubscribe address is `bounces+u-TOKEN@example.org`, TOKEN being the reader's link token.

Mail systems may fold a local part's case: the tokens are lower-case base32, and addresses are read in lower
case. A local part holds at most 64 characters: the mailbox's own, the delimiter, `u-` and 40.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from ..email_addresses import address_key
from ..subscribers.tokens import RETURN_PATH, TOKEN_LENGTH, read_token, seal, sealed_genuine, unseal

DELIVERY, UNSUBSCRIBE = "delivery", "unsubscribe"
UNSUBSCRIBE_MARK = "u-"
DELIMITERS = ("+", "-")
MAX_LOCAL = 64 - len(UNSUBSCRIBE_MARK) - TOKEN_LENGTH - 1  # the mailbox's own part, with a one-character delimiter


def unsubscribe_address(address: str, delimiter: str, token: str) -> str:
    """The mailto unsubscribe address at the bounce mailbox `address` of the reader whose link token this is."""
    local, _, domain = address.rpartition("@")
    return f"{local}{delimiter}{UNSUBSCRIBE_MARK}{token}@{domain}"


class Addressed(NamedTuple):
    """What an address at the bounce mailbox names: a delivery (a bounce) or a reader (an unsubscribe request)."""

    kind: str
    token: str


@dataclass(frozen=True)
class ReturnPaths:
    """The addresses of one bounce mailbox, made and read under the tool's secret."""

    secret: bytes
    address: str  # the mailbox itself, e.g. bounces@example.org
    delimiter: str = "+"

    @property
    def local(self) -> str:
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @cached_property
    def _around(self) -> tuple[str, str]:
        # Made once: a send asks for a return path per message.
        return f"{self.local}{self.delimiter}", f"@{self.domain}"

    def for_delivery(self, row_id: int, email: str) -> str:
        """The return path of the message of ledger row `row_id`, sent to `email`."""
        before, after = self._around
        return before + seal(self.secret, RETURN_PATH, row_id, address_key(email).encode("utf-8")) + after

    def unsubscribe_address(self, token: str) -> str:
        """The mailto unsubscribe address of the reader whose link token this is."""
        return unsubscribe_address(self.address, self.delimiter, token)

    def read(self, address: str) -> Addressed | None:
        """What an address names, when it is one of this mailbox's addresses with a token; None otherwise."""
        local, _, domain = address.strip().strip("<>").rpartition("@")
        mailbox = self.local.lower() + self.delimiter
        local = local.lower()
        if domain.lower() != self.domain.lower() or not local.startswith(mailbox):
            return None
        token = local[len(mailbox) :]
        if token.startswith(UNSUBSCRIBE_MARK):
            return Addressed(UNSUBSCRIBE, token[len(UNSUBSCRIBE_MARK) :])
        return Addressed(DELIVERY, token) if len(token) == TOKEN_LENGTH else None

    def delivery(self, token: str, *, email_of: Callable[[int], str | None]) -> int | None:
        """The ledger row a return-path token names, when it is genuine and its reader's address (`email_of(row)`,
        None for no such row) is still the one the message went to; None otherwise."""
        sealed = unseal(self.secret, token, RETURN_PATH)
        if sealed is None:
            return None
        row_id, block, mac = sealed
        email = email_of(row_id)
        genuine = sealed_genuine(self.secret, block, mac, address_key(email or "").encode("utf-8"))
        return row_id if genuine and email is not None else None

    def reader(self, token: str, *, nonce_of: Callable[[int], bytes | None]) -> int | None:
        """The subscriber a mailto unsubscribe token names (a reader's link token), or None."""
        return read_token(self.secret, token, nonce_of=nonce_of)
