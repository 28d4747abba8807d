"""Failing disks and databases: read-only, full, damaged, locked; a sentence and the right exit code, nothing half-written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

READER = "reader@example.org"


@pytest.fixture
def small_disk(tmp_path):
    """A real file system of 1 MB (tmpfs) that the test may fill or make read-only; skipped where mounting is not allowed."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system until it is full, then give back `leave` bytes; return the filler file."""
    filler = folder / "filler"
    handle = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(handle, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(handle)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


# What a person can do about an output folder on a read-only disk (not the error said again).
ERO_HINT = "\n  hint: that disk is mounted read-only: write somewhere else, or mount it read-write"


def refused(result, *texts: str) -> None:
    """The command failed with exit 1 and a sentence holding every text, never a traceback."""
    assert result.exit_code == 1, result.output
    for text in texts:
        assert text in result.stderr, (text, result.stderr)
    assert "Traceback" not in result.output, result.output


@pytest.fixture
def database_on(run, monkeypatch):
    """Put the subscriber database (with one reader) on the given folder."""

    def place(folder: Path) -> Path:
        target = folder / "private" / "subscribers.sqlite3"
        monkeypatch.setenv("MCO_NEWSLETTER_DB", str(target))
        assert run("subscribers", "add", READER, "--language", "en").exit_code == 0
        return target

    return place


@pytest.mark.stores
@pytest.mark.sqlite_only("an SQLite file on a read-only file system (a server's disk is the server's)")
def test_read_only_database(run, small_disk, database_on):
    """A database on a read-only file system: reading and writing commands say so, exit 1."""
    database_on(small_disk)
    read_only(small_disk)
    for args in (("subscribers", "add", "new@example.org", "--language", "en"), ("subscribers", "list")):
        refused(run(*args), "Error: the subscriber database", "read-only",
                "\n  hint: mount that disk read-write, or set [database] path to a writable place")


@pytest.mark.stores
@pytest.mark.sqlite_only("an SQLite file on a full disk")
def test_full_database(run, workspace, small_disk, database_on):
    """An import into a database on a full disk fails with a sentence; the rows it held stay, none is half-added."""
    database = database_on(small_disk)
    rows = "".join(f"person{i}@example.org,en,{'x' * 200}\n" for i in range(20000))
    (workspace / "big.csv").write_text("email,language,name\n" + rows, encoding="utf-8")
    filler = fill(small_disk, leave=160 * 1024)  # room to open the database, not for the rows
    refused(run("subscribers", "import", str(workspace / "big.csv")), "Error:", "full", "free some disk space")
    filler.unlink()
    listed = run("subscribers", "list")
    assert listed.exit_code == 0 and listed.stdout.split() == [READER, "en", "active"]
    assert database.is_file()


@pytest.mark.stores
@pytest.mark.sqlite_only("garbage in an SQLite file's pages")
def test_damaged_database(run, settings):
    """A database with garbage in its pages is reported as damaged, with a hint to restore it."""
    for number in range(40):
        assert run("subscribers", "add", f"r{number}@example.org", "--language", "en", "--name", "x" * 300).exit_code == 0
    data = bytearray(settings.database_path.read_bytes())
    assert len(data) > 12288
    data[4096:] = os.urandom(len(data) - 4096)  # every page but the first (the schema's root) is garbage
    settings.database_path.write_bytes(bytes(data))
    refused(run("subscribers", "list"), "damaged", "restore it from a backup")


HOLDER = """
import select, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))  # until the test writes a line (or at most this long)
connection.execute("COMMIT")
"""
# A PostgreSQL store's writers take its advisory write lock (storage/postgresql.py): a program of the tool's, holding
# it in a transaction (its connection names it in pg_stat_activity, as every command's does).
POSTGRES_HOLDER = """
import select, sys
from mco_newsletter.storage.database import open_database
from mco_newsletter.storage.location import StoreLocation
from mco_newsletter.storage.postgresql import name_program
name_program("mco-newsletter subscribers import")
database = open_database(StoreLocation(url=sys.argv[1]))
with database.transaction():
    print("holding", flush=True)
    select.select([sys.stdin], [], [], float(sys.argv[2]))
"""


def hold_lock(where, seconds: float) -> subprocess.Popen:
    """A process holding the store's write lock until a line arrives on its stdin (at most `seconds`): `where` is
    the settings (either store) or an SQLite file."""
    url = getattr(where, "database_url", None)
    script, target = (POSTGRES_HOLDER, url) if url else (HOLDER, str(getattr(where, "database_path", where)))
    holder = subprocess.Popen([sys.executable, "-c", script, target, str(seconds)], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.stores
def test_locked_database_says_who_holds_it(workspace, settings, run):
    """While another program holds the database, the command says who after a short wait, then goes on: on SQLite
    the processes that have the file open (/proc), on PostgreSQL the sessions holding what it waits for
    (pg_stat_activity, where each of the tool's connections gives its command, host and pid)."""
    from mco_newsletter.storage.waits import WAIT_NOTICE_S

    assert run("subscribers", "add", READER, "--language", "en").exit_code == 0
    holder = hold_lock(settings, 60)
    try:
        started = time.monotonic()
        adding = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace),
                                   "subscribers", "add", "second@example.org", "--language", "en"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The lock is released once the notice is out (an event, not a fixed hold): the command must still be
        # waiting then, and finish after.
        notice = adding.stderr.readline()
        waited = time.monotonic() - started
        still_waiting = adding.poll() is None
        holder.stdin.write("release\n")
        holder.stdin.flush()
        out, err = adding.communicate(timeout=120)
    finally:
        holder.wait(timeout=60)
    named = (f"pid {holder.pid} (" if settings.database_url is None
             else f"mco-newsletter subscribers import ({socket.gethostname()}, pid {holder.pid})")
    assert notice.startswith(f"Waiting for the subscriber database: in use by {named}"), notice + err
    assert still_waiting and waited >= WAIT_NOTICE_S
    assert adding.returncode == 0, err
    assert run("subscribers", "list").output.count("second@example.org") == 1


@pytest.mark.stores
def test_locked_database_gives_up_naming_the_holder(settings, run):
    """When the lock is held past the wait, the error names the process holding the database."""
    from mco_newsletter.errors import NewsletterError
    from mco_newsletter.subscribers.store import open_store

    assert run("subscribers", "add", READER, "--language", "en").exit_code == 0
    holder = hold_lock(settings, 30)
    store = open_store(settings.store, busy_timeout=1)
    try:
        with pytest.raises(NewsletterError) as caught:
            with store.transaction():
                pass
        assert "the subscriber database is locked" in caught.value.message
        assert f"pid {holder.pid}" in caught.value.message
        assert "wait until it ends" in caught.value.hint
    finally:
        store.close()
        holder.kill()
        holder.wait()


@pytest.mark.stores
def test_export_to_a_full_disk(run, small_disk):
    """An export that does not fit says so and leaves no partial file."""
    for number in range(30):
        run("subscribers", "add", f"r{number}@example.org", "--language", "en", "--name", "x" * 100)
    fill(small_disk)
    refused(run("subscribers", "export", "--out", str(small_disk / "export.csv")), "No space left on device")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


@pytest.mark.stores
def test_export_into_a_missing_or_read_only_folder(run, tmp_path, small_disk):
    """export --out into a missing folder or onto a read-only disk is an error, not a traceback."""
    run("subscribers", "add", READER, "--language", "en")
    refused(run("subscribers", "export", "--out", str(tmp_path / "nowhere" / "export.csv")),
            "the folder", "does not exist", "\n  hint: create the folder first, or give another --out")
    read_only(small_disk)
    refused(run("subscribers", "export", "--out", str(small_disk / "export.csv")), "Read-only file system",
            "\n  hint: choose a folder you can write to")


def test_render_into_a_missing_read_only_or_blocked_folder(run, tmp_path, small_disk):
    """render --out creates a missing folder; a read-only disk or a file in the way is a clear error."""
    created = run("render", "2023-12", "--out", str(tmp_path / "new" / "deeper"))
    assert created.exit_code == 0 and (tmp_path / "new" / "deeper" / "2023-12" / "en.html").is_file()
    (tmp_path / "afile").write_text("in the way")
    refused(run("render", "2023-12", "--out", str(tmp_path / "afile" / "out")), "Error:", "afile",
            "\n  hint: a file stands where that path needs a folder: choose another path")
    read_only(small_disk)
    refused(run("render", "2023-12", "--out", str(small_disk / "out")), "Read-only file system", ERO_HINT)
    refused(run("archive", "--out", str(small_disk / "archive")), "Read-only file system", ERO_HINT)
