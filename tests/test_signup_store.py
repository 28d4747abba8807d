"""Sign-up in the store and on the command line: the migration, pending readers beside imports, additions and
erasures, the consent record, public topics in the settings."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from stores import db_rows

from conftest import override_template
from reader_pages import add_topics, row

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def desk(workspace):
    """The settings (with public topics), an open store and the keys, for calling the sign-up functions directly."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.subscribers.signups import Keys
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import erasure_key, unsubscribe_secret

    add_topics(workspace)
    settings = load_settings(workspace)
    store = open_store(settings.store)
    yield settings, store, Keys(unsubscribe_secret(settings.private_dir), erasure_key(settings.private_dir))
    store.close()


def signed_up(desk, email: str, *, language: str = "de", topics=("courts",), at=NOW):
    """A sign-up as the form records it; the email it is due."""
    from mco_newsletter.subscribers.signups import SignupForm, request_signup

    settings, store, keys = desk
    with store.transaction():
        return request_signup(store, SignupForm(email, language, "Name", tuple(topics)), keys=keys,
                              confirm_days=7, at=at)


@pytest.mark.sqlite_only("an old schema exists only in SQLite files (a PostgreSQL store is made at the newest)")
def test_migration_keeps_ids_nonces_and_the_counter(tmp_path):
    """A database of schema 4 gains `pending` and the sign-up tables; every row, nonce and tag stays, and an id
    given before (even to a reader since erased) is never given again."""
    from mco_newsletter.storage.migrations import MIGRATIONS
    from mco_newsletter.subscribers.store import open_store

    path = tmp_path / "private" / "subscribers.sqlite3"
    path.parent.mkdir(mode=0o700)
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA foreign_keys = ON")
    old.executescript(";".join(step.sqlite for step in MIGRATIONS[:4]) + "; PRAGMA user_version = 4")  # the schema before sign-up
    for number in (1, 2, 3):
        old.execute("INSERT INTO subscribers (email, email_key, language, consent_source, consent_at, created_at,"
                    " updated_at) VALUES (?, ?, 'en', 'test', 't', 't', 't')", (f"r{number}@x.org", f"r{number}@x.org"))
        old.execute("INSERT INTO subscriber_tags VALUES (?, 'press')", (number,))
    nonces = dict(old.execute("SELECT id, nonce FROM subscribers"))
    old.execute("DELETE FROM subscribers WHERE id = 3")  # erased: id 3 must never come back
    old.close()
    store = open_store(path)
    assert dict(store.db.execute("SELECT id, nonce FROM subscribers")) == {1: nonces[1], 2: nonces[2]}
    assert [s.tags for s in store.subscribers()] == [("press",), ("press",)]
    with store.transaction():
        newcomer = store.add(email="new@x.org", name=None, language="en", tags=(), consent_source="t",
                             status="pending")
    assert newcomer == 4 and store.by_id(newcomer).status == "pending"
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    store.close()


@pytest.mark.stores
def test_a_pending_reader_is_in_no_segment(desk):
    """Segments, even `all`, hold active readers only: a pending sign-up gets nothing."""
    from mco_newsletter.subscribers.segments import find_segment

    settings, store, _ = desk
    signed_up(desk, "p@example.org")
    for name in ("all", "courts"):
        assert list(store.recipients(find_segment(settings.segments, name))) == []
    assert [s.email for s in store.subscribers(status="pending")] == ["p@example.org"]


@pytest.mark.stores
def test_an_import_adds_a_pending_address_unless_it_was_erased(desk, run, workspace):
    """An import treats a pending sign-up as not yet on the list: it adds it, except an erased address."""
    settings, store, _ = desk
    signed_up(desk, "keen@example.org")
    assert run("subscribers", "erase", "gone@example.org", "--yes").exit_code == 0
    signed_up(desk, "gone@example.org")
    (workspace / "list.csv").write_text("email,language\nkeen@example.org,en\ngone@example.org,en\n")
    result = run("subscribers", "import", str(workspace / "list.csv"))
    assert "1 added" in result.output and "1 erased addresses not re-added" in result.output
    assert row(settings, "keen@example.org")["status"] == "active"
    assert row(settings, "gone@example.org")["status"] == "pending"


@pytest.mark.stores
def test_adding_by_hand_takes_the_place_of_a_pending_sign_up(desk, run):
    """`subscribers add` of an address with a pending sign-up adds it (an erased one still needs --resubscribe)."""
    settings, _, _ = desk
    signed_up(desk, "hand@example.org")
    result = run("subscribers", "add", "hand@example.org", "--language", "ru")
    assert result.exit_code == 0 and "Added hand@example.org (ru)." in result.output
    assert row(settings, "hand@example.org")["status"] == "active"
    assert run("subscribers", "erase", "hand@example.org", "--yes").exit_code == 0
    signed_up(desk, "hand@example.org")
    refused = run("subscribers", "add", "hand@example.org", "--language", "ru")
    assert refused.exit_code == 1 and "erased at the person's request" in refused.output


@pytest.mark.stores
def test_erasure_removes_the_sign_up_and_its_mail_log(desk, run):
    """Erasing a pending reader deletes the request and the note of the email sent to them."""
    settings, store, _ = desk
    signed_up(desk, "erase@example.org")  # its email claimed in the mail log as it was decided
    assert store.db.execute("SELECT count(*) FROM mail_log").fetchone()[0] == 1
    assert run("subscribers", "erase", "erase@example.org", "--yes").exit_code == 0
    counts = [store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("subscribers", "signup_requests", "mail_log")]
    assert counts == [0, 0, 0]


@pytest.mark.sqlite_only("an old schema exists only in SQLite files (a PostgreSQL store is made at the newest)")
def test_a_link_sent_before_requests_had_ids_still_confirms(tmp_path):
    """A sign-up waiting in a database of schema 5: after the upgrade its link (which names the subscriber) still
    opens and confirms its request, and a new request's id is above every subscriber id ever given."""
    from mco_newsletter.storage.migrations import MIGRATIONS
    from mco_newsletter.subscribers.signups import Keys, SignupForm, confirm, request_nonce, request_signup
    from mco_newsletter.subscribers.store import open_store
    from mco_newsletter.subscribers.tokens import CONFIRM, make_token, read_token

    path = tmp_path / "private" / "subscribers.sqlite3"
    path.parent.mkdir(mode=0o700)
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(";".join(step.sqlite for step in MIGRATIONS[:5]) + "; PRAGMA user_version = 5")
    for number in (1, 2, 3):
        old.execute("INSERT INTO subscribers (email, email_key, language, status, consent_source, consent_at,"
                    " created_at, updated_at) VALUES (?, ?, 'en', 'pending', 'web', 't', 't', 't')",
                    (f"r{number}@x.org", f"r{number}@x.org"))
    old.execute("INSERT INTO signup_requests (subscriber_id, language, name, topics, nonce, requested_at, expires_at)"
                " VALUES (2, 'ru', 'Rita', '[]', ?, '2026-11-01T00:00:00+00:00', '2026-11-08T00:00:00+00:00')",
                (b"n" * 16,))
    old.execute("DELETE FROM subscribers WHERE id = 3")
    old.close()
    keys = Keys(b"s" * 32, b"e" * 32)
    link = make_token(keys.secret, 2, b"n" * 16, CONFIRM)
    store = open_store(path)
    request_id = read_token(keys.secret, link, nonce_of=lambda number: request_nonce(store, number), purpose=CONFIRM)
    assert request_id == 2
    with store.transaction():
        assert confirm(store, request_id, topics=[], consent_version="v", keys=keys, at=NOW) == "confirmed"
        mail = request_signup(store, SignupForm("n@x.org", "de", None, ()), keys=keys, confirm_days=7, at=NOW)
    assert store.by_id(2).status == "active" and (store.by_id(2).language, store.by_id(2).name) == ("ru", "Rita")
    assert mail.request_id == 4  # not 1, 2 or 3: a subscriber's id, whose old link would name it
    store.close()


@pytest.mark.stores
def test_erasure_removes_a_queued_sign_up_and_its_mailboxs_mail_log(desk, run):
    """A sign-up still queued (answered, not yet worked through) and the mail log's note of the address's mailbox
    (user+tag@ → user@) go with an erasure of the address."""
    from mco_newsletter.subscribers.signup_queue import queue_signup
    from mco_newsletter.subscribers.signups import SignupForm

    settings, store, keys = desk
    signed_up(desk, "erin+news@example.org")  # the mailbox's note made as its email was claimed
    assert db_rows(settings, "SELECT count(*) FROM mail_log") == [(1,)]
    with store.transaction():
        queue_signup(store, SignupForm("erin+news@example.org", "de", "Erin", ()),
                     address_hash=keys.address_hash("erin+news@example.org"), at=NOW)
    assert run("subscribers", "erase", "erin+news@example.org", "--yes").exit_code == 0
    counts = [db_rows(settings, f"SELECT count(*) FROM {table}")[0][0]
              for table in ("subscribers", "signup_requests", "mail_log", "signup_queue")]
    assert counts == [0, 0, 0, 0]


@pytest.mark.stores
def test_the_consent_record_on_the_command_line(desk, run):
    """`list --status pending` finds the sign-up; `show` gives the consent record (source, time, text version)
    and the request; `purge-pending` leaves what has not expired."""
    from mco_newsletter.subscribers.segments import public_topics
    from mco_newsletter.subscribers.signups import confirm

    settings, store, keys = desk
    signed_up(desk, "waiting@example.org", at=dt.datetime.now(dt.timezone.utc))
    mail = signed_up(desk, "yes@example.org", at=dt.datetime.now(dt.timezone.utc))
    listed = run("subscribers", "list", "--status", "pending")
    assert listed.stdout.splitlines() == ["waiting@example.org\tde\tpending\t", "yes@example.org\tde\tpending\t"]
    with store.transaction():
        assert confirm(store, mail.request_id, topics=public_topics(settings.segments), consent_version="abc12345",
                       keys=keys, at=dt.datetime.now(dt.timezone.utc)) == "confirmed"
    shown = run("subscribers", "show", "yes@example.org").stdout
    assert "consent_source  web sign-up, confirmed by email" in shown and "consent_version abc12345" in shown
    assert "signup          de, topics courts" not in shown  # the choices are applied and forgotten
    assert "confirmed 20" in shown
    waiting = json.loads(run("subscribers", "show", "waiting@example.org", "--json").stdout)
    assert waiting["status"] == "pending" and waiting["signup"]["topics"] == ["courts"]
    assert waiting["signup"]["confirmed_at"] is None and "nonce" not in waiting["signup"]
    assert run("subscribers", "purge-pending").stdout == "Purged 0 unconfirmed sign-ups.\n"
    assert row(settings, "waiting@example.org")["status"] == "pending"


def test_segments_marks_the_public_topics(workspace, run):
    """`segments` marks each public segment with its label, in text and JSON."""
    add_topics(workspace)
    lines = run("segments").stdout.splitlines()
    assert [line for line in lines if "public" in line] == [
        "courts             0       0       0       0  public: Court cases",
        "actions            0       0       0       0  public: Actions and protests"]
    data = json.loads(run("segments", "--json").stdout)
    assert data["courts"]["public"] is True and data["courts"]["label"]["de"] == "Gerichtsverfahren"
    assert "public" not in data["russia"] and "label" not in data["russia"]


@pytest.mark.parametrize("table,message", [
    ('[segments.t]\npublic = true\nlabel = "T"\n', "public segment 't' has no tags_any"),
    ('[segments.t]\npublic = true\ntags_any = ["t"]\nlanguages = ["de"]\nlabel = "T"\n',
     "public segment 't' cannot have languages"),
    ('[segments.t]\npublic = true\ntags_any = ["t"]\n', "public segment 't' has no label"),
    ('[segments.t]\npublic = true\ntags_any = ["t"]\nlabel = { en = "T", fr = "T" }\n',
     "segments.t.label is given for 'fr', which is not in languages"),
    ('[segments.t]\ntags_any = ["t"]\nlabel = "T"\n', "segments.t.label is shown only for a public segment"),
    ('[signup]\nconfirm_days = 0\n', "signup.confirm_days must be 1 to 90, not 0"),
    ('[signup]\nclient_limit = -1\n', "signup.client_limit must be 0 or more, not -1"),
    ('[signup]\nemails_per_hour = -5\n', "signup.emails_per_hour must be 0 or more, not -5"),
], ids=["no_tags", "languages", "no_label", "unknown_language", "label_not_public", "confirm_days", "client_limit",
        "emails_per_hour"])
def test_check_refuses_wrong_sign_up_settings(workspace, run, table, message):
    """`check` names a public segment readers could not choose, or a [signup] value out of range, with its line."""
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + table)
    result = run("check")
    assert result.exit_code == 1 and message in result.output
    assert "newsletter.toml:" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("template", ["pages/preferences.html.j2", "mail/signup-confirm.txt.j2"])
def test_check_renders_the_reader_pages_and_emails(workspace, run, template):
    """`check` renders the sign-up and preferences pages and their emails: a misspelt variable is found there."""
    assert run("check").exit_code == 0
    path = override_template(workspace, template)
    text = path.read_text(encoding="utf-8")
    end = text.rfind("{% endblock %}") if "{% extends" in text else len(text)  # inside the page's block
    path.write_text(text[:end] + "{{ misspelt }}\n" + text[end:], encoding="utf-8")
    result = run("check")
    assert result.exit_code == 1 and f"templates/{template}:" in result.output and "'misspelt' is undefined" in result.output
