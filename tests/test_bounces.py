"""`mco-newsletter bounces` on a real Maildir and mbox: the RFCs' own DSN and ARF examples sent back to the return
paths of a real send, applied with the webhook's rules; forged ones, a second run, unreadable mail, mailto
unsubscribe requests, --dry-run and --json."""

from __future__ import annotations

import base64
import json
import mailbox
import re
import shutil

import pytest
from stores import db_rows, db_run

from bounce_mail import (RFC3464_DELAYED, RFC3464_MULTI, RFC3464_SIMPLE, RFC5965_COMPLETE, RFC5965_SIMPLE, arf,
                         deliver, dsn, headers_of)
from smtp_sink import Recording, start_recording
from test_return_path import SEND, with_bounces
from test_send import populate
from test_send_postfix import set_smtp
from test_send_smtp import serving

MAILBOX = "bounces@example.org"


@pytest.fixture
def sent(run, workspace):
    """Four readers sent 2024-05 over SMTP with [bounces] (a Maildir under private/): each reader's return path and
    message, by address."""
    addresses = populate(workspace, 4)
    with_bounces(workspace, f'\n[bounces]\naddress = "{MAILBOX}"\nmailbox = "maildir:private/bounces"\n')
    (workspace / "private").mkdir(mode=0o700, exist_ok=True)  # a PostgreSQL store makes no file there
    (workspace / "private" / "bounces").mkdir()
    for part in ("tmp", "new", "cur"):
        (workspace / "private" / "bounces" / part).mkdir()
    handler = Recording(pipelining=True)
    with serving(handler, workspace):
        assert run(*SEND).exit_code == 0
    paths = dict(handler.senders)
    messages = {rcpt: content for _, rcpt, content in handler.messages}
    return {address: (paths[address], messages[address]) for address in addresses}


def maildir(workspace):
    return workspace / "private" / "bounces"


def status_of(run, address: str) -> str:
    return json.loads(run("subscribers", "show", address, "--json").stdout)["status"]


def bounces(run, *args):
    result = run("bounces", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def provider_events(settings) -> dict[str, str]:
    return dict(db_rows(settings, "SELECT s.email, d.provider_event FROM deliveries d JOIN subscribers s"
                                  " ON s.id = d.subscriber_id WHERE d.provider_event IS NOT NULL"))


@pytest.mark.stores
def test_rfc3464_examples_bounce_soft_bounce_and_delay(run, workspace, settings, sent):
    """E.2 (failed, 550) bounces its reader; E.1 (failed after five days of 4xx) is a soft bounce that changes
    nothing yet; E.4 (delayed) changes nothing about its reader (its row notes the delay, for `report`); a 5.7.1
    refusal of the message is a block, not a bounce."""
    (hard, (hard_path, hard_message)), (soft, (soft_path, _)), (late, (late_path, _)), (blocked, (block_path, _)) = \
        sent.items()
    deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path=hard_path, reader=hard,
                                    original=headers_of(hard_message)))
    deliver(maildir(workspace), dsn(RFC3464_SIMPLE, return_path=soft_path, reader=soft))
    deliver(maildir(workspace), dsn(RFC3464_DELAYED, return_path=late_path, reader=late))
    deliver(maildir(workspace), dsn(RFC3464_SIMPLE, return_path=block_path, reader=blocked, status="5.7.1",
                                    diagnostic="550 5.7.1 Message rejected as spam by Content Filtering"))
    counts = bounces(run)
    assert (counts["read"], counts["hard_bounces"], counts["soft_bounces"], counts["delays"], counts["blocks"]) == \
           (4, 1, 1, 1, 1)
    assert counts["kept"] == 0 and counts["moved"] == 4
    assert [status_of(run, address) for address in (hard, soft, late, blocked)] == \
           ["bounced", "active", "active", "active"]
    assert provider_events(settings) == {hard: "bounce", soft: "soft_bounce", late: "deferred", blocked: "blocked"}
    assert not list((maildir(workspace) / "new").iterdir())
    assert len(list((maildir(workspace) / ".processed" / "cur").iterdir())) == 4


@pytest.mark.stores
def test_three_soft_bounces_in_a_row_bounce_a_reader(run, workspace, settings, sent):
    """A reader whose last three messages all soft-bounced is marked bounced; one whose middle message arrived
    stays active."""
    first, second = list(sent)[:2]
    paths = {first: [sent[first][0]], second: [sent[second][0]]}
    for name in ("again1", "again2"):  # two more campaigns of the same issue: a message each
        (workspace / "newsletter.toml").write_text((workspace / "newsletter.toml").read_text().replace(
            "[sending]", f'[segments.{name}]\ndescription = "everyone"\n\n[sending]'))
        handler = Recording(pipelining=True)
        controller = start_recording(handler)
        try:
            set_smtp(workspace, port=controller.port)
            result = run("send", "2024-05", "--segment", name, "-b", "smtp", "--yes", "--again")
        finally:
            controller.stop()
        assert result.exit_code == 0, result.output
        for reader, path in handler.senders:
            paths.get(reader, []).append(path)
    for reader, soft in ((first, (0, 1, 2)), (second, (0, 2))):
        for number in soft:
            deliver(maildir(workspace), dsn(RFC3464_SIMPLE, return_path=paths[reader][number], reader=reader))
        counts = bounces(run)
        assert counts["soft_bounces"] == len(soft)
    assert status_of(run, first) == "bounced" and status_of(run, second) == "active"


@pytest.mark.stores
def test_rfc5965_complaints_mark_the_reader_complained(run, workspace, sent):
    """B.2 names the return path in Original-Mail-From; B.1 names nobody but encloses the message, whose
    List-Unsubscribe carries the reader's link: each reader is marked complained, and a later unsubscribe
    request does not soften it (the webhook's rule)."""
    (first, (first_path, first_message)), (second, (_, second_message)) = list(sent.items())[:2]
    deliver(maildir(workspace), arf(RFC5965_COMPLETE, mailbox=MAILBOX, reader=first, return_path=first_path,
                                    original=headers_of(first_message)))
    deliver(maildir(workspace), arf(RFC5965_SIMPLE, mailbox=MAILBOX, reader=second,
                                    original=headers_of(second_message)))
    counts = bounces(run)
    assert counts["complaints"] == 2 and counts["kept"] == 0
    assert status_of(run, first) == status_of(run, second) == "complained"
    mailto = re.search(rb"<mailto:([^?>]+)\?subject=unsubscribe>", first_message).group(1).decode()
    deliver(maildir(workspace), f"Delivered-To: {mailto}\nTo: <{mailto}>\nSubject: unsubscribe\n\n".encode())
    assert bounces(run)["unsubscribe_requests"] == 1
    assert status_of(run, first) == "complained"


@pytest.mark.stores
def test_a_forged_bounce_changes_nothing_and_is_counted(run, workspace, settings, sent):
    """A bounce to a return path with a changed token, one made under another key, and one about a reader who
    since changed their address: nothing changes, each is counted as forged and stays in the mailbox."""
    from mco_newsletter.delivery.return_path import ReturnPaths

    (victim, (path, _)), (other, _), (moved, (moved_path, _)) = list(sent.items())[:3]
    local, _, domain = path.partition("@")
    raw = bytearray(base64.b32decode(local.split("+")[1].upper()))
    raw[20] ^= 1
    tampered = f"bounces+{base64.b32encode(bytes(raw)).decode().lower()}@{domain}"
    [(row,)] = db_rows(settings, "SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
                                 " WHERE s.email = ?", (victim,))
    db_run(settings, "UPDATE subscribers SET email = ?, email_key = ? WHERE email = ?",
           ("new." + moved, "new." + moved, moved))
    stranger = ReturnPaths(secret=b"another key that is long enough!!", address=MAILBOX).for_delivery(row, victim)
    for forged_path in (tampered, stranger):
        deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path=forged_path, reader=victim))
    deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path=moved_path, reader=moved))
    deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path="someone@example.net", reader=other))
    counts = bounces(run)
    assert (counts["forged"], counts["not_ours"], counts["hard_bounces"], counts["kept"]) == (3, 1, 0, 4)
    assert status_of(run, victim) == status_of(run, other) == status_of(run, "new." + moved) == "active"
    assert len(list((maildir(workspace) / "new").iterdir())) == 4


@pytest.mark.stores
def test_a_bounce_run_twice_applies_once(run, workspace, settings, sent):
    """The same soft bounce found twice in one run, and again after a crash left it in the mailbox: applied once
    (the ledger row noted once, the reader not worn out by copies of one bounce)."""
    reader, (path, _) = next(iter(sent.items()))
    raw = dsn(RFC3464_SIMPLE, return_path=path, reader=reader)
    deliver(maildir(workspace), raw)
    deliver(maildir(workspace), raw)
    first = bounces(run)
    assert (first["soft_bounces"], first["already_applied"], first["moved"]) == (1, 1, 2)
    deliver(maildir(workspace), raw)  # as if the run had died between its commit and the move
    again = bounces(run)
    assert (again["soft_bounces"], again["already_applied"], again["moved"]) == (0, 1, 1)
    assert bounces(run)["read"] == 0
    assert status_of(run, reader) == "active"


@pytest.mark.stores
def test_an_unreadable_message_is_kept_and_counted(run, workspace, sent):
    """An empty file and bytes that are no mail are counted as unreadable and left where they are, untouched."""
    empty = deliver(maildir(workspace), b"")
    garbage = deliver(maildir(workspace), bytes(range(256)) * 4)
    reader, (path, _) = next(iter(sent.items()))
    deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path=path, reader=reader))
    result = run("bounces")
    assert result.exit_code == 0, result.output
    assert "1 hard bounce" in result.stdout and "2 unreadable" in result.stderr
    assert empty.read_bytes() == b"" and garbage.read_bytes() == bytes(range(256)) * 4
    assert bounces(run)["unreadable"] == 2


@pytest.mark.stores
def test_mailto_unsubscribe_requests_are_applied(run, workspace, sent):
    """A mail client's message to the List-Unsubscribe mailto address unsubscribes its reader; so does a request
    written to the reply-to address before [bounces] (the token in its subject) and forwarded here."""
    from test_tokens import v2_token

    (first, (_, message)), (second, _) = list(sent.items())[:2]
    mailto = re.search(rb"<mailto:([^?>]+)\?subject=unsubscribe>", message).group(1).decode()
    deliver(maildir(workspace), f"Delivered-To: {mailto}\nFrom: <{first}>\nTo: <{mailto}>\nSubject: unsubscribe\n"
                                f"Date: Thu, 1 Oct 2026 10:00:00 +0000\n\n".encode())
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import unsubscribe_secret
    from mco_newsletter.config import load_settings

    settings = load_settings(workspace)
    store = open_store(settings.store)
    subscriber = store.get(second)
    old = v2_token(unsubscribe_secret(settings.private_dir), subscriber.id, store.nonce(subscriber.id))
    store.close()
    deliver(maildir(workspace), f"Delivered-To: {MAILBOX}\nFrom: <advocacy@example.org>\nTo: <{MAILBOX}>\n"
                                f"Subject: unsubscribe {old}\n\n".encode())
    counts = bounces(run)
    assert counts["unsubscribe_requests"] == 2 and counts["kept"] == 0
    assert status_of(run, first) == status_of(run, second) == "unsubscribed"


@pytest.mark.stores
def test_an_mbox_mailbox(run, workspace, sent):
    """The same, from an mbox file: applied, and the handled message moved to the mbox beside it."""
    reader, (path, message) = next(iter(sent.items()))
    inbox = workspace / "private" / "bounces.mbox"
    box = mailbox.mbox(inbox)
    box.add(dsn(RFC3464_MULTI, return_path=path, reader=reader, original=headers_of(message)))
    box.add(b"From: someone@example.net\nTo: bounces@example.org\nSubject: hello\n\nA person writes.\n")
    box.close()
    text = (workspace / "newsletter.toml").read_text().replace("maildir:private/bounces", "mbox:private/bounces.mbox")
    (workspace / "newsletter.toml").write_text(text)
    counts = bounces(run)
    assert (counts["hard_bounces"], counts["not_ours"], counts["moved"]) == (1, 1, 1)
    assert status_of(run, reader) == "bounced"
    assert [m["Subject"] for m in mailbox.mbox(inbox)] == ["hello"]
    assert [m["Subject"] for m in mailbox.mbox(workspace / "private" / "bounces.mbox.processed")] == \
           ["Returned mail: User unknown"]


@pytest.mark.stores
def test_dry_run_changes_and_moves_nothing(run, workspace, sent):
    """--dry-run counts what would apply; statuses, the ledger and the mailbox stay as they were."""
    reader, (path, _) = next(iter(sent.items()))
    deliver(maildir(workspace), dsn(RFC3464_MULTI, return_path=path, reader=reader))
    counts = bounces(run, "--dry-run")
    assert counts["dry_run"] and counts["hard_bounces"] == 1 and counts["moved"] == 0
    assert status_of(run, reader) == "active"
    assert len(list((maildir(workspace) / "new").iterdir())) == 1
    assert bounces(run)["hard_bounces"] == 1


def test_without_a_mailbox_bounces_says_what_to_add(run, workspace):
    """No [bounces] mailbox: a sentence and a hint, exit 1, no traceback; a missing Maildir likewise."""
    result = run("bounces")
    assert result.exit_code == 1 and "names no bounce mailbox" in result.stderr and "Traceback" not in result.output
    with_bounces(workspace, '\n[bounces]\naddress = "bounces@example.org"\nmailbox = "maildir:private/nowhere"\n')
    result = run("bounces")
    assert result.exit_code == 1 and "is not a Maildir folder" in result.stderr, result.output
    shutil.rmtree(workspace / "private", ignore_errors=True)


@pytest.mark.parametrize(("status", "diagnostic", "kind"), [
    ("5.1.1", "550 5.1.1 <reader@example.org>: Recipient address rejected: User unknown", "hard"),
    ("5.4.4", "550 Host or domain name not found", "hard"),
    ("5.0.0", "553 sorry, that domain isn't in my list of allowed rcpthosts", "hard"),
    ("5.2.2", "552 5.2.2 Mailbox full", "soft"),
    ("4.4.7", "450 4.4.7 Delivery time expired", "soft"),
    ("4.7.1", "450 4.7.1 Rate limited, try again later", "blocked"),
    ("5.7.1", "554 5.7.1 Message rejected as spam", "blocked"),
    ("5.0.0", "554 Transaction failed", "blocked"),
])
def test_a_dsn_status_means_what_the_same_answer_at_rcpt_means(status, diagnostic, kind):
    """Each failed DSN is read by its Status (then its Diagnostic-Code) as smtp_replies.py reads a server's answer
    at RCPT: the address gone (hard), for now (soft), or the message or its sender refused (a block)."""
    from mco_newsletter.bounces.reports import read_message
    from mco_newsletter.delivery.return_path import ReturnPaths

    paths = ReturnPaths(secret=b"k" * 32, address=MAILBOX)
    path = paths.for_delivery(7, "reader@example.org")
    reading = read_message(dsn(RFC3464_SIMPLE, return_path=path, reader="reader@example.org", status=status,
                               diagnostic=diagnostic), paths=paths)
    assert (reading.kind, reading.deliveries) == (kind, (path.split("+")[1].split("@")[0],))
