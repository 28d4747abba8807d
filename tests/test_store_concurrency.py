"""Two processes importing and listing at once: no 'database is locked' reaches the user, nothing is lost."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.stores


def test_parallel_imports_and_lists(workspace, tmp_path):
    """Two importers and two listers run together; every row of both files ends up in the database."""
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.csv"
        rows = "".join(f"{name}{i}@example.org,en,batch-{name}\n" for i in range(3000))
        path.write_text("email,language,tags\n" + rows, encoding="utf-8")
        files.append(path)
    base = [sys.executable, "-m", "mco_newsletter", "--workspace", str(workspace)]
    # Create the database first, so that both importers race on the data, not the schema.
    subprocess.run(base + ["segments"], check=True, capture_output=True)
    processes = [subprocess.Popen(base + ["subscribers", "import", str(path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for path in files]
    listers = [subprocess.Popen(base + ["subscribers", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    for process in processes + listers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    result = subprocess.run(base + ["segments", "--json"], check=True, capture_output=True, text=True)
    assert '"total": 6000' in result.stdout
