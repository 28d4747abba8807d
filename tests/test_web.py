"""The subscriber-facing web on a real uvicorn server: unsubscribe pages, the signed webhook, the archive."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from stores import db_rows, db_run

import loopback


def key_pair():
    """A P-256 key pair as SendGrid uses: the public key as base64 DER, a signer for timestamp + body."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

    def sign(timestamp: str, body: bytes) -> str:
        return base64.b64encode(private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()

    return public, sign


@pytest.fixture
def signer(monkeypatch):
    public, sign = key_pair()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", public)
    return sign


@pytest.fixture
def readers(run):
    """Three subscribers in three languages."""
    for email, language in (("anna@example.org", "ru"), ("bernd@example.org", "de"), ("cara@example.org", "en")):
        assert run("subscribers", "add", email, "--language", language).exit_code == 0
    return ["anna@example.org", "bernd@example.org", "cara@example.org"]


@pytest.fixture
def server(workspace, signer, readers):
    """`serve`'s application under a real uvicorn server on a loopback port."""
    from reader_pages import serving

    with serving(workspace) as served:
        yield served


def token_for(settings, email: str) -> str:
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import make_token, unsubscribe_secret

    store = open_store(settings.store)
    try:
        subscriber_id = store.get(email).id
        return make_token(unsubscribe_secret(settings.private_dir), subscriber_id, store.nonce(subscriber_id))
    finally:
        store.close()


def status_of(settings, email: str) -> str:
    [(status,)] = db_rows(settings, "SELECT status FROM subscribers WHERE email = ?", (email,))
    return status


@pytest.mark.stores
def test_unsubscribe_page_in_the_readers_language(server):
    """GET shows a page in the reader's language with one button, strict CSP and no referrer."""
    token = token_for(server["settings"], "anna@example.org")
    response = loopback.get(f"{server['url']}/u/{token}")
    assert response.status_code == 200
    assert '<html lang="ru">' in response.text and "Отписаться от рассылки" in response.text
    assert response.text.count("<button") == 1 and "a\u2022\u2022\u2022@example.org" in response.text
    assert "anna" not in response.text  # emails are forwarded: the page never shows the whole address
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'sha256-" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "http" not in response.text.split("<body>")[0].replace('http-equiv', '')  # nothing remote in the head
    assert status_of(server["settings"], "anna@example.org") == "active"  # GET changes nothing


@pytest.mark.stores
def test_one_click_post_is_idempotent(server):
    """The RFC 8058 one-click POST unsubscribes; repeating it is harmless and answers the same."""
    settings = server["settings"]
    token = token_for(settings, "bernd@example.org")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    first = loopback.post(f"{server['url']}/u/{token}", content=b"List-Unsubscribe=One-Click", headers=headers)
    assert first.status_code == 200 and "Sie haben den Newsletter abbestellt" in first.text
    assert status_of(settings, "bernd@example.org") == "unsubscribed"
    again = loopback.post(f"{server['url']}/u/{token}", content=b"List-Unsubscribe=One-Click", headers=headers)
    assert again.status_code == 200 and again.text == first.text
    assert status_of(settings, "bernd@example.org") == "unsubscribed"
    assert status_of(settings, "anna@example.org") == "active"


@pytest.mark.stores
def test_bad_tokens_all_get_the_same_404(server):
    """Tampered, unknown, garbage and missing tokens get one identical neutral page."""
    from mco_newsletter.subscribers.tokens import make_token, unsubscribe_secret

    settings = server["settings"]
    token = token_for(settings, "cara@example.org")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    unknown = make_token(unsubscribe_secret(settings.private_dir), 999_999, b"n" * 16)
    answers = [loopback.get(f"{server['url']}/u/{bad}") for bad in (tampered, unknown, "garbage", "x" * 35, "x" * 36, "x" * 40)]
    answers.append(loopback.post(f"{server['url']}/u/{tampered}", content=b"List-Unsubscribe=One-Click"))
    answers.append(loopback.get(f"{server['url']}/nothing/here"))
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert "cara" not in answers[0].text
    assert status_of(settings, "cara@example.org") == "active"


@pytest.mark.stores
def test_logs_hold_no_token_or_address(server, caplog):
    """The server's log lines name routes, never the token in the path or an address."""
    caplog.set_level(logging.INFO, logger="mco_newsletter.web")
    token = token_for(server["settings"], "anna@example.org")
    loopback.get(f"{server['url']}/u/{token}")
    loopback.post(f"{server['url']}/u/{token}", content=b"List-Unsubscribe=One-Click")
    lines = [record.getMessage() for record in caplog.records]
    assert any("/u/{token}" in line for line in lines)
    assert not any(token in line or "anna" in line for line in lines)


def signed_post(server, sign, events, *, timestamp=None, body=None, signature=None):
    body = body if body is not None else json.dumps(events).encode()
    timestamp = timestamp or str(int(time.time()))
    headers = {"X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
               "X-Twilio-Email-Event-Webhook-Signature": signature or sign(timestamp, body),
               "Content-Type": "application/json"}
    return loopback.post(f"{server['url']}/webhooks/sendgrid", content=body, headers=headers)


@pytest.mark.stores
def test_webhook_applies_events_once(server, signer, run, workspace):
    """bounce/dropped → bounced, spamreport → complained, unsubscribe → unsubscribed, delivered → ledger;
    a repeated batch changes nothing; unknown types are counted."""
    settings = server["settings"]
    db_run(settings, "INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES ('x', 'all', '{}', 't')")
    db_run(settings, "INSERT INTO deliveries (id, campaign_id, subscriber_id, language, state) "
                     "SELECT 77, 1, id, 'en', 'sent' FROM subscribers WHERE email = 'cara@example.org'")
    events = [
        {"sg_event_id": "e1", "event": "bounce", "email": "anna@example.org"},
        {"sg_event_id": "e2", "event": "spamreport", "email": "bernd@example.org"},
        {"sg_event_id": "e3", "event": "delivered", "email": "cara@example.org", "campaign": "1", "delivery": "77"},
        {"sg_event_id": "e4", "event": "brand_new_kind", "email": "cara@example.org"},
        {"sg_event_id": "e5", "event": "unsubscribe", "email": "nobody@example.org"},
    ]
    response = signed_post(server, signer, events)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 5, "applied": 3, "duplicates": 0, "unknown": 1, "unmatched": 1,
                               "invalid": 0}
    assert status_of(settings, "anna@example.org") == "bounced"
    assert status_of(settings, "bernd@example.org") == "complained"
    assert status_of(settings, "cara@example.org") == "active"
    assert db_rows(settings, "SELECT provider_event FROM deliveries WHERE id = 77") == [("delivered",)]
    again = signed_post(server, signer, events + [{"sg_event_id": "e6", "event": "unsubscribe",
                                                     "email": "bernd@example.org"}])
    assert again.json()["duplicates"] == 5 and again.json()["applied"] == 1
    assert status_of(settings, "bernd@example.org") == "complained"  # a complaint is never softened


@pytest.mark.parametrize("case", ["tampered_body", "wrong_key", "no_signature", "no_timestamp", "stale",
                                  "undecodable_signature"])
@pytest.mark.stores
def test_webhook_refuses_unsigned_or_replayed(server, signer, case):
    """Anything not freshly signed by the configured key is refused with 403 and changes nothing."""
    settings = server["settings"]
    events = [{"sg_event_id": f"x-{case}", "event": "spamreport", "email": "anna@example.org"}]
    body = json.dumps(events).encode()
    now = str(int(time.time()))
    headers = {"X-Twilio-Email-Event-Webhook-Timestamp": now,
               "X-Twilio-Email-Event-Webhook-Signature": signer(now, body)}
    if case == "tampered_body":
        body = body.replace(b"anna", b"bern")
    elif case == "wrong_key":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = key_pair()[1](now, body)
    elif case == "no_signature":
        del headers["X-Twilio-Email-Event-Webhook-Signature"]
    elif case == "no_timestamp":
        del headers["X-Twilio-Email-Event-Webhook-Timestamp"]
    elif case == "stale":
        old = str(int(time.time()) - 3600)
        headers = {"X-Twilio-Email-Event-Webhook-Timestamp": old,
                   "X-Twilio-Email-Event-Webhook-Signature": signer(old, body)}
    elif case == "undecodable_signature":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    response = loopback.post(f"{server['url']}/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 403
    assert status_of(settings, "anna@example.org") == "active"


@pytest.mark.parametrize("body,status", [(b"{not json", 400), (b'{"a": 1}', 400), (b"\xff\xfe", 403),
                                         (b"[" * 100_000 + b"]" * 100_000, 400)],
                         ids=["not_json", "not_a_list", "not_utf8", "nested_100000_deep"])
@pytest.mark.stores
def test_webhook_malformed_is_400_never_500(server, signer, body, status):
    """A validly signed payload that is not a JSON list is a 400, however deep (bytes that are not even
    UTF-8 cannot be verified: 403)."""
    response = signed_post(server, signer, None, body=body)
    assert response.status_code == status, response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.stores
@pytest.mark.browser
def test_browser_unsubscribe_click(server, browser):
    """In headless Chromium: open the link, click the button, read the confirmation in Russian."""
    token = token_for(server["settings"], "anna@example.org")
    page = browser.new_page(viewport={"width": 375, "height": 700})
    try:
        page.goto(f"{server['url']}/u/{token}")
        assert page.evaluate("document.documentElement.lang") == "ru"
        page.click("button")
        page.wait_for_selector("#done")
        assert page.inner_text("#done") == "Вы отписались"
    finally:
        page.close()
    assert status_of(server["settings"], "anna@example.org") == "unsubscribed"


def test_archive_pages_and_feeds(run, workspace, tmp_path):
    """archive writes an index and an Atom feed per language (parsed by feedparser) and pages with the right lang."""
    import feedparser

    out = tmp_path / "archive"
    result = run("archive", "--out", str(out))
    assert result.exit_code == 0, result.output
    feed = feedparser.parse((out / "en" / "feed.atom").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert [entry.title for entry in feed.entries] == ["Digest May 2024", "Digest December 2023"]
    assert feed.entries[0].link == "https://digest.example.org/2024-05/en.html"
    for language in ("de", "ru"):
        assert not (out / language).exists()  # nothing approved in these languages yet: no empty index
    page = (out / "2024-05" / "en.html").read_text()
    assert '<html lang="en"' in page and "/u/" not in page and "mcounsub" not in page
    assert (out / "2024-05" / "aktion-suedkorea-2015.png").is_file()
    index = (out / "en" / "index.html").read_text()
    assert 'href="https://digest.example.org/2024-05/en.html"' in index


def outbox_links(workspace) -> dict[str, tuple[str, int, int]]:
    """Each outbox message's reader → (their unsubscribe path, campaign id, ledger row id)."""
    from email import message_from_bytes
    from email.policy import default

    links = {}
    for path in (workspace / "private" / "outbox" / "new").iterdir():
        message = message_from_bytes(path.read_bytes(), policy=default)
        url = message["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
        campaign, row = path.name.split(".")[:2]
        links[str(message["To"])] = ("/u/" + url.split("/u/", 1)[1].split("?")[0], int(campaign), int(row))
    return links


@pytest.mark.stores
def test_an_erased_readers_link_never_reaches_a_newcomer(server, run, workspace):
    """The link in an erased reader's email leads nowhere, whoever joined after them (ids are never reused)."""
    settings = server["settings"]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    path, _, _ = outbox_links(workspace)["cara@example.org"]  # cara has the highest id
    assert loopback.get(server["url"] + path).status_code == 200
    assert run("subscribers", "erase", "cara@example.org", "--yes").exit_code == 0
    assert run("subscribers", "add", "dora@example.org", "--language", "en").exit_code == 0
    page = loopback.get(server["url"] + path)
    assert page.status_code == 404 and "dora" not in page.text
    loopback.post(server["url"] + path, content=b"List-Unsubscribe=One-Click")
    assert status_of(settings, "dora@example.org") == "active"


@pytest.mark.stores
def test_a_link_has_one_spelling(server, run, workspace):
    """Only the exact token that was sent opens the page: other last characters, +/ spellings or padding get 404."""
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    links = outbox_links(workspace)
    variants = set()
    # One client for the hundred requests.
    with loopback.Client(base_url=server["url"]) as client:
        for path, _, _ in links.values():
            token = path[3:]
            assert client.get(path).status_code == 200
            variants |= {token[:-1] + c for c in "AEIMQUYcgkosw048BCDa-_" if c != token[-1]}
            variants |= {token.replace("-", "+").replace("_", "/"), token + "=", token + "==", token.swapcase()}
            variants.discard(token)
        answers = {client.get(f"/u/{variant}").status_code for variant in variants}
    assert answers == {404}


@pytest.mark.stores
def test_a_late_event_for_an_erased_readers_row_changes_nobody(server, signer, run, workspace):
    """A spamreport naming an erased reader's ledger row marks nobody, even when a new row exists for others."""
    settings = server["settings"]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    _, campaign, row = outbox_links(workspace)["cara@example.org"]
    assert run("subscribers", "erase", "cara@example.org", "--yes").exit_code == 0
    assert run("subscribers", "add", "dora@example.org", "--language", "en").exit_code == 0
    assert run("send", "2023-12", "--segment", "all", "--yes").exit_code == 0
    response = signed_post(server, signer, [{"sg_event_id": "late-1", "event": "spamreport",
                                             "email": "cara@example.org", "campaign": str(campaign),
                                             "delivery": str(row)}])
    assert response.status_code == 200 and response.json()["unmatched"] == 1
    assert {status_of(settings, e) for e in ("anna@example.org", "bernd@example.org", "dora@example.org")} == {"active"}


@pytest.mark.stores
@pytest.mark.parametrize("left", ["erased", "resubscribed"])
def test_ids_are_never_reused_so_an_old_event_misses_the_new_row(server, signer, run, workspace, left):
    """A reader erased (or unsubscribed and resubscribed, which replaces their subscriber row) and back with the same
    address gets a new subscriber id and, in the same campaign, a new ledger row id above every earlier one; a late
    event for the old row, same address and campaign, is unmatched — only the id tells the two rows apart."""
    settings = server["settings"]

    def ids() -> tuple[int, int, int]:
        [(subscriber,)] = db_rows(settings, "SELECT id FROM subscribers WHERE email = 'cara@example.org'")
        [(newest,)] = db_rows(settings, "SELECT max(id) FROM deliveries")
        [(row,)] = db_rows(settings, "SELECT max(id) FROM deliveries WHERE subscriber_id = ?", (subscriber,))
        return subscriber, newest, row

    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    _, campaign, old_row = outbox_links(workspace)["cara@example.org"]
    old_subscriber, newest, row = ids()
    assert row == old_row == newest  # cara's is the last row: the one a reusing database would hand out again
    if left == "erased":
        assert run("subscribers", "erase", "cara@example.org", "--yes").exit_code == 0
    else:
        assert run("subscribers", "unsubscribe", "cara@example.org").exit_code == 0
    assert run("subscribers", "add", "cara@example.org", "--language", "en", "--resubscribe").exit_code == 0
    rerun = run("send", "2024-05", "--segment", "all", "--yes")
    assert rerun.exit_code == 0 and "1 sent" in rerun.output, rerun.output
    subscriber, _, new_row = ids()
    assert subscriber > old_subscriber and new_row > old_row
    response = signed_post(server, signer, [{"sg_event_id": f"late-{left}", "event": "spamreport",
                                             "email": "cara@example.org", "campaign": str(campaign),
                                             "delivery": str(old_row)}])
    assert response.status_code == 200 and response.json()["unmatched"] == 1
    assert status_of(settings, "cara@example.org") == "active"
    current = signed_post(server, signer, [{"sg_event_id": f"now-{left}", "event": "spamreport",
                                            "email": "cara@example.org", "campaign": str(campaign),
                                            "delivery": str(new_row)}])
    assert current.json()["applied"] == 1 and status_of(settings, "cara@example.org") == "complained"


@pytest.mark.stores
@pytest.mark.parametrize("mismatch", ["address", "campaign"])
def test_an_event_applies_only_when_row_campaign_and_address_agree(server, signer, run, workspace, mismatch):
    """An event whose ledger row belongs to another address or campaign is unmatched and changes nobody."""
    settings = server["settings"]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    _, campaign, row = outbox_links(workspace)["anna@example.org"]
    event = {"sg_event_id": f"m-{mismatch}", "event": "spamreport", "email": "anna@example.org",
             "campaign": str(campaign), "delivery": str(row)}
    if mismatch == "address":
        event["email"] = "bernd@example.org"
    else:
        event["campaign"] = str(campaign + 1)
    response = signed_post(server, signer, [event])
    assert response.status_code == 200 and response.json()["unmatched"] == 1
    assert status_of(settings, "anna@example.org") == "active" and status_of(settings, "bernd@example.org") == "active"
    agreeing = dict(event, sg_event_id="m-ok", email="anna@example.org", campaign=str(campaign))
    assert signed_post(server, signer, [agreeing]).json()["applied"] == 1
    assert status_of(settings, "anna@example.org") == "complained"


@pytest.mark.stores
def test_a_reader_who_left_sees_it_and_can_come_back(server):
    """A reader who already unsubscribed sees that (address masked) and a button that subscribes them again."""
    settings = server["settings"]
    token = token_for(settings, "bernd@example.org")
    url = f"{server['url']}/u/{token}"
    loopback.post(url, content=b"List-Unsubscribe=One-Click")
    page = loopback.get(url)
    assert page.status_code == 200 and "Sie erhalten diesen Newsletter nicht" in page.text
    assert "b\u2022\u2022\u2022@example.org" in page.text and "bernd" not in page.text
    assert 'name="resubscribe" value="yes"' in page.text and "Wieder abonnieren" in page.text
    back = loopback.post(url, data={"resubscribe": "yes"})
    assert back.status_code == 200 and "Sie erhalten den Newsletter wieder" in back.text
    assert status_of(settings, "bernd@example.org") == "active"
    [(source,)] = db_rows(settings, "SELECT consent_source FROM subscribers WHERE email = 'bernd@example.org'")
    assert "unsubscribe link" in source
    assert "Den Newsletter der" in loopback.get(url).text  # active again: the unsubscribe page


@pytest.mark.stores
def test_a_blocked_bounce_is_not_a_bounce(server, signer, run, workspace):
    """`bounce` with type `blocked` (the receiving provider refusing the sender for now) leaves the reader active."""
    settings = server["settings"]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    _, campaign, row = outbox_links(workspace)["anna@example.org"]
    event = {"sg_event_id": "b1", "event": "bounce", "type": "blocked", "email": "anna@example.org",
             "campaign": str(campaign), "delivery": str(row)}
    assert signed_post(server, signer, [event]).json()["applied"] == 1
    assert status_of(settings, "anna@example.org") == "active"
    assert db_rows(settings, "SELECT provider_event FROM deliveries WHERE id = ?", (row,)) == [("blocked",)]
    hard = dict(event, sg_event_id="b2", type="bounce")
    assert signed_post(server, signer, [hard]).json()["applied"] == 1
    assert status_of(settings, "anna@example.org") == "bounced"


@pytest.mark.stores
def test_the_webhook_refuses_large_bodies_before_reading_them(server, signer):
    """A body announced (or found) larger than the cap gets 413, with the security headers."""
    import socket

    now = str(int(time.time()))
    headers = {"X-Twilio-Email-Event-Webhook-Timestamp": now,
               "X-Twilio-Email-Event-Webhook-Signature": signer(now, b"[]"), "Content-Type": "application/json"}
    host, port = server["url"].rsplit(":", 1)
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as connection:
        # Announces 300 MB and sends none of it: the answer comes at once, nothing is buffered.
        request = ("POST /webhooks/sendgrid HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n"
                   + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n")
        connection.sendall(request.encode())
        answer = connection.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413") and "content-security-policy" in answer.lower()

    def chunks():
        for _ in range(80):  # 5 MB without a Content-Length
            yield b" " * 65536

    streamed = loopback.post(f"{server['url']}/webhooks/sendgrid", content=chunks(), headers=headers)
    assert streamed.status_code == 413


@pytest.mark.parametrize("timestamp", ["\u00b2", "1" * 5000, "-5", "12.5"],
                         ids=["superscript_two", "5000_digits", "negative", "fraction"])
@pytest.mark.stores
def test_malformed_headers_are_400_before_verification(server, signer, timestamp):
    """A timestamp that is not a plain number (superscript digits, thousands of digits) is a 400, not a 500."""
    body = b"[]"
    response = loopback.post(f"{server['url']}/webhooks/sendgrid", content=body, headers={
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp.encode("utf-8"),
        "X-Twilio-Email-Event-Webhook-Signature": signer(str(int(time.time())), body)})
    assert response.status_code == 400, response.text


@pytest.mark.stores
def test_one_bad_event_in_a_signed_batch_is_counted_and_skipped(server, signer, run, workspace):
    """A delivery of 30 nines, a non-object, a missing id: each counted as invalid; the good events still apply."""
    settings = server["settings"]
    events = [{"sg_event_id": "ok-1", "event": "spamreport", "email": "anna@example.org"},
              {"sg_event_id": "bad-1", "event": "bounce", "email": "bernd@example.org", "delivery": "9" * 30,
               "campaign": "1"},
              {"sg_event_id": "bad-2", "event": "bounce", "email": "cara@example.org", "delivery": 5},
              [1, 2], {"event": "bounce"}, "text"]
    response = signed_post(server, signer, events)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 6, "applied": 1, "duplicates": 0, "unknown": 0, "unmatched": 0,
                               "invalid": 5}
    assert status_of(settings, "anna@example.org") == "complained"
    assert status_of(settings, "bernd@example.org") == "active" and status_of(settings, "cara@example.org") == "active"


@pytest.mark.stores
def test_every_answer_carries_the_security_headers(server, signer):
    """405s, JSON answers and the 503 of a damaged database carry the same Content-Security-Policy, Referrer-Policy
    and no-store."""
    settings = server["settings"]
    token = token_for(settings, "anna@example.org")
    answers = [loopback.Client().put(f"{server['url']}/u/{token}"), loopback.get(f"{server['url']}/webhooks/sendgrid"),
               signed_post(server, signer, [])]
    assert [a.status_code for a in answers] == [405, 405, 200]
    db_run(settings, "DROP TABLE webhook_events")  # the database is damaged: the webhook fails
    answers.append(signed_post(server, signer, [{"sg_event_id": "z", "event": "open"}]))
    assert answers[-1].status_code == 503 and "damaged" in answers[-1].json()["error"]  # nothing recorded: retry
    for response in answers:
        assert response.headers["content-security-policy"].startswith("default-src 'none'"), response.status_code
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_webhook_key_that_cannot_be_loaded(run, workspace, monkeypatch):
    """A verification key that is not a P-256 public key: a clear error when `serve` starts, and in `check`."""
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", "bm90IGEga2V5")
    result = run("serve", "--port", "0")
    assert result.exit_code == 1 and "Error: the webhook public key cannot be loaded" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.delenv("SENDGRID_WEBHOOK_PUBLIC_KEY")
    from conftest import set_setting

    set_setting(workspace, '# public_key = "MFkw', 'public_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"\n# x = "')
    checked = run("check")
    assert checked.exit_code == 1
    assert "webhook.public_key cannot be loaded: not a public key" in checked.stderr + checked.stdout


@pytest.mark.stores
def test_unsubscribing_never_softens_a_complaint(server, signer):
    """A reader marked complained who then uses the one-click link stays complained."""
    settings = server["settings"]
    assert signed_post(server, signer, [{"sg_event_id": "c1", "event": "spamreport",
                                         "email": "cara@example.org"}]).json()["applied"] == 1
    token = token_for(settings, "cara@example.org")
    assert loopback.post(f"{server['url']}/u/{token}", content=b"List-Unsubscribe=One-Click").status_code == 200
    assert status_of(settings, "cara@example.org") == "complained"


@pytest.mark.stores
def test_links_of_every_generation_have_one_spelling_and_one_path(workspace, readers, run):
    """A link sent in any generation of tokens (v1: 35 characters, v2: 36, v3: 40) opens its reader's page only as
    it was sent, at /u/<token>: other trailing bits, padding, + and /, other case, a trailing slash or another
    path the link never had get the same 404 as a made-up token, naming no one and changing nothing."""
    from reader_pages import serving
    from test_tokens import legacy_token, v2_token

    from mco_newsletter.config import load_settings
    from mco_newsletter.subscribers.tokens import unsubscribe_secret

    settings = load_settings(workspace)
    [(anna, nonce)] = db_rows(settings, "SELECT id, nonce FROM subscribers WHERE email = 'anna@example.org'")
    # Anna joined before links carried a nonce: her v1 link (ids up to this mark) is in old emails.
    assert db_run(settings, "UPDATE meta SET value = ? WHERE key = 'legacy_token_max_id'", (str(anna),)) == 1
    secret = unsubscribe_secret(settings.private_dir)
    sent = {"v1": legacy_token(secret, anna), "v2": v2_token(secret, anna, bytes(nonce)),
            "v3": token_for(settings, "anna@example.org")}
    assert [len(token) for token in sent.values()] == [35, 36, 40]
    spellings = set()
    for token in sent.values():
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)) if len(token) < 40 else None
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if raw is not None:  # the same bytes: v1 has two spare bits at the end, each other value decodes alike
            spellings |= {token[:-1] + c for c in alphabet if c != token[-1] and
                          base64.urlsafe_b64decode(token[:-1] + c + "=" * (-len(token) % 4)) == raw}
        spellings |= {token + "=", token + "==", token.swapcase(), token.upper(), token.replace("-", "+").replace(
            "_", "/"), token + "/", token + "%2F", " " + token, token + " ", token + ".", token + "%00"}
    spellings -= set(sent.values())
    assert len([s for s in spellings if len(s) == 35]) >= 3  # the v1 link's other trailing bits are tried
    paths = [f"/u/{spelling}" for spelling in sorted(spellings)]
    for token in sent.values():
        paths += [f"/unsubscribe/{token}", f"/unsubscribe?token={token}", f"/u?token={token}", f"/U/{token}",
                  f"//u/{token}", f"/u//{token}", f"/u/{token}/unsubscribe", f"/p/{token}/"]
    with serving(workspace) as served, loopback.Client(base_url=served["url"]) as client:
        assert {name: client.get(f"/u/{token}").status_code for name, token in sent.items()} == dict.fromkeys(sent, 200)
        nowhere = client.get("/u/" + "a" * 40)
        answers = {path: client.get(path) for path in paths}
        posts = {path: client.post(path, content=b"List-Unsubscribe=One-Click",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}) for path in paths}
    assert nowhere.status_code == 404 and "anna" not in nowhere.text and "a\u2022\u2022\u2022" not in nowhere.text
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(paths, 404)
    assert {path: answer.text for path, answer in answers.items()} == dict.fromkeys(paths, nowhere.text)
    assert {answer.status_code for answer in posts.values()} <= {404, 405}
    assert status_of(settings, "anna@example.org") == "active"
