"""Scheduled sends: `send --at` in the organisation's time zone, kept in the store until `send --due` sends it once
(two real processes at once), held back with its reason when an edition became unready, or handed to the local
SendGrid server with send_at and a batch id and cancelled through the Scheduled Sends API, every request validated
against Twilio's specs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from stores import db_rows, db_run

from conftest import REPO, set_setting
from test_send import configure, ledger_counts, outbox_recipients, populate, sendgrid  # noqa: F401 (a fixture)
from translated import approve_translations

pytestmark = pytest.mark.stores
HELSINKI = ZoneInfo("Europe/Helsinki")


def local_in(delta: dt.timedelta) -> str:
    """The wall-clock time in Helsinki `delta` from now, as --at takes it (to the minute, rounded up)."""
    moment = dt.datetime.now(HELSINKI) + delta + dt.timedelta(minutes=1)
    return f"{moment:%Y-%m-%d %H:%M}"


def make_due(workspace) -> None:
    """Time passes: every waiting schedule's time is a minute ago."""
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).replace(microsecond=0).isoformat()
    db_run(workspace, "UPDATE schedules SET due_at = ? WHERE state = 'waiting'", (past,))


def schedules(run) -> list[dict]:
    return json.loads(run("schedule", "list", "--all", "--json").stdout)["schedules"]


def test_at_is_read_in_the_time_zone_and_a_time_that_passed_is_refused(run, workspace):
    """The plan shows the time in Europe/Helsinki and in UTC; a past time, a time the clocks skip or show twice, a
    date that does not exist and a missing time_zone are refused (exit 2), nothing scheduled."""
    configure(workspace)
    populate(workspace, 3)
    plan = run("send", "2024-05", "--segment", "all", "--at", "2031-06-03 08:00", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "At 2031-06-03 08:00 Europe/Helsinki (EEST, UTC+03:00) = 2031-06-03 05:00 UTC: kept here" in plan.stdout
    assert "Dry run: nothing scheduled" in plan.stdout
    for when, said in (("2020-06-03 08:00", "has passed"),
                       ("2031-03-30 03:30", "does not exist in Europe/Helsinki: the clocks skip it"),
                       ("2031-10-26 03:30", "happens twice in Europe/Helsinki"),
                       ("2031-02-30 08:00", "is not a date and time that exists"),
                       ("next tuesday", "is not a date and time")):
        refused = run("send", "2024-05", "--segment", "all", "--at", when, "--yes")
        assert refused.exit_code == 2 and said in refused.stderr, (when, refused.output)
    set_setting(workspace, 'time_zone = "Europe/Helsinki"', "")
    unknown = run("send", "2024-05", "--segment", "all", "--at", "2031-06-03 08:00", "--yes")
    assert unknown.exit_code == 2 and "names no time_zone" in unknown.stderr
    assert run("send", "2024-05", "--segment", "all", "--at", "2031-06-03 08:00Z", "--dry-run").exit_code == 0
    assert schedules(run) == []


def test_check_names_a_time_zone_that_does_not_exist(run, workspace):
    """time_zone is checked like every setting: its line, and what to write."""
    set_setting(workspace, 'time_zone = "Europe/Helsinki"', 'time_zone = "Europe/Atlantis"')
    result = run("check")
    assert result.exit_code == 1
    assert "newsletter.toml:17: time_zone 'Europe/Atlantis' is not a time zone this system knows" in result.output


def test_a_schedule_kept_here_goes_out_once_it_is_due(run, workspace):
    """The outbox: scheduled, nothing goes before its time, `send --due` sends it once it is due, the next run sends
    nothing; a plain send of the same issue and segment is refused while it waits; one left `sending` by a process
    that died is taken over."""
    configure(workspace)
    addresses = populate(workspace, 6)
    result = run("send", "2024-05", "--segment", "all", "--at", local_in(dt.timedelta(days=2)), "--yes")
    assert result.exit_code == 0 and "Scheduled #1: 2024-05 to 'all'" in result.stdout, result.output
    early = run("send", "--due")
    assert early.exit_code == 0 and early.output == ""
    assert outbox_recipients(workspace) == Counter()
    plain = run("send", "2024-05", "--segment", "all", "--yes")
    assert plain.exit_code == 1 and "is scheduled (#1" in plain.stderr
    make_due(workspace)
    due = run("send", "--due")
    assert due.exit_code == 0, due.output
    assert "#1 2024-05 to 'all' via outbox" in due.stdout and "sent; campaign: 6 sent." in due.stdout
    assert outbox_recipients(workspace) == Counter(addresses)
    assert run("send", "--due").output == ""
    assert [row["state"] for row in schedules(run)] == ["done"] and run("schedule", "list").stdout == \
        "Nothing is scheduled.\n"
    # A schedule a dead process left `sending` (claimed long ago) is taken over and sent.
    assert run("send", "2023-12", "--segment", "all", "--at", local_in(dt.timedelta(hours=1)), "--yes").exit_code == 0
    db_run(workspace, "UPDATE schedules SET state = 'sending', claimed_by = 'gone:1:x', claimed_at = ? WHERE id = 2",
           ("2020-01-01T00:00:00+00:00",))
    taken_over = run("send", "--due")
    assert taken_over.exit_code == 0 and "#2 2023-12" in taken_over.stdout
    assert ledger_counts(run, "2023-12")[0]["editions"] == {"en": {"sent": 6}}


def test_two_due_runs_at_once_send_each_reader_once(run, workspace):
    """Two `send --due` processes started together (two timers firing at once), two schedules due: every reader gets
    each issue exactly once, each schedule is sent by one process, nobody may have it twice."""
    configure(workspace)
    addresses = populate(workspace, 300)
    for issue_id in ("2023-12", "2024-05"):
        assert run("send", issue_id, "--segment", "all", "--at", local_in(dt.timedelta(hours=3)),
                   "--yes").exit_code == 0
    make_due(workspace)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    processes = [subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "send",
                                   "--due", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    sent = [due["schedule"]["issue"] for out, _ in outputs for due in json.loads(out)["due"] if due["sent"]]
    assert sorted(sent) == ["2023-12", "2024-05"]
    assert outbox_recipients(workspace) == Counter(addresses * 2)
    assert [row["state"] for row in schedules(run)] == ["done", "done"]
    assert {(row[0], row[1]) for row in db_rows(workspace, "SELECT state, twice FROM deliveries")} == {("sent", 0)}


def test_an_edition_that_became_unready_holds_the_schedule_back(run, workspace):
    """Checked with the German edition approved; by its time a piece is back to draft: nothing goes (exit 1), the
    reason is said and listed, the schedule stays; once approved again the next `send --due` sends it."""
    approve_translations(workspace, ("2024-05",))
    configure(workspace)
    populate(workspace, 6)
    result = run("send", "2024-05", "--segment", "all", "--at", local_in(dt.timedelta(hours=5)), "--yes")
    assert result.exit_code == 0, result.output
    assert schedules(run)[0]["editions"] == ["de", "en", "ru"]
    catalog = workspace / "issues" / "2024-05" / "de.po"
    approved = catalog.read_text(encoding="utf-8")
    first = approved.index("\nmsgctxt", approved.index("msgstr"))
    catalog.write_text(approved[:first] + "\n#, fuzzy" + approved[first:], encoding="utf-8")
    make_due(workspace)
    held = run("send", "--due")
    assert held.exit_code == 1, held.output
    assert "not sent: the de edition is no longer ready (not approved:" in held.stderr
    assert ledger_counts(run) == []
    listed = run("schedule", "list").stdout
    assert "#1  2024-05 to 'all' via outbox" in listed and "waiting [de, en, ru]" in listed
    assert "the de edition is no longer ready" in listed.splitlines()[1]
    catalog.write_text(approved, encoding="utf-8")
    again = run("send", "--due")
    assert again.exit_code == 0 and "sent; campaign: 6 sent." in again.stdout, again.output
    assert set(ledger_counts(run)[0]["editions"]) == {"de", "en", "ru"}


def test_sendgrid_holds_a_send_within_72_hours_and_cancels_it(run, workspace, sendgrid):  # noqa: F811
    """Within 72 hours SendGrid holds it: a batch id from POST /v3/mail/batch, every request with that batch id and the
    send_at of the time (validated against the spec); `schedule cancel` posts status "cancel" to the Scheduled Sends
    API (validated against its spec), and the readers are pending again; a second cancel is refused."""
    configure(workspace)
    addresses = populate(workspace, 30)
    when = local_in(dt.timedelta(hours=26))
    result = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--at", when, "--yes")
    assert result.exit_code == 0, result.output
    assert "Readers who leave before then still get it" in result.stdout
    assert "Scheduled #1 with SendGrid (batch " in result.stdout and "30 messages handed over" in result.stdout
    [(batch_id, batch)] = sendgrid.record.batches.items()
    expected = int(dt.datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=HELSINKI).timestamp())
    assert batch == {"send_at": expected, "status": None, "recipients": 30}
    assert sorted(sendgrid.record.recipients()) == sorted(addresses) and sendgrid.record.invalid == []
    assert ledger_counts(run)[0]["editions"] == {"en": {"sent": 30}}
    assert "with SendGrid (batch " in run("schedule", "list").stdout
    assert run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes").exit_code == 1
    cancelled = run("schedule", "cancel", "1", "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "SendGrid discards the 30 messages of batch" in cancelled.stdout
    assert ("POST", "/v3/user/scheduled_sends", {"batch_id": batch_id, "status": "cancel"}) in \
        sendgrid.record.scheduled_requests
    assert sendgrid.record.batches[batch_id]["status"] == "cancel" and sendgrid.record.invalid == []
    assert ledger_counts(run)[0]["editions"] == {"en": {"pending": 30}}
    assert "cancelled already" in run("schedule", "cancel", "1", "--yes").stderr
    resent = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--yes")
    assert resent.exit_code == 0 and ledger_counts(run)[0]["editions"] == {"en": {"sent": 30}}


def test_sendgrid_beyond_72_hours_waits_here_and_too_late_is_said(run, workspace, sendgrid):  # noqa: F811
    """Five days ahead SendGrid cannot hold it: it waits here and `send --due` sends it through SendGrid then, with no
    send_at; a SendGrid schedule five minutes ahead cannot be cancelled any more (SendGrid's 10 minutes)."""
    configure(workspace)
    populate(workspace, 4)
    later = run("send", "2023-12", "--segment", "all", "-b", "sendgrid", "--at", local_in(dt.timedelta(days=5)),
                "--yes")
    assert later.exit_code == 0 and "SendGrid holds a send at most 72 hours ahead" in later.stdout
    assert sendgrid.record.batches == {} and sendgrid.record.requests == 0
    make_due(workspace)
    assert run("send", "--due").exit_code == 0
    assert sendgrid.record.accepted_requests == 1 and sendgrid.record.batches == {}
    soon = run("send", "2024-05", "--segment", "all", "-b", "sendgrid", "--at", local_in(dt.timedelta(minutes=5)),
               "--yes")
    assert soon.exit_code == 0 and "with SendGrid" in soon.stdout, soon.output
    too_late = run("schedule", "cancel", "2", "--yes")
    assert too_late.exit_code == 1 and "too late to cancel schedule #2" in too_late.stderr
    assert [status for status in (b["status"] for b in sendgrid.record.batches.values())] == [None]
