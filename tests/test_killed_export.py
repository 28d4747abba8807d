"""A killed `subscribers export` leaves no copy of the list behind for long: the next export removes its unfinished
file, and `subscribers erase` removes one that holds the person's address. Another program's files stay."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_send import populate

pytestmark = pytest.mark.stores

READERS = 40_000  # about 6 MB of export: the kill lands after its first 64 KB, long before the end


def kill_mid_write(workspace: Path, out: Path) -> Path:
    """Start `subscribers export --out out`, SIGKILL it once its unfinished file holds 64 KB; return that file."""
    before = set(out.parent.iterdir())
    process = subprocess.Popen([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace),
                                "subscribers", "export", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while True:
        partial = [path for path in out.parent.iterdir() if path not in before]
        if partial and partial[0].stat().st_size >= 64 * 1024:
            break
        assert process.poll() is None, "the export ended before the kill it was meant for"
        assert time.monotonic() < deadline, "the export wrote nothing"
        time.sleep(0.001)
    process.kill()  # SIGKILL: no cleanup of any kind
    process.wait()
    assert not out.exists() and partial[0].name.startswith(f".{out.name}.")
    return partial[0]


def holding(folder: Path, address: str) -> list[str]:
    return [path.name for path in folder.iterdir() if address.encode() in path.read_bytes()]


def test_the_next_export_removes_a_killed_exports_file_and_nothing_else(workspace, tmp_path):
    """After a kill mid-write, the unfinished file holds hundreds of addresses; the next export (to another folder)
    removes it, and leaves alone a file of the same look that another program wrote."""
    populate(workspace, READERS)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    foreign = first / ".x.csv.0123456789ab.tmp"
    foreign.write_text("another program's file\n")
    leftover = kill_mid_write(workspace, first / "x.csv")
    assert leftover.read_bytes().count(b"@example.org") > 100  # 64 KiB or more: 452 rows at the least seen
    result = subprocess.run([sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace), "subscribers",
                             "export", "--out", str(second / "y.csv")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in first.iterdir()) == [foreign.name]
    assert sorted(path.name for path in second.iterdir()) == ["y.csv"]
    assert len((second / "y.csv").read_text(encoding="utf-8").splitlines()) == READERS + 1


def test_erase_removes_a_killed_exports_file_holding_the_address(workspace, tmp_path, run):
    """`subscribers erase` of an address inside a killed export's unfinished file removes that file and says so."""
    populate(workspace, READERS)
    folder = tmp_path / "exports"
    folder.mkdir()
    leftover = kill_mid_write(workspace, folder / "x.csv")
    rows = list(csv.reader(leftover.read_text(encoding="utf-8", errors="replace").splitlines()[1:300]))
    target = rows[200][1]
    assert holding(folder, target) == [leftover.name]
    result = run("subscribers", "erase", target, "--yes")
    assert result.exit_code == 0, result.output
    assert "unfinished export" in result.stdout and str(leftover) in result.stdout, result.stdout
    assert result.stdout.strip().endswith("Erased.")
    assert holding(folder, target) == [] and not leftover.exists()
