"""An import at any size: the file and the store are streamed a batch at a time (memory does not grow with either),
and what an import does is the same wherever the batches end."""

from __future__ import annotations

import csv
import json
import tracemalloc

import pytest
from stores import db_rows

pytestmark = pytest.mark.stores


def readers(path, prefix: str, count: int):
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email,name,language,tags\n")
        for number in range(count):
            out.write(f"{prefix}.{number}@mail{number % 50}.example.org,Reader {number},"
                      f"{('en', 'de', 'ru')[number % 3]},{('russia', 'donor|press', '')[number % 3]}\n")
    return path


def peak_of(run, *args, code: int = 0) -> int:
    """The most memory Python held at once while the command ran (tracemalloc), in bytes; it exits with `code`."""
    tracemalloc.start()
    try:
        result = run(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == code, result.output
    return peak


def test_import_memory_does_not_grow_with_the_file_or_the_store(run, workspace, monkeypatch):
    """A dry run, an import and a re-import of a file four times as long, into a store four times as full, hold no more
    memory: one batch of rows, never the file, its rows, or the store's subscribers, tags and erased hashes."""
    from mco_newsletter.storage import import_rows
    from mco_newsletter.subscribers import importing

    monkeypatch.setattr(importing, "BATCH", 250)
    monkeypatch.setattr(import_rows, "HASH_BATCH", 250)
    assert run("subscribers", "erase", "someone@example.org", "--yes").exit_code == 0  # hashes to look up
    run("subscribers", "import", str(readers(workspace / "warm.csv", "warm", 300)))  # modules loaded, caches filled
    peaks = {}
    for count in (2000, 8000):
        path = readers(workspace / f"r{count}.csv", f"r{count}", count)
        peaks[count] = [peak_of(run, "subscribers", "import", str(path), *extra)
                        for extra in (("--dry-run",), (), ("--resubscribe",))]
    for small, large in zip(peaks[2000], peaks[8000]):
        assert large < small * 1.5, peaks


def test_batches_change_nothing_of_what_an_import_does(run, workspace, store_kind, monkeypatch):
    """With batches of three rows, duplicates of rows in earlier batches, rejects, erased addresses, a pending
    sign-up, people who left and readers held already come out as in one batch: the same summary, the rejects
    file in the order of the file, the first rows of the dry run without duplicates."""
    from mco_newsletter.storage import import_rows
    from mco_newsletter.subscribers import importing
    from mco_newsletter.subscribers.store import open_store

    monkeypatch.setattr(importing, "BATCH", 3)
    monkeypatch.setattr(import_rows, "HASH_BATCH", 2)
    assert run("subscribers", "add", "held@example.org", "--language", "en", "--tag", "x").exit_code == 0
    assert run("subscribers", "add", "left@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "unsubscribe", "left@example.org").exit_code == 0
    for erased in ("erased1@example.org", "erased2@example.org", "erased3@example.org"):
        assert run("subscribers", "erase", erased, "--yes").exit_code == 0
    from mco_newsletter.config import load_settings

    store = open_store(load_settings(workspace).store)
    with store.transaction():
        store.add(email="pending@example.org", name=None, language="de", tags=(), consent_source="web",
                  status="pending")
    store.close()
    path = workspace / "people.csv"
    path.write_text(
        "email,name,language,tags,status\n"
        "one@example.org,One,en,a,\n"              # 2 added
        "bad-address,X,en,,\n"                      # 3 rejected
        "held@example.org,Held,de,y,\n"             # 4 updated (name, language, tag y)
        "two@example.org,Two,en,,\n"                # 5 added
        "ONE@example.org,Dup,de,,\n"                # 6 duplicate of line 2 (an earlier batch)
        "erased1@example.org,E,en,,\n"              # 7 erased, not re-added
        "left@example.org,Left,en,,\n"              # 8 left unsubscribed
        "pending@example.org,P,ru,,\n"              # 9 confirmed by the file: added
        "gone@example.org,Gone,en,,unsubscribed\n"  # 10 kept as having left
        "held@example.org,Again,en,,\n"             # 11 duplicate of line 4
        "three@example.org,Three,fr,,\n"            # 12 unknown language
        "erased3@example.org,E3,ru,,bounced\n"      # 13 erased, not re-added as having left either
        "four@example.org,Four,ru,b|c,\n",          # 14 added
        encoding="utf-8")
    summary = ("Read 13 rows: 5 would be imported (4 added, 1 updated), 1 kept as having left, "
               "1 left unsubscribed/bounced/complained, 2 erased addresses not re-added, 4 rejected.")
    dry = json.loads(run("subscribers", "import", str(path), "--dry-run", "--json").stdout)
    assert [row["line"] for row in dry["first_rows"]] == [2, 4, 5, 7, 8]
    assert [reject["line"] for reject in dry["rejects"]] == [3, 6, 11, 12]
    text = run("subscribers", "import", str(path), "--dry-run")
    assert summary + " Nothing was changed (--dry-run)." in text.stdout, text.stdout
    result = run("subscribers", "import", str(path))
    assert summary.replace("would be imported", "imported") in result.stdout, result.stdout
    with (workspace / "private" / "rejects" / "people.rejects.csv").open(encoding="utf-8", newline="") as handle:
        rejects = list(csv.reader(handle))
    assert [(row[0], row[1][:20]) for row in rejects[1:]] == [
        ("3", "invalid address: An "), ("6", "duplicate of line 2 "), ("11", "duplicate of line 4 "),
        ("12", "unknown language 'fr")]
    assert rejects[2][2:] == ["ONE@example.org", "Dup", "de", "", ""]
    statuses = dict(db_rows(workspace, "SELECT email, status FROM subscribers"))
    assert statuses == {"held@example.org": "active", "left@example.org": "unsubscribed",
                        "one@example.org": "active", "two@example.org": "active", "pending@example.org": "active",
                        "gone@example.org": "unsubscribed", "four@example.org": "active"}
    held = json.loads(run("subscribers", "show", "held@example.org", "--json").stdout)
    assert held["name"] == "Held" and held["language"] == "de" and held["tags"] == ["x", "y"]
    assert json.loads(run("subscribers", "show", "four@example.org", "--json").stdout)["tags"] == ["b", "c"]
    again = run("subscribers", "import", str(path))
    assert ("Read 13 rows: 0 imported, 6 unchanged, 1 left unsubscribed/bounced/complained, "
            "2 erased addresses not re-added, 4 rejected.") in again.stdout, again.stdout


def test_a_file_of_rejects_is_not_held_in_memory(run, workspace, monkeypatch):
    """A file whose every row is rejected (a language the list does not have) four times as long holds no more
    memory: the rejects go to the rejects file as found, the report counts them all and lists only the first."""
    from mco_newsletter.subscribers import importing

    monkeypatch.setattr(importing, "BATCH", 250)

    def rejected(count: int):
        path = workspace / f"bad{count}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write("email,name,language\n")
            out.writelines(f"bad.{number}@example.org,Reader {number},fr\n" for number in range(count))
        return path

    run("subscribers", "import", str(rejected(300)))  # modules loaded, caches filled
    peaks = {count: peak_of(run, "subscribers", "import", str(rejected(count)), code=1) for count in (2000, 8000)}
    assert peaks[8000] < peaks[2000] * 1.5, peaks
    with (workspace / "private" / "rejects" / "bad8000.rejects.csv").open(encoding="utf-8", newline="") as handle:
        lines = [row[0] for row in csv.reader(handle)][1:]
    assert lines == [str(line) for line in range(2, 8002)]
    report = json.loads(run("subscribers", "import", str(workspace / "bad8000.csv"), "--dry-run", "--json").stdout)
    assert report["rejected"] == 8000 and report["rows"] == 8000, report["rejected"]
    assert [reject["line"] for reject in report["rejects"]] == list(range(2, 2 + importing.REJECTS_LISTED))
    text = run("subscribers", "import", str(workspace / "bad8000.csv"), "--dry-run")
    assert "… and 7,950 more rejected rows" in text.stderr and "8,000 rejected." in text.stdout, text.stdout



def test_an_error_after_batches_were_staged_imports_nothing(run, workspace, monkeypatch):
    """A byte that is not UTF-8, or a row that is not CSV, met after batches of the file were staged and rejects
    written: the error names its file and line, nothing is imported, no rejects file is left, and the file put
    right imports in full."""
    from mco_newsletter.subscribers import importing

    monkeypatch.setattr(importing, "BATCH", 100)
    # Past the start of the file that is read to recognise it (import_files.SNIFF_BYTES): met as the rows are read.
    good = "".join(f"reader{number}@example.org,Reader {number},en\n" for number in range(3000))
    cases = {"latin.csv": ("Jürgen@example.org,Jürgen,de\n".encode("latin-1"), "latin.csv:3004: not UTF-8 text"),
             "huge.csv": (f'big@example.org,"{"x" * 200_000}",en\n'.encode(),
                          "huge.csv:3004: not valid CSV: field larger")}
    for name, (bad, message) in cases.items():
        path = workspace / name
        path.write_bytes(b"email,name,language\nbad-address,X,en\n" + good.encode() + b"ok@example.org,Ok,de\n" + bad
                         + b"last@example.org,Last,ru\n")
        result = run("subscribers", "import", str(path))
        assert result.exit_code == 1 and message in result.stderr, result.output
        assert "Traceback" not in result.output
        assert db_rows(workspace, "SELECT count(*) FROM subscribers") == [(0,)]
        assert not list((workspace / "private").glob("rejects/*")), list((workspace / "private").glob("rejects/*"))
    path.write_bytes(path.read_bytes().replace(bad, b"big@example.org,Big,en\n"))
    result = run("subscribers", "import", str(path))
    assert "Read 3,004 rows: 3,003 imported (3,003 added), 1 rejected." in result.stdout, result.output
    assert db_rows(workspace, "SELECT count(*) FROM subscribers") == [(3003,)]
