"""Sign-up emails through each backend `serve` may be configured with: the confirmation as SendGrid's spec
accepts it, and as an SMTP server receives it."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default

import pytest

from conftest import set_setting
from reader_pages import add_topics, outbox, row, serving, settle, sign_up, text_of
from test_signup import CONFIRM_DE

pytestmark = pytest.mark.stores


def test_the_confirmation_goes_through_sendgrid_when_that_is_the_backend(workspace, monkeypatch):
    """With `backend = "sendgrid"` the confirmation is a request the spec-validating server accepts: the reader's
    link as a substitution, no List-Unsubscribe, no ledger row named."""
    from sendgrid_server import API_KEY, SendGridServer

    server = SendGridServer(keep_bodies=True).start()
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", server.url)
    set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
    add_topics(workspace)
    try:
        with serving(workspace) as served:
            sign_up(served, "sg@example.org", "ru")
            settle(served)
            row_of = row(served["settings"], "sg@example.org")
    finally:
        server.shutdown()
    assert server.record.invalid == [] and server.record.recipients() == ["sg@example.org"]
    [personalization] = server.record.accepted
    assert "headers" not in personalization and personalization["custom_args"] == {"campaign": "0", "delivery": "1"}
    [token] = personalization["substitutions"].values()
    body = json.loads(server.record.bodies[0])
    assert body["subject"] == "Пожалуйста, подтвердите подписку" and "List-Id" not in body["headers"]
    assert f"/confirm/{next(iter(personalization['substitutions']))}" in body["content"][0]["value"]
    assert len(token) == 40 and row_of["status"] == "pending" and outbox(workspace) == []


def test_the_confirmation_goes_through_smtp_when_that_is_the_backend(workspace):
    """With `backend = "smtp"` the confirmation arrives at the SMTP server, in the chosen language."""
    from smtp_sink import Recording
    from test_send_smtp import serving as smtp_serving

    handler = Recording()
    with smtp_serving(handler, workspace):
        set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
        with serving(workspace) as served:
            sign_up(served, "smtp@example.org", "de")
            settle(served)
    [(_, recipient, content)] = handler.messages
    message = message_from_bytes(content, policy=default)
    assert recipient == "smtp@example.org" and message["Subject"] == CONFIRM_DE
    assert "/confirm/" in text_of(message)


def test_a_confirmation_sent_over_smtp_counts_for_the_hour(workspace):
    """A confirmation the SMTP server took is noted as sent: signing up again within the hour sends nothing (the
    reader mail's report lacked the `taken` an SMTP session tells, so the mail went out unnoted)."""
    from smtp_sink import Recording
    from test_send_smtp import serving as smtp_serving

    handler = Recording()
    with smtp_serving(handler, workspace):
        set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
        with serving(workspace) as served:
            sign_up(served, "twice@example.org", "de")
            settle(served)
            sign_up(served, "twice@example.org", "de")
            settle(served)
    assert [recipient for _, recipient, _ in handler.messages] == ["twice@example.org"]


def test_the_confirmation_is_dkim_signed_over_smtp(workspace, run):
    """With [dkim], the confirmation `serve` sends over SMTP is signed too, and dkimpy verifies it with the key
    served by a DNS server on loopback."""
    import dkim

    from dns_server import dns_server, txt_lookup
    from smtp_sink import Recording
    from test_dkim import RECORD_NAME, published_record, with_dkim
    from test_send_smtp import serving as smtp_serving

    handler = Recording()
    with smtp_serving(handler, workspace):
        set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
        with_dkim(workspace)
        record = published_record(run("dkim", "keygen").stdout)
        with serving(workspace) as served:
            sign_up(served, "signed@example.org", "en")
            settle(served)
    [(_, recipient, content)] = handler.messages
    assert recipient == "signed@example.org" and content.startswith(b"DKIM-Signature: ")
    with dns_server({RECORD_NAME: [("TXT", record)]}) as (port, _):
        assert dkim.verify(content, dnsfunc=txt_lookup(port))


def test_with_bounces_the_confirmation_returns_to_the_bounce_address(workspace):
    """With [bounces], a sign-up's confirmation over SMTP has the bounce address as its return path (it names no
    delivery), so a mistyped address's bounce lands in the mailbox `bounces` reads."""
    from smtp_sink import Recording
    from test_send_smtp import serving as smtp_serving

    path = workspace / "newsletter.toml"
    path.write_text(path.read_text() + '\n[bounces]\naddress = "bounces@example.org"\n')
    handler = Recording()
    with smtp_serving(handler, workspace):
        set_setting(workspace, 'backend = "outbox"', 'backend = "smtp"')
        with serving(workspace) as served:
            sign_up(served, "smtp@example.org", "de")
            settle(served)
    assert handler.senders == [("smtp@example.org", "bounces@example.org")]
