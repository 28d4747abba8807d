"""Files the tool writes: public ones follow the umask, private ones are owner-only whatever existed, all fsynced."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from mco_newsletter import files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """The paths of every file and folder the code fsyncs (the real fsync still runs)."""
    seen: list[str] = []
    real = os.fsync

    def fsync(handle):
        seen.append(os.readlink(f"/proc/self/fd/{handle}"))
        return real(handle)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_public_files_follow_the_umask(tmp_path, mask, expected):
    """A public output gets 0666 filtered by the umask, as any editor's file would, also when replacing one."""
    target = tmp_path / "public" / "en.html"
    with umask(mask):
        files.write_atomically(target, b"old")
        os.chmod(target, 0o600)
        files.write_atomically(target, b"new")
    assert mode(target) == expected and target.read_bytes() == b"new"
    assert mode(target.parent) == 0o777 & ~mask


def test_private_files_are_owner_only_whatever_existed(tmp_path):
    """A private file replacing a world-readable one is 0600, in a new folder of 0700 even with umask 000."""
    target = tmp_path / "new" / "deeper" / "export.csv"
    with umask(0):
        files.write_atomically(target, b"first", private=True)
        os.chmod(target, 0o644)
        files.write_atomically(target, b"second", private=True)
    assert mode(target) == 0o600 and target.read_bytes() == b"second"
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "deeper") == 0o700


def test_an_existing_folder_is_not_tightened(tmp_path):
    """Writing a private file into someone's existing folder (their Desktop, /tmp) leaves that folder's mode alone."""
    folder = tmp_path / "desktop"
    folder.mkdir()
    os.chmod(folder, 0o755)
    files.write_atomically(folder / "export.csv", b"x", private=True)
    assert mode(folder) == 0o755 and mode(folder / "export.csv") == 0o600


def test_a_failed_write_leaves_the_old_file(tmp_path):
    """An error while writing keeps the old content and leaves no temporary file behind."""
    target = tmp_path / "catalog.po"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_writer(target, private=False) as stream:
            stream.write(b"half")
            raise RuntimeError("disk trouble")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.po"]


def test_file_and_folder_are_fsynced(tmp_path, fsynced):
    """The new content is fsynced before the rename and the folder after it: old or new, never half."""
    target = tmp_path / "out" / "en.eml"
    files.write_atomically(target, b"message")
    assert any(Path(path).name.startswith(".en.eml.") for path in fsynced), fsynced
    assert str(target.parent) in fsynced


def test_create_private_file_never_replaces(tmp_path, fsynced):
    """A key file is created 0600 and fsynced; a second writer keeps the first one's content."""
    key = tmp_path / "private" / "unsubscribe.key"
    with umask(0):
        assert files.create_private_file(key, b"first") is True
        assert files.create_private_file(key, b"second") is False
    assert key.read_bytes() == b"first" and mode(key) == 0o600 and mode(key.parent) == 0o700
    assert str(key.parent) in fsynced
    assert [p.name for p in key.parent.iterdir()] == ["unsubscribe.key"]


@pytest.mark.stores
@pytest.mark.sqlite_only("the file modes of an SQLite file and its folders")
def test_database_and_keys_with_umask_000(run, workspace, tmp_path, monkeypatch):
    """With umask 000 the new database, its keys and every folder created for them are owner-only."""
    target = tmp_path / "a" / "b" / "subs.sqlite3"
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(target))
    with umask(0):
        assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    for path in target.parent.iterdir():
        assert mode(path) == 0o600, path


@pytest.mark.stores
@pytest.mark.sqlite_only("the file modes of an SQLite file's WAL and shared memory")
def test_existing_database_files_are_tightened(run, settings):
    """A database (and its WAL and shared memory) that someone made world-readable is owner-only again once opened."""
    import sqlite3

    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    database = settings.database_path
    other = sqlite3.connect(database)  # another reader keeps the WAL files in place
    try:
        other.execute("UPDATE subscribers SET name = 'x'")
        other.commit()
        siblings = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
        for path in (database, *siblings):
            os.chmod(path, 0o644)
        assert run("subscribers", "list").exit_code == 0
        assert [mode(path) for path in (database, *siblings)] == [0o600] * 3
    finally:
        other.close()


@pytest.mark.stores
@pytest.mark.sqlite_only("a path in MCO_NEWSLETTER_DB names an SQLite file")
def test_database_path_that_is_a_folder(run, tmp_path, monkeypatch):
    """MCO_NEWSLETTER_DB naming a folder is a clear error, and the folder keeps its mode."""
    folder = tmp_path / "data"
    folder.mkdir()
    os.chmod(folder, 0o755)
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(folder))
    result = run("subscribers", "list")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is a folder, not a database file" in result.stderr
    assert mode(folder) == 0o755


@pytest.mark.stores
def test_export_into_an_existing_world_readable_file(run, workspace):
    """Exporting into an existing 0644 file leaves it 0600."""
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    out = workspace / "export.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    assert run("subscribers", "export", "--out", str(out)).exit_code == 0
    assert mode(out) == 0o600 and "a@example.org" in out.read_text()


def test_rendered_editions_and_archive_follow_the_umask(run, workspace, tmp_path):
    """render and archive write files a web server can read (umask 022 → 0644 files, 0755 folders)."""
    with umask(0o022):
        assert run("render", "2024-05", "--out", str(tmp_path / "build")).exit_code == 0
        assert run("archive", "--out", str(tmp_path / "archive")).exit_code == 0
    written = [p for folder in ("build", "archive") for p in (tmp_path / folder).rglob("*")]
    assert written
    for path in written:
        assert mode(path) == (0o755 if path.is_dir() else 0o644), path


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o002, 0o664)], ids=["umask-022", "umask-002"])
def test_catalogs_follow_the_umask(run, workspace, write_issue, models, mask, expected):
    """translate and review write PO catalogs translators can share: 0666 filtered by the umask, also when review
    replaces a catalog that was owner-only."""
    from conftest import VALID_FRONT

    write_issue("modes", VALID_FRONT + "\nOne short paragraph.\n")
    catalog = workspace / "issues" / "modes" / "de.po"
    with umask(mask):
        assert run("translate", "modes", "--lang", "de").exit_code == 0
        assert mode(catalog) == expected
        catalog.chmod(0o600)
        session = run("review", "modes", "--lang", "de", input="a\nq\n")
        assert session.exit_code == 0 and "1 decision saved" in session.stdout, session.output
    assert mode(catalog) == expected


@pytest.mark.stores
@pytest.mark.parametrize("mask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_outbox_messages_are_owner_only_whatever_the_umask(run, workspace, mask):
    """Every message a send or a test send puts in the outbox (it holds addresses and tokens) is 0600, in
    folders of 0700, whatever the umask."""
    from test_send import configure, populate

    configure(workspace)
    with umask(mask):
        populate(workspace, 3)
        assert run("send", "2024-05", "--segment", "all", "--yes").exit_code == 0
        assert run("send", "2024-05", "--segment", "all", "--test-to", "me@example.org").exit_code == 0
    outbox = workspace / "private" / "outbox"
    messages = [path for path in outbox.rglob("*") if path.is_file()]
    assert len(messages) == 4, messages
    for path in messages:
        assert mode(path) == 0o600, path
    for folder in [outbox, *(path for path in outbox.rglob("*") if path.is_dir())]:
        assert mode(folder) == 0o700, folder


WRITER = """
import sys, time
from pathlib import Path
from mco_newsletter.files import atomic_writer
with atomic_writer(Path(sys.argv[1]), private=True) as stream:
    stream.write(b"half of it")
    stream.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def test_a_killed_writers_file_goes_at_the_next_write_a_running_writers_stays(tmp_path):
    """A writer killed mid-write leaves its unfinished file (the tool's own name, owner-only); the next write of the
    same target removes it, but not the file of a writer still at work on that target, nor another program's."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "out" / "x.csv"

    def writer() -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE)
        assert process.stdout.readline() == b"writing\n"
        return process

    def unfinished() -> set[str]:
        return {path.name for path in target.parent.iterdir() if path.name.startswith(".x.csv.")}

    killed = writer()
    left = unfinished()
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    [name] = left
    assert name.endswith(".mco-newsletter.tmp") and mode(target.parent / name) == 0o600
    running = writer()
    foreign = target.parent / ".x.csv.0123456789ab.tmp"
    foreign.write_bytes(b"another program's")
    try:
        at_work = unfinished() - left - {foreign.name}
        files.write_atomically(target, b"whole", private=True)
        assert target.read_bytes() == b"whole"
        assert unfinished() == at_work | {foreign.name}  # the killed writer's file is gone; the others stay
    finally:
        running.kill()
        running.wait()
    files.write_atomically(target, b"again", private=True)
    assert unfinished() == {foreign.name}
