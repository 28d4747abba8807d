"""Erasure after sending: no copy of the address left in the outbox, in rejects files, or in the SQLite file."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from stores import db_columns, db_rows, db_tables
from test_send import configure, populate

pytestmark = pytest.mark.stores


def holders(folder, needle: bytes) -> list[str]:
    """Every file under `folder` that holds `needle` (any case)."""
    return [str(path) for path in folder.rglob("*") if path.is_file() and needle.lower() in path.read_bytes().lower()]


def test_erase_removes_every_copy_the_tool_made(run, workspace):
    """After a send, a test send and an import's rejects, `erase` leaves the address nowhere under private/,
    and keeps everyone else's messages and rejected rows."""
    configure(workspace)
    addresses = populate(workspace, 5)
    target = addresses[2]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    assert run("send", "2024-05", "--segment", "all", "--test-to", target).exit_code == 0
    rejects = workspace / "private" / "rejects"
    rejects.mkdir(mode=0o700)
    (rejects / "people.rejects.csv").write_text(
        "line,reason,email,name\n"
        f"2,duplicate of line 5 in this file,{target.upper()},Reader Two\n"
        "3,unknown language 'fr',other@example.org,Other\n"
        f'4,"6 fields but the header names 4 columns","{target}, twice",x\n', encoding="utf-8")
    assert len(holders(workspace / "private", target.encode())) >= 3
    result = run("subscribers", "erase", target, "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Erased."
    assert holders(workspace / "private", target.encode()) == []
    assert holders(workspace / "private", target.split("@")[0].encode() + b"@") == []
    assert len(list((workspace / "private" / "outbox" / "new").iterdir())) == 4
    assert (rejects / "people.rejects.csv").read_bytes() == \
        b"line,reason,email,name\n3,unknown language 'fr',other@example.org,Other\n"


def test_erase_deletes_the_persons_send_history(run, workspace):
    """After two sends, `erase` deletes every row that names the person's id (the ledger's deliveries among them:
    which issues they were sent is theirs to have forgotten) and keeps everyone else's."""
    configure(workspace)
    addresses = populate(workspace, 4)
    target = addresses[1]
    assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
    assert run("send", "2024-05", "--segment", "all", "--test-to", target).exit_code == 0
    [(target_id,)] = db_rows(workspace, "SELECT id FROM subscribers WHERE email = ?", (target,))
    naming = [table for table in db_tables(workspace) if "subscriber_id" in db_columns(workspace, table)]
    assert "deliveries" in naming

    def rows(table, where):
        return db_rows(workspace, f"SELECT count(*) FROM {table} WHERE subscriber_id {where}", (target_id,))[0][0]

    before = {table: (rows(table, "= ?"), rows(table, "<> ?")) for table in naming}
    assert before["deliveries"][0] >= 1 and before["deliveries"][1] == 3
    assert run("subscribers", "erase", target, "--yes").exit_code == 0
    assert {table: rows(table, "= ?") for table in naming} == dict.fromkeys(naming, 0)
    assert {table: rows(table, "<> ?") for table in naming} == {table: kept for table, (_, kept) in before.items()}


@pytest.mark.sqlite_only("SQLite's write-ahead log and its checkpoint")
def test_erase_completes_the_checkpoint_or_says_it_cannot(run, workspace, settings, monkeypatch):
    """While another connection reads an old snapshot the database file keeps old pages: erase says so
    (exit 1) instead of "Erased."; once the reader is gone, the same erase finishes and no copy is left."""
    from mco_newsletter.subscribers import erasure

    configure(workspace)
    addresses = populate(workspace, 50)
    target = addresses[7]
    reader = sqlite3.connect(settings.database_path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM subscribers").fetchone()  # holds a snapshot from before the erasure
    monkeypatch.setattr(erasure, "CHECKPOINT_SECONDS", 0.5)
    blocked = run("subscribers", "erase", target, "--yes")
    assert blocked.exit_code == 1, blocked.output
    assert "Error: the person is erased from the list, but another program is reading" in blocked.stderr
    assert "run the same erase again" in blocked.stderr
    assert run("subscribers", "show", target).exit_code == 1  # gone from the list all the same
    reader.execute("ROLLBACK")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM subscribers").fetchone()
    monkeypatch.setattr(erasure, "CHECKPOINT_SECONDS", 10)
    threading.Timer(0.5, lambda: reader.execute("ROLLBACK")).start()  # the other program ends meanwhile
    finished = run("subscribers", "erase", target, "--yes")
    assert finished.exit_code == 0, finished.output
    reader.close()
    assert holders(settings.database_path.parent, target.encode()) == []
