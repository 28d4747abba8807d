"""docs/deploy.md followed from start to finish on this machine: a throwaway PostgreSQL cluster, the secrets in
/etc/mco-newsletter, two `serve` replicas as their systemd unit starts them, nginx with TLS in front, the archive, a
reader's sign-up and confirmation, `send` as its job unit runs it, the health route, the nightly backup and a restore.

Run from the repository: python bench/deploy_walkthrough.py [--keep]
Nothing system-wide is touched. Every path the page names (/etc/mco-newsletter, /srv/mco-newsletter,
/opt/mco-newsletter, /var/backups/mco-newsletter) is the same path under a temporary root. Commands are the page's
own, found in it word for word (the script stops when one is missing: the page changed without it), run with
`sudo` dropped (`sudo -u postgres` as runuser), the database reached on the cluster's socket (PGHOST), and a
unit run as systemd would (its Environment=, EnvironmentFile=, LoadCredential= and ExecStart=, specifiers and
variables expanded; User= as runuser when root). What cannot run here is said as it is skipped: apt-get (the
packages must be there), certbot (a test authority's certificate instead), the second host (both replicas on
this one, on ports 8101 and 8102), the firewall. SendGrid is the local server of the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

DOC = REPO / "docs" / "deploy.md"
UNITS = REPO / "deploy" / "systemd"
ROOTED = ("/etc/mco-newsletter", "/srv/mco-newsletter", "/opt/mco-newsletter", "/var/backups/mco-newsletter",
          "/var/www/letsencrypt")
ISSUE = "2024-05"
PASSWORD = "walkthrough-password"


def say(text: str) -> None:
    print(text, flush=True)


class Walk:
    """The temporary root, the page's text, and the environment every command gets."""

    def __init__(self, root: Path):
        self.root = root
        self.doc = DOC.read_text(encoding="utf-8")
        self.env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        self.as_root = os.geteuid() == 0

    def path(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def rooted(self, text: str) -> str:
        """The page's paths moved under the temporary root."""
        for prefix in ROOTED:
            text = text.replace(prefix, str(self.path(prefix)))
        return text

    def command(self, text: str) -> str:
        """The page's command, which must be in it word for word."""
        if text not in self.doc:
            raise SystemExit(f"docs/deploy.md no longer says: {text}")
        return text

    def shell(self, text: str, *, stdin: str | None = None, check: bool = True,
              cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Run one of the page's commands: found in it, paths rooted, sudo dropped (sudo -u USER as runuser)."""
        line = self.rooted(self.command(text))
        user = re.match(r"sudo -u (\S+) ", line)
        line = re.sub(r"^sudo (-u \S+ )?", "", line).replace("| sudo tee", "| tee")
        if user and user.group(1) == "postgres" and self.as_root:  # the tool's own user: this one
            line = f"runuser -u {user.group(1)} -- {line}"
        say(f"  $ {text}")
        result = subprocess.run(["/bin/sh", "-c", line], input=stdin, env=self.env, capture_output=True, text=True,
                                cwd=cwd)
        if check and result.returncode != 0:
            raise SystemExit(f"failed ({result.returncode}): {line}\n{result.stdout}{result.stderr}")
        return result


class Unit:
    """A unit file of deploy/systemd as systemd reads it, for one instance."""

    def __init__(self, walk: Walk, name: str, instance: str = ""):
        self.walk, self.instance = walk, instance
        text = (UNITS / name).read_text(encoding="utf-8").replace("\\\n", " ")
        self.settings: list[tuple[str, str]] = []
        for line in text.splitlines():
            if "=" in line and not line.startswith(("#", "[")):
                key, value = line.split("=", 1)
                self.settings.append((key.strip(), walk.rooted(self._specifiers(value.strip()))))

    def _specifiers(self, value: str) -> str:
        return value.replace("%i", self.instance).replace("%%", "\0").replace("\0", "%")

    def values(self, key: str) -> list[str]:
        return [value for name, value in self.settings if name == key]

    def environment(self) -> dict:
        """Environment= then EnvironmentFile= (which wins), then the credentials folder LoadCredential= fills."""
        env = dict(self.walk.env)
        for value in self.values("Environment"):
            for word in shlex.split(value):
                name, _, setting = word.partition("=")
                env[name] = setting
        for value in self.values("EnvironmentFile"):
            path = Path(value.lstrip("-"))
            if path.exists():
                for line in path.read_text().splitlines():
                    if "=" in line and not line.startswith("#"):
                        name, _, setting = line.partition("=")
                        env[name.strip()] = setting.strip()
            elif not value.startswith("-"):
                raise SystemExit(f"{path}: the unit needs it")
        credentials = Path(tempfile.mkdtemp(prefix="credentials-", dir=self.walk.root))
        for value in self.values("LoadCredential"):
            name, _, source = value.partition(":")
            if Path(source).exists():
                shutil.copy(source, credentials / name)
                (credentials / name).chmod(0o400)
        env["CREDENTIALS_DIRECTORY"] = str(credentials)
        if self.walk.as_root and self.values("User") == ["postgres"]:
            shutil.chown(credentials, "postgres")
        return env

    def argv(self, key: str, env: dict) -> list[str]:
        """ExecStart= (or another Exec line) with systemd's variables: ${NAME} in a word, $NAME a word of its own."""
        [line] = self.values(key)
        words = []
        for word in shlex.split(line):
            if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", word):
                words += env.get(word[1:], "").split()
            else:
                words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
        if self.walk.as_root and self.values("User") == ["postgres"]:
            words = ["runuser", "-u", "postgres", "--", *words]
        return words

    def start(self, log: Path) -> subprocess.Popen:
        env = self.environment()
        argv = self.argv("ExecStart", env)
        say(f"  (systemd) {' '.join(argv[:6])} …")
        return subprocess.Popen(argv, env=env, cwd=(self.values("WorkingDirectory") or [None])[0],
                                stdout=subprocess.DEVNULL, stderr=open(log, "ab"))

    def run_job(self, log: Path, *, restart_delay: float = 1.0, at_most: int = 10) -> int:
        """A oneshot job as its Restart= and RestartPreventExitStatus= say: run again after an exit other than 0
        and those; the last exit code."""
        prevent = {int(code) for value in self.values("RestartPreventExitStatus") for code in value.split()}
        for _ in range(at_most):
            env = self.environment()
            result = subprocess.run(self.argv("ExecStart", env), env=env, cwd=(self.values("WorkingDirectory") or
                                                                              [None])[0],
                                    stdout=open(log, "ab"), stderr=subprocess.STDOUT)
            if result.returncode == 0:
                for _ in self.values("ExecStartPost"):
                    subprocess.run(self.argv("ExecStartPost", env), env=env, check=True)
                return 0
            if result.returncode in prevent or self.values("Restart") != ["on-failure"]:
                return result.returncode
            say(f"  (systemd) exit {result.returncode}: run again")
            time.sleep(restart_delay)
        return result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary root (its path is printed)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mco-deploy-"))
    root.chmod(0o755)  # runuser -u postgres reaches the backups folder under it
    say(f"walking docs/deploy.md under {root}")
    started = time.perf_counter()
    try:
        walk_through(Walk(root))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    say(f"docs/deploy.md followed from start to finish in {time.perf_counter() - started:.1f} s")


def walk_through(walk: Walk) -> None:  # noqa: C901 — the page's sections, in order
    import httpx
    from imap_server import certificate_authority
    from postgres_cluster import DURABLE_OPTIONS, Cluster
    from replicas import Proxy, client, free_port
    from send import copy_workspace
    from sendgrid_server import API_KEY, SendGridServer
    from test_web import key_pair

    processes: list[subprocess.Popen] = []
    cluster = Cluster(walk.root / "postgresql")
    sendgrid = SendGridServer().start()
    proxy = None
    try:
        say("1. PostgreSQL")
        say("  (apt-get install postgresql: the server's programs are here)")
        cluster.start(DURABLE_OPTIONS)
        walk.env["PGHOST"] = str(cluster.folder)
        walk.shell("sudo -u postgres createuser --pwprompt mco_newsletter", stdin=f"{PASSWORD}\n{PASSWORD}\n")
        walk.shell("sudo -u postgres createdb --owner=mco_newsletter mco_newsletter")
        url = f"postgresql://mco_newsletter:{PASSWORD}@/mco_newsletter?host={cluster.folder}"
        walk.shell("sudo install -d -o postgres -g postgres -m 0700 /var/backups/mco-newsletter")

        say("2. The tool")
        workspace = walk.path("/srv/mco-newsletter/workspace")
        workspace.parent.mkdir(parents=True)
        shutil.move(copy_workspace(walk.root), workspace)
        tool = walk.path("/opt/mco-newsletter/bin/mco-newsletter")
        tool.parent.mkdir(parents=True)
        tool.write_text(f"#!/bin/sh\nexec {sys.executable} -m mco_newsletter \"$@\"\n")
        tool.chmod(0o755)
        say("  (git clone and pip install: this checkout, run from its src/)")
        settings = workspace / "newsletter.toml"
        text = settings.read_text(encoding="utf-8")
        for line in ('backend = "sendgrid"', 'trusted_proxies = ["10.0.0.10"]', "retention_days = 30"):
            walk.command(line)
        text = text.replace('backend = "outbox"', 'backend = "sendgrid"', 1)
        if not re.search(r"^retention_days *=", text, re.M):
            text = text.replace("max_age_seconds = 300", "max_age_seconds = 300\nretention_days = 30", 1)
        assert not re.search(r"^\[web\]", text, re.M), "the workspace has its own [web]"
        settings.write_text(text + '\n[web]\ntrusted_proxies = ["127.0.0.1"]  # nginx, on this machine\n',
                            encoding="utf-8")

        say("3. Secrets")
        public, sign = key_pair()
        walk.shell("sudo install -d -m 0700 /etc/mco-newsletter")
        walk.shell("sudo sh -c 'umask 077; cat > /etc/mco-newsletter/database-url'", stdin=url + "\n")
        walk.shell("sudo sh -c 'umask 077; python3 -c \"import secrets; print(secrets.token_urlsafe(32))\" > "
                   "/etc/mco-newsletter/unsubscribe.key'")
        walk.shell("sudo sh -c 'umask 077; python3 -c \"import secrets; print(secrets.token_urlsafe(32))\" > "
                   "/etc/mco-newsletter/erasure.key'")
        walk.shell("sudo sh -c 'umask 077; cat > /etc/mco-newsletter/sendgrid-api-key'", stdin=API_KEY + "\n")
        walk.shell("sudo sh -c 'umask 077; cat > /etc/mco-newsletter/sendgrid-webhook-public-key'",
                   stdin=public + "\n")
        assert oct(walk.path("/etc/mco-newsletter/database-url").stat().st_mode)[-3:] == "600"
        walk.env["SENDGRID_API_HOST"] = sendgrid.url  # the provider: the tests' local SendGrid server
        walk.command("sudo systemd-run --pty --wait --uid=mco-newsletter -p LoadCredential=MCO_NEWSLETTER_DB:"
                     "/etc/mco-newsletter/database-url /opt/mco-newsletter/bin/mco-newsletter --workspace "
                     "/srv/mco-newsletter/workspace database status")
        credentials = walk.root / "systemd-run-credentials"
        credentials.mkdir()
        shutil.copy(walk.path("/etc/mco-newsletter/database-url"), credentials / "MCO_NEWSLETTER_DB")
        status = subprocess.run([str(tool), "--workspace", str(workspace), "database", "status"],
                                env={**walk.env, "CREDENTIALS_DIRECTORY": str(credentials)}, capture_output=True,
                                text=True)
        assert status.returncode == 0 and "PostgreSQL" in status.stdout, status.stdout + status.stderr
        say("  (systemd-run) database status: " + status.stdout.strip().splitlines()[0])

        say("4. Two serve replicas (ports 8101 and 8102 of this machine, for host A and host B)")
        ports = tuple(port if available(int(port)) else str(free_port()) for port in ("8101", "8102"))
        walk.shell("echo 'SERVE_HOST=10.0.0.11' | sudo tee /etc/mco-newsletter/serve-8025.env")
        walk.shell("echo 'SERVE_OPTIONS=--editor' | sudo tee -a /etc/mco-newsletter/serve-8025.env")
        editor_env = walk.path("/etc/mco-newsletter/serve-8025.env")
        # Host A's file for port 8101, host B's ("the same, without the --editor line") for 8102; this host's address.
        editor_env.with_name(f"serve-{ports[0]}.env").write_text(editor_env.read_text().replace("10.0.0.11",
                                                                                                 "127.0.0.1"))
        editor_env.with_name(f"serve-{ports[1]}.env").write_text("SERVE_HOST=127.0.0.1\n")
        editor_env.unlink()
        walk.command("sudo systemctl enable --now mco-newsletter-serve@8025.service")
        replicas = []
        for port in ports:
            unit = Unit(walk, "mco-newsletter-serve@.service", port)
            processes.append(unit.start(walk.root / f"serve-{port}.log"))
            replicas.append(f"http://127.0.0.1:{port}")
        for replica, process in zip(replicas, processes):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(replica + "/healthz", trust_env=False).text == "ok\n":
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{replica} did not start:\n" + (walk.root / f"serve-{replica.rsplit(':', 1)[1]}"
                                                                                   ".log").read_text())
                time.sleep(0.2)
            say(f"  curl -fsS {replica}/healthz: ok")

        say("5. nginx with TLS")
        say("  (apt-get install nginx: here; certbot: a test authority's certificate instead)")
        walk.command("sudo cp deploy/nginx/mco-newsletter-proxy.conf /etc/nginx/")
        walk.command("sudo nginx -t")
        ca, cert, key = certificate_authority(walk.root)
        archive = walk.path("/srv/mco-newsletter/archive")
        archive.mkdir()
        proxy = Proxy(walk.root / "nginx", replicas=[url.removeprefix("http://") for url in replicas],
                      editor=replicas[0].removeprefix("http://"), cert=cert, key=key, archive=archive).start()
        say(f"  nginx -t: ok; listening on {proxy.url}")

        say("6. The archive")
        walk.shell("sudo -u mco-newsletter /opt/mco-newsletter/bin/mco-newsletter --workspace "
                   "/srv/mco-newsletter/workspace archive --out /srv/mco-newsletter/build/archive")
        walk.command("rsync -a --delete /srv/mco-newsletter/build/archive/ web:/srv/mco-newsletter/archive/")
        shutil.copytree(walk.path("/srv/mco-newsletter/build/archive"), archive, dirs_exist_ok=True)
        with client(ca) as browser:
            page = browser.get(f"{proxy.url}/en/index.html")
        assert page.status_code == 200, page.status_code
        say("  the archive's English index through nginx: 200")

        say("A reader signs up and confirms, through nginx")
        with client(ca, source="127.0.0.5") as browser:
            answer = browser.post(proxy.url + "/subscribe", data={"email": "reader@example.org", "language": "de"})
            assert answer.status_code == 200, answer.status_code
            deadline = time.monotonic() + 20
            while not sendgrid.record.accepted and time.monotonic() < deadline:
                time.sleep(0.1)
            [token] = sendgrid.record.accepted[0]["substitutions"].values()
            confirmed = browser.post(f"{proxy.url}/confirm/{token}", data={"confirm": "yes"})
            assert confirmed.status_code == 200, confirmed.status_code
        say("  sign-up 200, confirmation email through SendGrid, Confirm 200")

        say("7. send and bounces as jobs")
        walk.command("sudo systemctl start --no-block mco-newsletter-send@2024-05.service")
        before = len(sendgrid.record.accepted)
        code = Unit(walk, "mco-newsletter-send@.service", ISSUE).run_job(walk.root / "send.log")
        sent = [p["to"][0]["email"] for p in sendgrid.record.accepted[before:]]
        assert code == 0 and sent == ["reader@example.org"], (code, sent, (walk.root / "send.log").read_text())
        say(f"  send {ISSUE}: exit 0, the reader's edition accepted by SendGrid")

        say("8. Checking it all")
        walk.command("curl -fsS https://digest.example.org/healthz")
        with client(ca) as browser:
            assert browser.get(proxy.url + "/healthz").text == "ok\n"
            assert browser.get(proxy.url + "/subscribe").status_code == 200
        say("  /healthz through nginx: ok; /subscribe: 200")

        say("1. (again) Backups: the nightly job, then a restore")
        walk.command("sudo systemctl enable --now mco-newsletter-backup.timer")
        backup = Unit(walk, "mco-newsletter-backup.service")
        assert backup.run_job(walk.root / "backup.log") == 0, (walk.root / "backup.log").read_text()
        [dump] = walk.path("/var/backups/mco-newsletter").glob("mco_newsletter-*.dump")
        walk.shell("sudo -u postgres createdb --owner=mco_newsletter mco_newsletter_restored")
        shutil.copy(dump, walk.root / "FILE.dump")
        os.chmod(walk.root / "FILE.dump", 0o644)
        walk.shell("sudo -u postgres pg_restore --dbname=mco_newsletter_restored FILE.dump", cwd=walk.root)
        listed = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True,
                                check=True).stdout
        assert "TABLE DATA public subscribers" in listed and "TABLE public client_window_" in listed
        assert "TABLE DATA public client_window_" not in listed, listed
        import psycopg

        with psycopg.connect(url.replace("/mco_newsletter?", "/mco_newsletter_restored?")) as restored:
            [(readers,)] = restored.execute("SELECT count(*) FROM subscribers").fetchall()
        assert readers == 1, readers
        say(f"  {dump.name}: restored, 1 reader; the per-client counts of the hour not in it")
    finally:
        if proxy is not None:
            proxy.stop()
        for process in processes:
            process.terminate()
            process.wait(15)
        sendgrid.shutdown()
        cluster.stop()


def available(port: int) -> bool:
    """Whether the port the page names is free here (else the walk takes another)."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    main()
