"""Sending: the ledger's exactly-once promise through the outbox, a spec-validating SendGrid server and SMTP."""

from __future__ import annotations

import json
from collections import Counter
from email import message_from_bytes
from email.policy import default

import pytest
from stores import db_rows

from conftest import set_setting
from sendgrid_server import API_KEY, Faults, SendGridServer

pytestmark = pytest.mark.stores

FAST_RETRIES = """
[sending]
backend = "outbox"
max_retries = 8
retry_base_seconds = 0.001
retry_max_seconds = 0.01
rate_limit_max_wait_seconds = 0.05
"""


def configure(workspace, extra: str = "") -> None:
    """Replace the [sending] table with fast retries (and append `extra`)."""
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[sending]")
    end = text.index("[sendgrid]")
    path.write_text(text[:start] + FAST_RETRIES.strip() + "\n\n" + text[end:] + extra, encoding="utf-8")


def populate(workspace, count: int, *, languages=("en", "de", "ru")) -> list[str]:
    """Import `count` active subscribers through the real import; return their addresses."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.subscribers.importing import import_csv
    from mco_newsletter.subscribers.store import open_store

    addresses = [f"reader{i}@example.org" for i in range(count)]
    path = workspace / "readers.csv"
    path.write_text("email,language,tags\n" + "".join(
        f"{a},{languages[i % len(languages)]},{'russia' if i % 2 else 'press'}\n" for i, a in enumerate(addresses)),
        encoding="utf-8")
    settings = load_settings(workspace)
    store = open_store(settings.store)
    import_csv(store, path, languages=settings.languages, default_language=None, extra_tags=(),
               erasure_key=b"e" * 32, resubscribe=False, dry_run=False)
    store.close()
    return addresses


@pytest.fixture
def sendgrid(monkeypatch):
    """A local SendGrid server, and the environment pointing the backend at it."""
    server = SendGridServer().start()
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", server.url)
    yield server
    server.shutdown()


def ledger_counts(run, issue="2024-05"):
    return json.loads(run("send-status", issue, "--json").stdout)["campaigns"]


def test_outbox_sends_each_reader_once_with_their_own_link(run, workspace, settings):
    """Outbox: one complete .eml per reader, their address, their token, and a rerun adds nothing."""
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import read_token, unsubscribe_secret

    configure(workspace)
    addresses = populate(workspace, 30)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "en edition: 30 (of them 20 as fallback)" in result.stdout
    files = sorted((workspace / "private" / "outbox" / "new").iterdir())
    assert len(files) == 30
    secret = unsubscribe_secret(workspace / "private")
    store = open_store(settings.store)
    seen = []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=default)
        email = str(message["To"])
        seen.append(email)
        token = message["List-Unsubscribe"].split("/u/")[1].split("?issue=2024-05>")[0]
        assert store.by_id(read_token(secret, token, nonce_of=store.nonce)).email == email
        html = message.get_body(("html",)).get_content()
        assert f"https://digest.example.org/u/{token}" in html and "mcounsub" not in html
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    store.close()
    assert sorted(seen) == sorted(addresses)
    again = run("send", "2024-05", "--segment", "all", "--yes")
    assert again.exit_code == 0 and "Nothing left to send." in again.stdout
    assert len(list((workspace / "private" / "outbox" / "new").iterdir())) == 30


def test_dry_run_and_test_to_record_nothing(run, workspace):
    """--dry-run prints the plan; --test-to sends each edition once marked [TEST]; neither touches the ledger."""
    configure(workspace)
    populate(workspace, 4)
    dry = run("send", "2024-05", "--segment", "russia", "--dry-run")
    assert dry.exit_code == 0
    assert "Issue 2024-05 to segment 'russia': 2 readers" in dry.stdout
    assert "First readers: reader1@example.org [en], reader3@example.org [en]" in dry.stdout
    test = run("send", "2024-05", "--segment", "all", "--test-to", "editor@example.org")
    assert test.exit_code == 0, test.output
    [path] = (workspace / "private" / "outbox" / "new").iterdir()
    assert message_from_bytes(path.read_bytes(), policy=default)["Subject"] == "[TEST] Digest May 2024"
    assert ledger_counts(run) == []


def test_unapproved_fallback_is_refused(run, workspace):
    """When readers would get an unreviewed edition (here: a fallback without translation), send refuses."""
    configure(workspace)
    populate(workspace, 3)
    text = (workspace / "newsletter.toml").read_text().replace('fallback_language = "en"', 'fallback_language = "de"')
    (workspace / "newsletter.toml").write_text(text)
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 1
    assert "the fallback edition (de) is not approved" in result.stderr
    assert ledger_counts(run) == []


def test_sendgrid_with_faults_every_reader_exactly_once(run, workspace, sendgrid):
    """5,000 readers, 20% injected faults (429, 5xx, slow, dropped): each accepted exactly once."""
    configure(workspace)
    addresses = populate(workspace, 5000)
    sendgrid.faults = Faults(rate_limit=0.05, server_error=0.05, slow=0.05, drop=0.05, slow_seconds=0.05, seed=7)
    sendgrid.random.seed(7)
    result = run("send", "2024-05", "--segment", "all", "--backend", "sendgrid", "--yes")
    assert result.exit_code == 0, result.output
    received = Counter(sendgrid.record.recipients())
    assert sorted(received) == sorted(addresses)
    assert set(received.values()) == {1}
    assert sum(sendgrid.record.faults.values()) > 0 and not sendgrid.record.invalid
    assert sendgrid.record.accepted_requests == 5  # one per 1,000 readers of the one edition
    assert API_KEY not in result.output
    private = b"".join(p.read_bytes() for p in (workspace / "private").iterdir() if p.is_file())
    assert API_KEY.encode() not in private  # not in the ledger, the settings snapshot or anywhere else
    [campaign] = ledger_counts(run)
    assert campaign["editions"] == {"en": {"sent": 5000}} and campaign["finished_at"]


def test_sendgrid_request_shape(run, workspace, sendgrid):
    """Personalizations carry the token, List-Unsubscribe headers and only campaign/row ids; tracking is off."""
    configure(workspace)
    populate(workspace, 3)
    sendgrid.keep_bodies = True
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 0
    [raw] = sendgrid.record.bodies
    body = json.loads(raw)
    assert body["categories"] == ["2024-05", "en"]
    assert body["tracking_settings"] == {"click_tracking": {"enable": False, "enable_text": False},
                                         "open_tracking": {"enable": False},
                                         "subscription_tracking": {"enable": False}}
    assert body["mail_settings"] == {"sandbox_mode": {"enable": False}}
    html = next(c["value"] for c in body["content"] if c["type"] == "text/html")
    for personalization in body["personalizations"]:
        [tag] = personalization["substitutions"]
        token = personalization["substitutions"][tag]
        assert tag in html
        assert set(personalization["custom_args"]) == {"campaign", "delivery"}
        assert "@" not in json.dumps(personalization["custom_args"])
        assert personalization["headers"]["List-Unsubscribe"].startswith(
            f"<https://digest.example.org/u/{token}?issue=2024-05>, <mailto:")
        assert personalization["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_sendgrid_carries_the_pictures_and_the_bulk_headers(run, workspace, sendgrid):
    """With embedded pictures (the default), every cid: in the HTML has an inline attachment with that Content-ID,
    holding the picture itself; Precedence, X-Auto-Response-Suppress and Feedback-ID travel as in SMTP mail."""
    import base64
    import re

    configure(workspace)
    populate(workspace, 2, languages=("en",))
    sendgrid.keep_bodies = True
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 0
    [raw] = sendgrid.record.bodies
    body = json.loads(raw)
    html = next(c["value"] for c in body["content"] if c["type"] == "text/html")
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    assert referenced, "the sample issue has a picture: the HTML should embed it"
    attachments = {a["content_id"]: a for a in body.get("attachments", [])}
    assert set(attachments) == referenced
    for attachment in attachments.values():
        assert attachment["disposition"] == "inline"
        assert attachment["type"] == "image/png"
        assert base64.b64decode(attachment["content"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert body["headers"]["Precedence"] == "bulk"
    assert body["headers"]["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert body["headers"]["Feedback-ID"].startswith("2024-05:en:")


def test_sendgrid_sandbox_and_schedule(run, workspace, sendgrid):
    """sandbox_mode and send_at come from settings (a send_at within SendGrid's 72 hours)."""
    import time

    configure(workspace)
    send_at = int(time.time()) + 3600
    text = (workspace / "newsletter.toml").read_text().replace("sandbox_mode = false",
                                                                f"sandbox_mode = true\nsend_at = {send_at}")
    (workspace / "newsletter.toml").write_text(text)
    populate(workspace, 2)
    sendgrid.keep_bodies = True
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 0
    body = json.loads(sendgrid.record.bodies[0])
    assert body["mail_settings"]["sandbox_mode"]["enable"] is True and body["send_at"] == send_at


def test_sendgrid_refusal_stops_and_shows_the_error(run, workspace, sendgrid, monkeypatch):
    """401 (bad key) stops at once with SendGrid's message, records nothing as sent, never shows the key."""
    configure(workspace)
    populate(workspace, 10)
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong-key-that-must-not-appear")
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 1
    assert "SendGrid refused the request (401)" in result.stderr and "authorization grant is invalid" in result.stderr
    assert "wrong-key" not in result.output
    assert ledger_counts(run)[0]["editions"] == {"en": {"pending": 10}}
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    resumed = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert resumed.exit_code == 0 and Counter(sendgrid.record.recipients()).most_common(1)[0][1] == 1


def test_retries_exhausted_exit_3_then_resume(run, workspace, sendgrid):
    """A provider that keeps failing leaves rows failed and exits 3; a rerun sends exactly those."""
    configure(workspace)
    addresses = populate(workspace, 1500)
    sendgrid.faults = Faults(server_error=1.0)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 3, result.output
    assert "gave up after 8 retries" in result.stderr
    sendgrid.faults = Faults()
    resumed = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert Counter(sendgrid.record.recipients()) == Counter(addresses)


def test_unsubscribed_during_campaign_are_skipped(workspace, settings, run):
    """Readers who leave after the campaign started are skipped, not sent."""
    from mco_newsletter.delivery.campaign import edition_map, snapshot
    from mco_newsletter.delivery.ledger import Ledger
    from mco_newsletter.subscribers.segments import Segment
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.workspace import load_issue

    configure(workspace)
    populate(workspace, 6)
    store = open_store(settings.store)
    issue = load_issue(settings, "2024-05")
    Ledger(store).create(issue_id=issue.id, segment=Segment("all"), editions=edition_map(settings, issue),
                         fallback="en", snapshot=snapshot(settings, "outbox"))
    with store.transaction():
        store.set_status(store.get("reader2@example.org").id, "unsubscribed")
        store.set_status(store.get("reader4@example.org").id, "bounced")
    store.close()
    assert run("subscribers", "erase", "reader5@example.org", "--yes").exit_code == 0
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "3 sent, 0 failed, 2 skipped" in result.stdout
    sent = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["To"])
                  for p in (workspace / "private" / "outbox" / "new").iterdir())
    assert sent == ["reader0@example.org", "reader1@example.org", "reader3@example.org"]
    store = open_store(settings.store)
    with store.transaction():  # came back (the "subscribe again" button keeps their id)
        store.resubscribe(store.get("reader2@example.org").id, "asked again")
    store.close()
    back = run("send", "2024-05", "--segment", "all", "--yes")
    assert "Joined the segment since: 1 reader" in back.stdout and "This run: 1 sent" in back.stdout
    assert outbox_recipients(workspace)["reader2@example.org"] == 1


def outbox_recipients(workspace) -> Counter:
    new = workspace / "private" / "outbox" / "new"
    return Counter(str(message_from_bytes(p.read_bytes(), policy=default)["To"]) for p in new.iterdir()) \
        if new.exists() else Counter()


def test_a_second_segment_skips_readers_who_already_got_the_issue(run, workspace):
    """`--segment all` then `--segment russia`: nobody gets the issue twice; the plan says how many got it
    already; --again sends it to them anyway."""
    configure(workspace)
    addresses = populate(workspace, 6)
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    second = run("send", "2024-05", "--segment", "russia", "--yes")
    assert second.exit_code == 0, second.output
    assert "Issue 2024-05 to segment 'russia': 0 readers" in second.stdout
    assert "Already sent: 3 readers got 2024-05 in another campaign" in second.stdout
    assert outbox_recipients(workspace) == Counter(addresses)
    (workspace / "newsletter.toml").write_text((workspace / "newsletter.toml").read_text()
                                               + '\n[segments.press]\ntags_any = ["press"]\n')
    again = run("send", "2024-05", "--segment", "press", "--again", "--yes")
    assert again.exit_code == 0, again.output
    assert "Issue 2024-05 to segment 'press': 3 readers" in again.stdout
    assert outbox_recipients(workspace) == Counter(addresses) + Counter(addresses[0::2])


def test_a_rerun_sends_readers_who_joined_since(run, workspace):
    """Readers who joined the segment after the campaign are shown and sent by a rerun, once."""
    configure(workspace)
    populate(workspace, 3)
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    assert run("subscribers", "add", "late@example.org", "--language", "de").exit_code == 0
    dry = run("send", "2024-05", "--segment", "all", "--dry-run")
    assert "Joined the segment since: 1 reader" in dry.stdout and "late@example.org [en]" in dry.stdout
    rerun = run("send", "2024-05", "--segment", "all", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert "This run: 1 sent" in rerun.stdout
    assert outbox_recipients(workspace)["late@example.org"] == 1 and sum(outbox_recipients(workspace).values()) == 4
    assert run("send", "2024-05", "--segment", "all", "--yes").stdout.strip().endswith("Nothing left to send.")


@pytest.mark.parametrize("problem", ["no_api_key", "api_key_two_lines", "lone_cr_title", "smtp_timeout",
                                     "sendgrid_http_host"])
def test_checked_before_anything_is_written(run, workspace, write_issue, monkeypatch, problem):
    """A missing key, a title that cannot be a header, a bad setting: refused before any campaign or row exists."""
    from mco_newsletter.config import load_settings

    configure(workspace)
    populate(workspace, 3)
    settings = load_settings(workspace)  # before a problem makes them unreadable
    backend = "outbox"
    if problem == "no_api_key":
        monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
        backend = "sendgrid"
    elif problem == "api_key_two_lines":  # would split the Authorization header
        monkeypatch.setenv("SENDGRID_API_KEY", "SG.first-line\r\nX-Injected: yes")
        backend = "sendgrid"
    elif problem == "lone_cr_title":
        text = (workspace / "issues" / "2024-05" / "issue.md").read_text(encoding="utf-8")
        front, rest = text.split("\n", 1)[0], text.split("\n", 1)[1]
        title = next(line for line in rest.splitlines() if line.startswith("title:"))
        write_issue("2024-05", front + "\n" + rest.replace(title, 'title: "Digest\\rBcc: x@example.org"'), dedent=False)
    elif problem == "smtp_timeout":
        set_setting(workspace, "timeout = 30\n\n[webhook]", "timeout = -1\n\n[webhook]")
        backend = "smtp"
    elif problem == "sendgrid_http_host":
        monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
        monkeypatch.setenv("SENDGRID_API_HOST", "http://api.sendgrid.example")
        backend = "sendgrid"
    result = run("send", "2024-05", "--segment", "all", "-b", backend, "--yes")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and (result.stderr.startswith("Error") or ":" in result.stderr)
    assert db_rows(settings, "SELECT count(*) FROM campaigns") == [(0,)]
    assert db_rows(settings, "SELECT count(*) FROM deliveries") == [(0,)]


def drop_language(workspace, code: str) -> None:
    """Remove every per-language value of `code` from newsletter.toml (inline tables and [table] lines)."""
    import re

    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(rf', {code} = "[^"]*"', "", text)
    text = re.sub(rf'^{code} = "[^"]*"\n', "", text, flags=re.M)
    path.write_text(text, encoding="utf-8")


def test_a_reader_language_no_longer_offered_gets_the_fallback(run, workspace):
    """A subscriber whose language left `languages` is planned and sent the fallback edition, no IntegrityError."""
    configure(workspace)
    populate(workspace, 3)
    set_setting(workspace, 'languages = ["en", "de", "ru"]', 'languages = ["en", "de"]')
    drop_language(workspace, "ru")
    dry = run("send", "2024-05", "--segment", "all", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "en edition: 3 (of them 2 as fallback)" in dry.stdout
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert sum(outbox_recipients(workspace).values()) == 3


def test_sendgrid_redirect_is_an_error_not_an_acceptance(run, workspace, sendgrid):
    """A 302 from the API host (a proxy or captive portal answering GET with 200) is an error: nothing recorded as sent."""
    configure(workspace)
    populate(workspace, 30)
    sendgrid.faults = Faults(redirect=1.0)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 1, result.output
    assert "answered 302, a redirect to /portal: nothing was sent" in result.stderr
    assert sendgrid.record.accepted == []
    assert ledger_counts(run)[0]["editions"] == {"en": {"pending": 30}}


def test_sendgrid_answer_that_never_came_is_counted(run, workspace, sendgrid):
    """A request SendGrid accepted but answered too late is ambiguous: resent, and its readers are counted
    and warned about (they may have it twice) — exactly the readers who did get it twice."""
    configure(workspace, "")
    set_setting(workspace, "subscription_tracking = false\ntimeout = 30", "subscription_tracking = false\ntimeout = 0.3")
    addresses = populate(workspace, 3000)
    sendgrid.faults = Faults(slow_accept=0.4, slow_accept_seconds=0.8, seed=3)
    sendgrid.random.seed(3)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 0, result.output
    received = Counter(sendgrid.record.recipients())
    assert set(received) == set(addresses)
    twice = sum(1 for count in received.values() if count > 1)
    assert twice >= 1000
    assert f"{twice:,} readers were in a request that got no answer" in result.stderr


def test_test_to_with_the_outbox_keeps_every_edition(run, workspace, settings):
    """--test-to writes one file per edition (distinct names), each marked [TEST]."""
    from translated import approve_translations

    configure(workspace)
    approve_translations(workspace, ("2024-05",), ("de",))
    result = run("send", "2024-05", "--segment", "all", "--test-to", "editor@example.org")
    assert result.exit_code == 0, result.output
    files = list((workspace / "private" / "outbox" / "new").iterdir())
    languages = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["Content-Language"]) for p in files)
    assert languages == ["de", "en"]


def test_a_full_disk_under_the_outbox(run, workspace, tmp_path):
    """A full outbox file system: a clear error, no cut-off message in tmp/, unsent rows back to pending, exit 3;
    after freeing space, a rerun sends the rest, each reader once."""
    import subprocess

    configure(workspace)
    addresses = populate(workspace, 40)
    outbox = workspace / "private" / "outbox"
    outbox.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k,mode=0700", "tmpfs", str(outbox)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        result = run("send", "2024-05", "--segment", "all", "--yes")
        assert result.exit_code == 3, result.output
        assert "Error: cannot write to the outbox" in result.stderr and "No space left on device" in result.stderr
        assert "free some disk space" in result.stderr and "Traceback" not in result.output
        assert list((outbox / "tmp").iterdir()) == []
        written = len(list((outbox / "new").iterdir()))
        assert 0 < written < 40
        assert ledger_counts(run)[0]["editions"] == {"en": {"sent": written, "pending": 40 - written}}
        copied = {p.name: p.read_bytes() for p in (outbox / "new").iterdir()}
    finally:
        subprocess.run(["umount", str(outbox)], check=True)
    (outbox / "new").mkdir(parents=True)
    for name, data in copied.items():
        (outbox / "new" / name).write_bytes(data)
    rerun = run("send", "2024-05", "--segment", "all", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert outbox_recipients(workspace) == Counter(addresses)


@pytest.mark.parametrize("old,new,message", [
    ("timeout = 30\n\n[webhook]", "timeout = -1\n\n[webhook]", "smtp.timeout must be a number of seconds: above 0"),
    ("timeout = 30\n\n[smtp]", "timeout = 0\n\n[smtp]", "sendgrid.timeout must be a number of seconds: above 0"),
    ('api_host = "https://api.sendgrid.com"', 'api_host = "http://api.sendgrid.com"', "must start with https://"),
    ('api_host = "https://api.sendgrid.com"', 'api_host = "https://api.sendgrid.com\\r\\nX: y"', "one line"),
    ("messages_per_second = 0 ", "messages_per_second = nan ", "smtp.messages_per_second must be a rate"),
    ("max_age_seconds = 300", "max_age_seconds = -1", "webhook.max_age_seconds must be a number of seconds"),
    ('host = "localhost"', 'host = "smtp example.org"', "smtp.host 'smtp example.org' is not a host name"),
    ("retry_max_seconds = 30 ", "retry_max_seconds = inf ", "sending.retry_max_seconds must be a number of seconds"),
    ("max_retries = 6 ", "max_retries = 1000 ", "sending.max_retries must be between 0 and 100"),
], ids=["smtp_timeout", "sendgrid_timeout", "http_api_host", "api_host_two_lines", "nan_rate", "max_age",
        "host_with_space", "infinite_backoff", "max_retries"])
def test_check_validates_sending_settings_as_they_are_used(run, workspace, old, new, message):
    """`check` refuses sending values that could not work (non-positive timeouts, http API hosts, NaN …), with the line."""
    set_setting(workspace, old, new)
    result = run("check")
    assert result.exit_code == 1
    line = next(number for number, text in enumerate((workspace / "newsletter.toml").read_text().splitlines(), 1)
                if text.startswith(new.split("\n")[0].strip()))
    reported = [text for text in result.stderr.splitlines() if text.startswith(f"newsletter.toml:{line}: ")]
    assert reported and message in reported[0], result.stderr


def test_test_to_twice_sends_to_both(run, workspace):
    """Two --test-to addresses: each gets every edition, and the output names each (a second one replaced the first)."""
    configure(workspace)
    result = run("send", "2024-05", "--segment", "all", "--test-to", "editor@example.org",
                 "--test-to", "lead@example.org")
    assert result.exit_code == 0, result.output
    files = list((workspace / "private" / "outbox" / "new").iterdir())
    to = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["To"]) for p in files)
    assert to == ["editor@example.org", "lead@example.org"]
    assert "[TEST] 2024-05 [en] sent to editor@example.org via outbox" in result.stdout
    assert "[TEST] 2024-05 [en] sent to lead@example.org via outbox" in result.stdout
    assert ledger_counts(run) == []


def test_send_json_plan_and_outcome(run, workspace):
    """send --json: the plan on a dry run, the plan and the outcome of a send; it asks nothing, so it needs --yes
    or --dry-run."""
    configure(workspace)
    populate(workspace, 6)
    asking = run("send", "2024-05", "--segment", "all", "--json")
    assert asking.exit_code == 2 and "--json asks no question: add --yes" in asking.stderr
    assert not (workspace / "private" / "outbox").exists()
    dry = json.loads(run("send", "2024-05", "--segment", "all", "--json", "--dry-run").stdout)
    assert dry["dry_run"] is True and dry["outcome"] is None
    assert dry["plan"]["readers"] == 6 and dry["plan"]["backend"] == "outbox"
    assert dry["plan"]["editions"] == {"en": {"readers": 6, "fallbacks": 4}}
    assert dry["plan"]["first_readers"][0] == {"email": "reader0@example.org", "language": "en"}
    result = run("send", "2024-05", "--segment", "all", "--json", "--yes")
    assert result.exit_code == 0, result.output
    sent = json.loads(result.stdout)
    assert sent["outcome"]["sent"] == 6 and sent["outcome"]["complete"] is True
    assert sent["outcome"]["editions"] == {"en": {"sent": 6}} and sent["outcome"]["error"] is None
    assert len(list((workspace / "private" / "outbox" / "new").iterdir())) == 6
    rerun = json.loads(run("send", "2024-05", "--segment", "all", "--json", "--yes").stdout)
    assert rerun["plan"]["readers"] == 0 and rerun["plan"]["campaign"] is not None and rerun["outcome"] is None
    test = json.loads(run("send", "2024-05", "--segment", "all", "--json", "--test-to", "a@example.org",
                          "--test-to", "b@example.org").stdout)
    assert test["test"] == [{"language": "en", "address": "a@example.org"}, {"language": "en", "address": "b@example.org"}]
