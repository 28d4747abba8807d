"""A throwaway PostgreSQL cluster for the tests and benches: Debian's server binaries, data and Unix socket in one
folder, no TCP port, trust authentication; nothing system-wide is started or changed.

initdb refuses to run as root: as root the cluster is made and run as the `postgres` user (on a folder it owns).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PASSWORD_USER = "mco_with_password"
# For the tests' speed: a crashed test cluster is thrown away, so nothing needs to reach the disk.
SERVER_OPTIONS = ("-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                  " -c max_connections=300 -c shared_buffers=64MB")
# As a deployment runs it (durable commits), on the Unix socket only.
DURABLE_OPTIONS = "-c listen_addresses='' -c shared_buffers=128MB"


def server_bin() -> Path | None:
    """The folder of the newest installed server's programs (initdb, pg_ctl), or None when there is none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """One cluster in `folder` (data in folder/data, the socket in folder itself)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def start(self, options: str = SERVER_OPTIONS) -> None:
        """initdb and start (about a second); the caller makes sure only one process does it. `options` are the
        server's (the tests' default gives up durability for speed; a bench may want the server as deployed)."""
        binaries = server_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL's server is not installed (./test installs Debian's postgresql)")
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        run = dict(check=True, capture_output=True, text=True)
        subprocess.run([*self._as_owner(), str(binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                        "postgres", "--no-sync", "-E", "UTF8", "--locale=C"], **run)
        # Trust for everyone but PASSWORD_USER, who must give a password (the tests of a wrong one).
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"local all {PASSWORD_USER} scram-sha-256\n" + hba.read_text())
        subprocess.run([*self._as_owner(), str(binaries / "pg_ctl"), "-D", str(self.data), "-w", "-s", "-l",
                        str(self.folder / "server.log"), "-o",
                        f"{options} -c unix_socket_directories='{self.folder}'", "start"], **run)

    def stop(self) -> None:
        binaries = server_bin()
        if binaries is not None and self.running:
            subprocess.run([*self._as_owner(), str(binaries / "pg_ctl"), "-D", str(self.data), "-s", "-m",
                            "immediate", "stop"], capture_output=True, check=False)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}"

    def admin(self):
        """An autocommit connection to the cluster's `postgres` database."""
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)
