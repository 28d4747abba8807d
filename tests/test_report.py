"""`report`: how a send went, counted from what really came back — SendGrid's signed events through the real
webhook, the readers' own pages on a real server, an SMTP server's answers (aiosmtpd) and the bounce mailbox —
per edition and in total, with the warnings the published limits call for; nothing per person."""

from __future__ import annotations

import json
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from stores import db_rows

import loopback
from smtp_sink import Recording
from test_send import configure, populate, sendgrid  # noqa: F401 — sendgrid is a fixture
from test_send_smtp import serving as smtp_serving
from test_web import key_pair, signed_post
from translated import approve_translations

pytestmark = pytest.mark.stores


def report_json(run, *args) -> dict:
    result = run("report", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def counts(outcome: dict, *names: str) -> tuple:
    return tuple(outcome[name] for name in names)


@pytest.fixture
def sent_by_sendgrid(run, workspace, sendgrid, monkeypatch):  # noqa: F811
    """30 readers (en, de, ru by turns: reader0 en, reader1 de, reader2 ru, …) sent 2024-05 through the local
    SendGrid server, every edition approved; each reader's personalization (custom args, List-Unsubscribe), by
    address."""
    approve_translations(workspace, ("2024-05",))
    configure(workspace)
    populate(workspace, 30)
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert result.exit_code == 0, result.output
    return {p["to"][0]["email"]: p for p in sendgrid.record.accepted}


def event(event_id: str, kind: str, personalization: dict | None = None, **extra) -> dict:
    """A SendGrid event as its webhook posts it, about the reader of `personalization` (custom args included)."""
    found = {"sg_event_id": event_id, "event": kind, "timestamp": 1780000000}
    if personalization is not None:
        found.update(email=personalization["to"][0]["email"], **personalization["custom_args"])
    return {**found, **extra}


def link(personalization: dict, page: str = "u") -> str:
    """The path of the reader's unsubscribe (or preferences) link, with the issue it came in."""
    url = personalization["headers"]["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    path = urlsplit(url)
    assert path.query == "issue=2024-05"
    return f"/{page}/{path.path.rsplit('/', 1)[1]}?{path.query}"


def test_report_counts_the_webhooks_events_and_the_readers_pages(run, workspace, sent_by_sendgrid, monkeypatch):
    """Per edition and in total: SendGrid's delivered, bounce, blocked, dropped, deferred and spamreport events (sent
    twice: counted once), an unsubscribe and a preference change through the links of 2024-05's messages, with rates
    and the warnings past SendGrid's 5 % and Gmail's 0.3 %; events naming no delivery of ours (a test send's, a
    stranger's, a row of another reader, an unknown and a malformed one) and an unsubscribe through a link without
    an issue are counted per day, not dropped."""
    from reader_pages import serving

    public, sign = key_pair()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", public)
    reader = {int(re.match(r"reader(\d+)@", email).group(1)): p for email, p in sent_by_sendgrid.items()}
    last_words = {0: "bounce", 3: "bounce", 1: "blocked", 2: "dropped", 5: "deferred"}
    events = [event(f"p{i}", "processed", reader[i]) for i in range(30)]
    events += [event(f"d{i}", "delivered", reader[i]) for i in range(30) if i not in last_words]
    events += [event(f"x{i}", "bounce", reader[i], type="blocked" if word == "blocked" else "bounce")
               for i, word in last_words.items() if word in ("bounce", "blocked")]
    events += [event("x2", "dropped", reader[2], reason="Bounced Address"), event("x5", "deferred", reader[5])]
    events += [event("s4", "spamreport", reader[4])]
    strangers = [
        event("t1", "delivered", None, email="editor@example.org", campaign="0", delivery="0"),  # a test send's
        event("t2", "bounce", None, email="stranger@example.org"),
        event("t3", "delivered", reader[6], delivery=reader[9]["custom_args"]["delivery"]),  # another reader's row
        event("t4", "brand_new_kind", reader[6]),
        event("t5", "spamreport", None, email="reader7@example.org"),  # no custom args: the reader, no campaign
    ]
    with serving(workspace) as served:
        for batch in (events, events, [*strangers, 42]):
            assert signed_post(served, sign, batch).status_code == 200
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        for _ in range(2):  # once counted: the second click changes nothing
            assert loopback.post(served["url"] + link(reader[6]), content=b"List-Unsubscribe=One-Click",
                                 headers=form).status_code == 200
        assert loopback.post(served["url"] + link(reader[10], "p"), data={"action": "save", "language": "ru"}
                             ).status_code == 200
        assert loopback.post(served["url"] + link(reader[13], "p"), data={"action": "save", "language": "de"}
                             ).status_code == 200  # nothing changed: not counted
        assert loopback.post(served["url"] + link(reader[9]).split("?")[0], content=b"List-Unsubscribe=One-Click",
                             headers=form).status_code == 200  # a link without the issue
    report = report_json(run, "2024-05")
    names = ("planned", "sent", "delivered", "deferred", "bounced", "blocked", "dropped", "complaints",
             "unsubscribes", "preference_changes", "open", "twice")
    assert counts(report["editions"]["en"], *names) == (10, 10, 8, 0, 2, 0, 0, 0, 1, 0, 0, 0)
    assert counts(report["editions"]["de"], *names) == (10, 10, 9, 0, 0, 1, 0, 1, 0, 1, 0, 0)
    assert counts(report["editions"]["ru"], *names) == (10, 10, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0)
    total = report["total"]
    assert counts(total, *names) == (30, 30, 25, 1, 2, 1, 1, 1, 1, 1, 0, 0)
    assert total["rates"]["bounced"] == pytest.approx(2 / 30)
    assert total["rates"]["complaints"] == pytest.approx(1 / 26)  # 30 sent, less 2 bounced, 1 blocked, 1 dropped
    assert report["editions"]["de"]["rates"]["complaints"] == pytest.approx(1 / 9)
    assert {(w["measure"], w["limit"]) for w in total["warnings"]} == {("bounced", 0.05), ("complaints", 0.003)}
    assert [w["measure"] for w in report["editions"]["en"]["warnings"]] == ["bounced"]
    assert report["editions"]["ru"]["warnings"] == []
    unmatched = Counter()
    for entry in report["unmatched"]:
        unmatched[entry["source"], entry["kind"], entry["reader"]] += entry["count"]
    assert unmatched == {("webhook", "delivered", False): 2, ("webhook", "bounce", False): 1,
                         ("webhook", "unknown", False): 1, ("webhook", "malformed", False): 1,
                         ("webhook", "complaint", True): 1, ("page", "unsubscribe", True): 1}
    text = run("report", "2024-05").stdout
    assert re.search(r"bounced \(hard\) +0 +2 \(20 %\)! +0 +2 \(6\.7 %\)!", text), text  # de, en, ru, total
    assert "Warning (total): spam complaints at 3.8 %: at or past the 0.3 % Gmail and Yahoo" in text
    assert "webhook, matched nobody: 1 bounce, 2 delivered, 1 malformed, 1 unknown" in text
    assert "@" not in text and "@" not in json.dumps(report)  # nothing per person


def test_report_counts_smtp_answers_and_the_bounce_mailbox(run, workspace, settings):
    """Over SMTP (aiosmtpd): a 550 5.1.1 at RCPT is a bounce, an address the server cannot carry (no SMTPUTF8) is
    dropped (not the reader's fault), a reader put off to the end stays open; the bounce mailbox's DSN and ARF
    complaint (through each message's return path) and a mailto unsubscribe (no issue named) count the same way."""
    from bounce_mail import RFC3464_MULTI, RFC5965_COMPLETE, arf, deliver, dsn, headers_of
    from test_bounces import MAILBOX
    from test_return_path import with_bounces

    addresses = populate(workspace, 6, languages=("en",))
    assert run("subscribers", "add", "jörg@example.org", "--language", "en").exit_code == 0
    with_bounces(workspace, f'\n[bounces]\naddress = "{MAILBOX}"\nmailbox = "maildir:private/bounces"\n')
    handler = Recording(refuse={addresses[1]}, defer={addresses[2]: 99})
    with smtp_serving(handler, workspace, smtputf8=False):
        result = run("send", "2024-05", "--segment", "all", "-b", "smtp", "--yes")
    assert result.exit_code == 3, result.output  # the reader put off stays open
    paths, messages = dict(handler.senders), {rcpt: content for _, rcpt, content in handler.messages}
    box = workspace / "private" / "bounces"
    box.parent.mkdir(mode=0o700, exist_ok=True)  # a PostgreSQL store makes no file there
    deliver(box, dsn(RFC3464_MULTI, return_path=paths[addresses[3]], reader=addresses[3],
                     original=headers_of(messages[addresses[3]])))
    deliver(box, arf(RFC5965_COMPLETE, mailbox=MAILBOX, reader=addresses[4], return_path=paths[addresses[4]],
                     original=headers_of(messages[addresses[4]])))
    mailto = re.search(rb"<mailto:([^?>]+)\?subject=unsubscribe>", messages[addresses[5]]).group(1).decode()
    deliver(box, f"Delivered-To: {mailto}\nTo: <{mailto}>\nSubject: unsubscribe\n\n".encode())
    assert run("bounces").exit_code == 0
    en = report_json(run, "2024-05")["editions"]["en"]
    assert counts(en, "planned", "sent", "refused", "bounced", "dropped", "open", "put_off", "complaints",
                  "unsubscribes", "delivered") == (7, 4, 2, 2, 1, 1, 1, 1, 0, 0)
    assert en["rates"]["bounced"] == pytest.approx(2 / 6)  # 4 sent and 2 refused went to the server
    assert en["rates"]["complaints"] == pytest.approx(1 / 3)  # 4 sent, less the one that bounced later
    assert [entry["kind"] for entry in report_json(run)["unmatched"]] == ["unsubscribe"]
    assert db_rows(settings, "SELECT count(*) FROM campaign_tallies") == [(1,)]  # one number, not a person


def test_without_an_id_every_campaign_newest_first(run, workspace, sendgrid):  # noqa: F811
    """Two issues to two segments: four campaigns, newest first, each with its totals; an issue never sent says so."""
    configure(workspace)
    populate(workspace, 8)
    for issue_id in ("2023-12", "2024-05"):
        for segment in ("russia", "all"):  # the readers of russia get it once: `all` sends the others
            assert run("send", issue_id, "--segment", segment, "--yes", "-b", "sendgrid").exit_code == 0
    overview = report_json(run)
    assert [(c["issue"], c["segment"]) for c in overview["campaigns"]] == \
           [("2024-05", "all"), ("2024-05", "russia"), ("2023-12", "all"), ("2023-12", "russia")]
    assert [c["total"]["planned"] for c in overview["campaigns"]] == [4, 4, 4, 4]
    lines = run("report").stdout.splitlines()
    assert lines[0].split()[:4] == ["issue", "segment", "started", "via"]
    assert [line.split()[:2] for line in lines[1:5]] == [["2024-05", "all"], ["2024-05", "russia"],
                                                         ["2023-12", "all"], ["2023-12", "russia"]]
    never = run("report", "2099-01")
    assert never.exit_code == 0 and never.stdout == "Issue 2099-01 has not been sent.\n"


@pytest.mark.browser
@pytest.mark.sqlite_only("the page shows numbers the other tests check on both stores; it is the same whichever "
                         "store they came from")
def test_the_html_report_loads_nothing_renders_and_passes_axe(run, workspace, browser, tmp_path, monkeypatch):
    """`report --html`: one file whose own Content-Security-Policy forbids everything but its hashed style; in headless
    Chromium it asks for nothing beyond itself, breaks no rule of its policy, shows both charts and the warnings, and
    axe-core finds nothing serious, in the light scheme and the dark."""
    from reader_pages import COLOUR_RULES, serving
    from test_reader_view import axe_violations, with_axe

    public, sign = key_pair()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", public)
    populate(workspace, 20)
    for issue_id in ("2023-12", "2024-05"):
        assert run("send", issue_id, "--segment", "all", "--yes", "--again").exit_code == 0
    rows = db_rows(workspace, "SELECT s.email, d.campaign_id, d.id, c.issue_id FROM deliveries d JOIN subscribers s"
                              " ON s.id = d.subscriber_id JOIN campaigns c ON c.id = d.campaign_id ORDER BY d.id")
    events = [{"sg_event_id": f"e{row}", "event": "bounce" if number % 7 == 0 else "delivered", "email": email,
               "campaign": str(campaign), "delivery": str(row)}
              for number, (email, campaign, row, _) in enumerate(rows)]
    with serving(workspace) as served:
        assert signed_post(served, sign, events).status_code == 200
    for args in (("2024-05",), ()):
        page_file = tmp_path / f"report{len(args)}.html"
        result = run("report", *args, "--html", str(page_file))
        assert result.exit_code == 0 and f"Wrote {page_file}" in result.output
        context = with_axe(browser.new_context(viewport={"width": 800, "height": 900}))
        page = context.new_page()
        asked, broken = [], []
        page.on("request", lambda request: asked.append(request.url))
        page.on("console", lambda message: broken.append(message.text) if message.type == "error" else None)
        page.goto(page_file.as_uri(), wait_until="load")
        assert asked == [page_file.as_uri()] and broken == []
        assert "default-src 'none'" in page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content")
        charts = page.locator("svg[role=img]")
        assert charts.count() == (3 if args else 2)
        assert all(charts.nth(i).bounding_box()["height"] > 50 for i in range(charts.count()))
        assert page.evaluate("getComputedStyle(document.querySelector('.warnings')).borderTopStyle") == "solid"
        assert "hard bounces at" in page.inner_text(".warnings")
        assert axe_violations(page) == []
        page.emulate_media(color_scheme="dark")
        assert axe_violations(page, COLOUR_RULES) == []
        context.close()


def test_both_ways_of_counting_agree(workspace, settings):
    """The ledger's rows in every state, with every word of the provider, SMTP's two refusals and `twice`, counted the
    way each store counts fastest (filtered counts on SQLite, groups on PostgreSQL): both ways agree, on both."""
    from mco_newsletter.storage.report_rows import ReportRows
    from mco_newsletter.subscribers.store import open_store

    states = ("pending", "sending", "failed", "sent", "maybe_sent", "skipped", "refused")
    words = (None, "delivered", "deferred", "bounce", "soft_bounce", "blocked", "dropped")
    store = open_store(settings.store)
    with store.transaction() as db:
        campaign = db.value("INSERT INTO campaigns (issue_id, segment, settings_snapshot, started_at) VALUES"
                            " ('x', 'all', '{}', 't') RETURNING id")
        number = 0
        for language in ("de", "en"):
            for state in states:
                for word in words:
                    for twice, error in ((0, None), (1, "refused by the server: 550 5.1.1"), (0, "not carried")):
                        number += 1
                        db.execute("INSERT INTO deliveries (campaign_id, subscriber_id, language, state,"
                                   " provider_event, twice, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   (campaign, number, language, state, word, twice, error))
    rows = ReportRows(store.db)
    filtered, grouped = rows._filtered([campaign]), rows._grouped([campaign])
    store.close()
    assert sorted(filtered) == sorted(grouped)
    en = {row.language: row.counts for row in filtered}["en"]
    assert en["planned"] == len(states) * len(words) * 3 and en["twice"] == len(states) * len(words)
    assert (en["open"], en["put_off"], en["smtp_bounces"]) == (3 * 21, 21, 7)
    assert en["delivered"] == en["provider_dropped"] == 2 * 3  # of the rows sent or maybe sent only
