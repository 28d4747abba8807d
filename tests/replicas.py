"""`serve` replicas as deployed, for the tests and benches: real `mco-newsletter serve` processes behind a real
nginx from Debian (its config made from deploy/nginx/, the files docs/deploy.md installs) with TLS from a test CA,
on loopback ports; nothing system-wide is started or changed (nginx runs in the foreground with every path in a
folder of the caller's).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
NGINX = Path("/usr/sbin/nginx")
SITE = REPO / "deploy" / "nginx" / "mco-newsletter.conf"
PROXY = REPO / "deploy" / "nginx" / "mco-newsletter-proxy.conf"
# What the shipped site file names, and what a run on loopback puts there instead (each must be found: a change
# to the shipped file that these no longer match fails here, not silently).
REPLICAS_SHIPPED = ("    server 10.0.0.11:8025 max_fails=1 fail_timeout=10s;\n"
                    "    server 10.0.0.12:8025 max_fails=1 fail_timeout=10s;\n")
EDITOR_SHIPPED = "upstream mco_newsletter_editor {\n    server 10.0.0.11:8025;\n"


def nginx_unavailable() -> str | None:
    """Why nginx cannot run here, or None."""
    if not NGINX.exists():
        return "nginx is not installed (./test installs Debian's nginx)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_config(*, folder: Path, port: int, http_port: int, replicas: list[str], editor: str, cert: Path, key: Path,
                archive: Path) -> str:
    """deploy/nginx/mco-newsletter.conf as it runs on loopback: its replicas, ports, certificate and folders."""
    text = SITE.read_text(encoding="utf-8")
    replacements = [
        (REPLICAS_SHIPPED, "".join(f"    server {address} max_fails=1 fail_timeout=10s;\n" for address in replicas)),
        (EDITOR_SHIPPED, f"upstream mco_newsletter_editor {{\n    server {editor};\n"),
        ("    listen 80;\n    listen [::]:80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen 443 ssl;\n    listen [::]:443 ssl;\n", f"    listen 127.0.0.1:{port} ssl;\n"),
        ("/etc/letsencrypt/live/digest.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/digest.example.org/privkey.pem", str(key)),
        ("server_name digest.example.org;", "server_name localhost;"),
        ("/var/log/nginx/mco-newsletter.error.log", str(folder / "site-error.log")),
        ("/etc/nginx/mco-newsletter-proxy.conf", str(folder / "mco-newsletter-proxy.conf")),
        ("/srv/mco-newsletter/archive", str(archive)),
        ("/var/www/letsencrypt", str(folder / "acme")),
    ]
    for old, new in replacements:
        assert old in text, f"deploy/nginx/mco-newsletter.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


class Proxy:
    """nginx in the foreground, its config, pid, logs and temporary files in `folder`."""

    def __init__(self, folder: Path, *, replicas: list[str], editor: str, cert: Path, key: Path, archive: Path):
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        for part in ("tmp", "acme", "logs"):
            (folder / part).mkdir(exist_ok=True)
        shutil.copy(PROXY, folder / "mco-newsletter-proxy.conf")
        (folder / "mco-newsletter.conf").write_text(site_config(
            folder=folder, port=self.port, http_port=free_port(), replicas=replicas, editor=editor, cert=cert,
            key=key, archive=archive), encoding="utf-8")
        temp = folder / "tmp"
        # As root nginx's workers would run as nobody, who cannot reach a test's private folder.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
            f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
            f"  include {folder}/mco-newsletter.conf;\n}}\n", encoding="utf-8")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self) -> "Proxy":
        config = ["-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(self.folder / "nginx.conf")]
        checked = subprocess.run([str(NGINX), *config, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen([str(NGINX), *config, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                        stderr=open(self.folder / "nginx.stderr", "wb"))
        wait_for_port(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # a graceful stop: the workers finish and go with the master
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process listening on {port} ended with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


class Replica:
    """One `mco-newsletter serve` process on a loopback port, its log in `log`."""

    def __init__(self, workspace: Path, log: Path, *, editor: bool = False, env: dict | None = None,
                 port: int | None = None):
        self.workspace, self.log, self.editor = workspace, log, editor
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> "Replica":
        self.launch()
        return self.ready()

    def launch(self) -> None:
        """Start the process (ready() waits until it answers: launch several, then wait for each)."""
        command = [sys.executable, "-m", "mco_newsletter", "--workspace", str(self.workspace), "serve", "--port",
                   str(self.port), *(["--editor"] if self.editor else [])]
        self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, "ab"))

    def ready(self) -> "Replica":
        """Wait until GET /healthz answers 200."""
        wait_for_port(self.port, self.process, timeout=60)
        deadline = time.monotonic() + 30
        while httpx.get(self.url + "/healthz", trust_env=False).status_code != 200:
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)
        return self

    def routes(self) -> list[str]:
        """The lines of its log that name a route answered (`POST /subscribe 200 …`)."""
        return [line.split(" INFO ", 1)[1] for line in self.log.read_text(errors="replace").splitlines()
                if " INFO " in line and (" /" in line)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def client(ca: Path | None, *, source: str = "127.0.0.1", **kwargs) -> httpx.Client:
    """An HTTP(S) client that trusts the test CA only (None: for plain http), connecting from `source` (any 127.x
    address is this machine: nginx sees each as another client)."""
    import ssl

    context = ssl.create_default_context(cafile=str(ca)) if ca is not None else ssl.create_default_context()
    transport = httpx.HTTPTransport(verify=context, local_address=source)
    return httpx.Client(transport=transport, trust_env=False, **kwargs)
