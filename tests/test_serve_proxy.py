"""Two `mco-newsletter serve` processes behind a real nginx (Debian's, configured from deploy/nginx/ as
docs/deploy.md installs it, TLS from a test CA) on loopback, against one PostgreSQL store: sign-up, confirmation,
unsubscribe, review and the webhook through the proxy; the limits hold across the two replicas; a webhook batch
delivered to both at once applies once; nobody can pose as another client through the proxy."""

from __future__ import annotations

import json
import threading
import time

import pytest
from hosts import make_keys
from stores import db_rows

from conftest import set_setting
from reader_pages import add_topics
from replicas import Proxy, Replica, client, nginx_unavailable

pytestmark = pytest.mark.skipif(nginx_unavailable() is not None, reason=str(nginx_unavailable()))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, drafted_catalogs):
    """One deployment for the module's tests (each uses addresses and clients of its own): a fresh PostgreSQL
    database, the sample workspace with a drafted issue, the SendGrid server as the readers' provider, a
    translator's link, two replicas (the first the editor) and nginx in front of them: {proxy, replicas, ca,
    sendgrid, sign, token, settings, workspace}."""
    from click.testing import CliRunner
    from imap_server import certificate_authority
    from postgres_cluster import server_bin
    from review_server import add_translator
    from sendgrid_server import API_KEY, SendGridServer
    from stores import drop_database, fresh_database
    from test_web import key_pair

    from conftest import copy_sample
    from mco_newsletter.cli import cli
    from mco_newsletter.config import load_settings

    if server_bin() is None:
        pytest.skip("PostgreSQL's server is not installed (./test installs Debian's postgresql)")
    folder = tmp_path_factory.mktemp("deployment")
    workspace = copy_sample(folder / "ws")
    make_keys(workspace)  # a shared store's keys are made on purpose (`keys init`), never on first use
    name, url = fresh_database()
    sendgrid = SendGridServer().start()
    public, sign = key_pair()
    set_setting(workspace, 'backend = "outbox"', 'backend = "sendgrid"')
    add_topics(workspace)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nclient_limit = 3\n")
    for path, data in drafted_catalogs.items():
        if path.startswith("issues/2024-05/de"):
            (workspace / path).write_bytes(data)
    env = {"MCO_NEWSLETTER_DB": url, "SENDGRID_API_KEY": API_KEY, "SENDGRID_API_HOST": sendgrid.url,
           "SENDGRID_WEBHOOK_PUBLIC_KEY": public}
    replicas, proxy = [], None
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in env.items():
            patch.setenv(variable, value)
        token = add_translator(lambda *args: CliRunner().invoke(cli, ["--workspace", str(workspace), *args]),
                               "Anna Petrova", "de")
        settings = load_settings(workspace)
    try:
        ca, cert, key = certificate_authority(folder)
        (folder / "archive").mkdir()
        (folder / "archive" / "index.html").write_text("the archive\n")
        replicas = [Replica(workspace, folder / "editor.log", editor=True, env=env),
                    Replica(workspace, folder / "replica.log", env=env)]
        for replica in replicas:
            replica.launch()
        for replica in replicas:
            replica.ready()
        proxy = Proxy(folder / "nginx", replicas=[replica.address for replica in replicas],
                      editor=replicas[0].address, cert=cert, key=key, archive=folder / "archive").start()
        yield {"proxy": proxy, "replicas": replicas, "ca": ca, "sendgrid": sendgrid, "sign": sign, "token": token,
               "settings": settings, "workspace": workspace, "env": env}
    finally:
        if proxy is not None:
            proxy.stop()
        for replica in replicas:
            replica.stop()
        sendgrid.shutdown()
        drop_database(name)


def mails_to(sendgrid, email: str, timeout: float = 15.0) -> list[dict]:
    """The personalizations the provider accepted for `email` (sign-up emails go out just after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [p for p in list(sendgrid.record.accepted) if p["to"][0]["email"] == email]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def signed(sign, events: list[dict]) -> tuple[bytes, dict]:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time()))
    return body, {"X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
                  "X-Twilio-Email-Event-Webhook-Signature": sign(timestamp, body), "Content-Type": "application/json"}


def test_a_reader_signs_up_confirms_and_leaves_through_the_proxy(deployment):
    """Over TLS through nginx: the form, a sign-up, the confirmation email, its link, Confirm, one-click unsubscribe;
    the archive is served from its folder; /healthz says ok; both replicas answered some of it."""
    from mco_newsletter.subscribers.tokens import make_token, unsubscribe_secret

    proxy, settings = deployment["proxy"], deployment["settings"]
    with client(deployment["ca"], source="127.0.0.5") as browser:
        assert browser.get(proxy.url + "/healthz").text == "ok\n"
        assert browser.get(proxy.url + "/index.html").text == "the archive\n"
        assert browser.get(proxy.url + "/subscribe/de").status_code == 200
        signed_up = browser.post(proxy.url + "/subscribe", data={"email": "vera@example.org", "language": "de"})
        [mail] = mails_to(deployment["sendgrid"], "vera@example.org")
        [confirm_token] = mail["substitutions"].values()
        page = browser.get(f"{proxy.url}/confirm/{confirm_token}")
        confirmed = browser.post(f"{proxy.url}/confirm/{confirm_token}", data={"confirm": "yes"})
        [(reader_id, nonce, status)] = db_rows(settings, "SELECT id, nonce, status FROM subscribers WHERE email = ?",
                                               ("vera@example.org",))
        token = make_token(unsubscribe_secret(settings.private_dir), reader_id, nonce)
        left = browser.post(f"{proxy.url}/u/{token}", content=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert signed_up.status_code == 200 and page.status_code == 200 and 'lang="de"' in page.text
    assert confirmed.status_code == 200 and status == "active"
    assert left.status_code == 200 and db_rows(settings, "SELECT status FROM subscribers WHERE email = ?",
                                               ("vera@example.org",)) == [("unsubscribed",)]
    assert "strict-transport-security" in left.headers and "content-security-policy" in left.headers
    assert all(any(" /" in line for line in replica.routes()) for replica in deployment["replicas"])


def test_the_limits_hold_across_the_replicas_and_no_header_fools_them(deployment):
    """Round robin sends a client's sign-ups to both replicas, and [signup] client_limit = 3 still holds for it; an
    X-Forwarded-For a client sends is replaced by nginx, so it cannot pose as others; another client goes on; one
    mailbox gets one email however many replicas and clients ask; a replica reached directly from an address not
    in [web] trusted_proxies is not fooled by the header either."""
    proxy = deployment["proxy"]
    with client(deployment["ca"], source="127.0.0.6") as one, client(deployment["ca"], source="127.0.0.7") as other:
        answers = [one.post(proxy.url + "/subscribe", data={"email": f"r{n}@example.org", "language": "en"},
                            headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(5)]
        mailbox = [other.post(proxy.url + "/subscribe", data={"email": email, "language": "en"}).status_code
                   for email in ("box@example.org", "box+1@example.org")]
    with client(deployment["ca"], source="127.0.0.8") as direct:
        replica = deployment["replicas"][1]
        bypass = [direct.post(replica.url + "/subscribe", data={"email": f"d{n}@example.org", "language": "en"},
                              headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)]
    assert answers == [200, 200, 200, 429, 429] and mailbox == [200, 200]
    assert bypass == [200, 200, 200, 429]
    time.sleep(1)
    box = [p for p in deployment["sendgrid"].record.accepted if p["to"][0]["email"].startswith("box")]
    assert len(box) == 1
    for replica in deployment["replicas"]:
        assert any(line.startswith("POST /subscribe 200") for line in replica.routes()), replica.routes()


def test_the_review_pages_go_to_the_editor_through_the_proxy(deployment):
    """The translator's page and an approval through nginx reach the editor, which writes its catalog; the other
    replica, reached directly, answers 421 with a page saying so."""
    from test_review_web import form_of

    from tiny_models import po

    proxy, settings, token = deployment["proxy"], deployment["settings"], deployment["token"]
    with client(deployment["ca"], source="127.0.0.9") as translator:
        page = translator.get(f"{proxy.url}/review/{token}/2024-05/de")
        fields = form_of(page.text, "title")
        approved = translator.post(f"{proxy.url}/review/{token}/2024-05/de",
                                   data={**fields, "translation": "Überblick Mai 2024", "action": "approve"})
        elsewhere = translator.get(f"{deployment['replicas'][1].url}/review/{token}/2024-05/de")
    assert page.status_code == 200 and approved.status_code == 303
    assert next(m for m in po(deployment["workspace"], "2024-05", "de") if m.context == "title").string == \
        "Überblick Mai 2024"
    assert elsewhere.status_code == 421


def test_a_webhook_batch_delivered_to_both_replicas_at_once_applies_once(deployment):
    """One signed batch of 200 events posted to both replicas at the same moment (and once more through nginx): no
    answer fails, each event is applied once between them, every reader is unsubscribed, every id recorded once."""
    from mco_newsletter.subscribers.store import open_store

    settings = deployment["settings"]
    store = open_store(settings.store)
    with store.transaction():
        for number in range(200):
            store.add(email=f"reader{number}@example.org", name=None, language="en", tags=(), consent_source="test",
                      at="2024-01-01T00:00:00+00:00")
    store.close()
    events = [{"sg_event_id": f"ev-{number}", "event": "unsubscribe", "email": f"reader{number}@example.org"}
              for number in range(200)]
    body, headers = signed(deployment["sign"], events)
    replicas, answers = deployment["replicas"], {}
    start = threading.Barrier(len(replicas))

    def deliver(replica):
        with client(deployment["ca"]) as sendgrid:
            start.wait()
            answers[replica.port] = sendgrid.post(replica.url + "/webhooks/sendgrid", content=body, headers=headers)

    threads = [threading.Thread(target=deliver, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with client(deployment["ca"]) as sendgrid:
        again = sendgrid.post(deployment["proxy"].url + "/webhooks/sendgrid", content=body, headers=headers)
    reports = [answer.json() for answer in answers.values()]
    assert [answer.status_code for answer in answers.values()] == [200, 200], reports
    assert sum(report["applied"] for report in reports) == 200
    assert sum(report["duplicates"] for report in reports) == 200
    assert again.status_code == 200 and again.json()["duplicates"] == 200
    assert db_rows(settings, "SELECT count(*), count(DISTINCT sg_event_id) FROM webhook_events") == [(200, 200)]
    assert db_rows(settings, "SELECT DISTINCT status FROM subscribers WHERE email LIKE 'reader%'") == \
        [("unsubscribed",)]
