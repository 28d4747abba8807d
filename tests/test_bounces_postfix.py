"""A bounce made by a real mail server: Debian's Postfix (a private instance on loopback) takes a reader's message
for a user it does not have, bounces it to the message's return path (VERP) as Postfix does, into the bounce
Maildir; `mco-newsletter bounces` reads that Maildir and bounces that reader only."""

from __future__ import annotations

import json

import pytest

from test_bounces import status_of
from test_return_path import SEND, with_bounces
from test_send import populate
from test_send_postfix import postfix  # noqa: F401 — a fixture: a private Postfix, newsletter.toml pointed at it


@pytest.mark.stores
def test_postfix_bounces_an_unknown_user_and_bounces_applies_it(run, workspace, postfix):  # noqa: F811
    """Postfix accepts reader1's message, finds no such user, and sends its DSN (5.1.1) to bounces+TOKEN@: read
    from the Maildir it delivered to, reader1 is bounced, the others stay active; a second run finds nothing."""
    addresses = populate(workspace, 3)
    server = postfix(unknown=(addresses[1],), accept_unknown=True, bounces="bounces@example.org")
    mailbox = server.folder / "mail" / "bounces"
    with_bounces(workspace, f'\n[bounces]\naddress = "bounces@example.org"\nmailbox = "maildir:{mailbox}"\n')
    result = run(*SEND)
    assert result.exit_code == 0, result.output
    [notification] = [path.read_bytes() for path in (server.bounce_mailbox() / "new").iterdir()]
    assert b"Content-Type: multipart/report; report-type=delivery-status" in notification
    assert b"Status: 5.1.1" in notification and b"Delivered-To: bounces+" in notification
    counts = json.loads(run("bounces", "--json").stdout)
    assert (counts["read"], counts["hard_bounces"], counts["moved"], counts["kept"]) == (1, 1, 1, 0), counts
    assert [status_of(run, address) for address in addresses] == ["active", "bounced", "active"]
    assert server.delivered() == {addresses[0]: 1, addresses[2]: 1}
    assert json.loads(run("bounces", "--json").stdout)["read"] == 0
