"""Shared fixtures: a throw-away copy of the workspace, issue writers and a CLI runner."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
# A pristine sample workspace (settings and the two sample issues), frozen for the tests: whatever the
# organisation adds to its own newsletter.toml and issues/ never changes what the tests see.
SAMPLE = REPO / "tests" / "sample"
# The shared folder beside the repository: seed digests and the SendGrid specs (never copied in).
SHARED = Path(os.environ.get("MCO_NEWSLETTER_SHARED", REPO.parent / "shared"))
SAMPLE_ISSUES = ("2023-12", "2024-05")
# The tiny translation packages: built and installed once per session (tests/tiny_models.py).
# Every store-touching test on SQLite and on PostgreSQL (tests/stores.py).
pytest_plugins = ("tiny_models", "stores")
# CTranslate2's OpenMP threads spin while they wait for work: on a machine whose cores are all busy (two
# test workers, or anything else) a spinning thread takes the core from the one it waits for, and the
# tiny model's half-second translation took 30 s. Passive threads sleep instead. Set before anything
# loads libgomp (it reads the variable once); children (the CLI in a subprocess) inherit it.
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
# Ctrl-C reaches the CLI processes the tests start, whoever started the tests: a shell that runs a command in
# the background (`cmd &`, nohup) has it ignore SIGINT, which its children inherit, and the Ctrl-C tests then
# failed (the prompt kept waiting, exit 1 for 130). Python's own handler here; a child starts with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# And one thread per process: the workers already fill the cores, and at the tiny model's size two threads wait
# on each other more than they compute (a 40-sentence batch: 0.60 s of CPU on one thread, 1.2 s on two, and
# slower too). A test that sets [translation] threads still gets its number.
os.environ["OMP_NUM_THREADS"] = "1"
# Compiled modules are kept as Python keeps them by default (__pycache__ beside the sources, which git ignores),
# even where the caller's environment says PYTHONDONTWRITEBYTECODE: otherwise each of the hundred or so CLI
# processes the tests start (the crash tests' senders among them) and each test worker compiles the tool's
# modules again, a fifth of a command's start-up. (A run-wide PYTHONPYCACHEPREFIX did keep them, but Python
# then ignores every __pycache__ beside the sources: the Argos test compiled torch, stanza and spacy anew, 60 MB
# and ten seconds a run.)
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

VALID_FRONT = """\
---
title: Test digest
date: 2024-06-01
language: en
preheader: A short line.
keywords: [Russia]
---
"""


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto` (the project's addopts): one test worker more than the cores. The tests wait about a seventh of
    their time (on Chromium, a server, a process they started), and the extra worker fills those waits; a fourth
    on two cores only adds its own start-up. Measured on 2 cores, alternating runs: 3 workers 126-137 s,
    2 workers 143-147 s, 4 workers 148-150 s. PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if given:
        return int(given)
    # macOS has no sched_getaffinity: all its cores are this process's.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection that leaves this machine fails the test at once (loopback and Unix sockets are fine)."""
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(address) -> bool:
        if isinstance(address, (str, bytes)):
            return True  # a Unix socket
        host = str(address[0])
        return host in ("localhost", "::1") or host.startswith("127.")

    def connect(self, address):
        if not allowed(address):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


# The developer's own settings must not reach the tests: a database path, keys, an API host, Argos models.
KEPT_ENVIRONMENT = ("MCO_NEWSLETTER_SHARED", "MCO_NEWSLETTER_CHROMIUM")
SCRUBBED_ENVIRONMENT = ("SENDGRID_API_KEY", "SENDGRID_API_HOST", "SENDGRID_WEBHOOK_PUBLIC_KEY", "ARGOS_PACKAGES_DIR")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Every test starts without the caller's MCO_NEWSLETTER_* (but the shared folder and Chromium) or SendGrid variables."""
    for name in list(os.environ):
        if (name.startswith("MCO_NEWSLETTER_") and name not in KEPT_ENVIRONMENT) or name in SCRUBBED_ENVIRONMENT:
            monkeypatch.delenv(name)


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, filled by build(folder) once per test run, shared by every pytest-xdist worker.

    Workers share the parent of their base temp folder (fresh for each run); a lock makes the first worker
    build while the others wait, and a marker file says the build finished (a build that failed is redone).
    Tests only read the folder (copy it to change it).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / f"{name}.built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (root / f"{name}.built").touch()
    return folder


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the tool's own launcher, render/browser.py) for every browser test of this worker.

    Starting Chromium takes seconds; a test opens its own page (browser.new_page: a fresh context, no cookies
    or storage shared with other tests) and closes it. Started at the first test that asks for it. While it
    runs, Playwright's event loop counts as running on the main thread: a test that needs asyncio.run()
    there runs it in a thread of its own.
    """
    from mco_newsletter.render.browser import chromium

    with chromium() as instance:
        yield instance


def copy_sample(root: Path, repo: Path = REPO) -> Path:
    """Make `root` a pristine workspace: tests/sample's settings and issues; its templates and locales are the
    package's (`repo` is this repository; a test may point it at a copy of its own)."""
    sample = repo / "tests" / "sample"
    root.mkdir()
    shutil.copy(sample / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(sample / "issues", root / "issues")
    return root


def override_template(workspace: Path, name: str) -> Path:
    """The workspace's own copy of the package's template `name` (an override, for a test to edit)."""
    from mco_newsletter.defaults import TEMPLATES

    path = workspace / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEMPLATES / name, path)
    return path


@pytest.fixture
def workspace(tmp_path: Path, store_kind: str) -> Path:
    """A pristine workspace: the sample settings and issues (tests/sample), the package's templates and locales;
    its store is the test's (tests/stores.py: SQLite under private/, or a fresh PostgreSQL database). A shared
    store's keys are never made on first use: with PostgreSQL the workspace has them, as `keys init` leaves them."""
    root = copy_sample(tmp_path / "ws")
    if store_kind == "postgresql":
        from hosts import make_keys

        make_keys(root)
    return root


@pytest.fixture
def write_issue(workspace: Path):
    """Write issues/<id>/issue.md in the test workspace and return its path."""

    def write(issue_id: str, text: str, *, dedent: bool = True) -> Path:
        path = workspace / "issues" / issue_id / "issue.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings(workspace: Path):
    """The validated settings of the test workspace."""
    from mco_newsletter.config import load_settings

    return load_settings(workspace)


@pytest.fixture
def run(workspace: Path):
    """Run the CLI inside the test workspace; returns click's Result."""
    # Importing a command module registers its commands.
    from mco_newsletter.cli import (cli, editions, issues, sending, subscribers, translation,  # noqa: F401
                                    translators, web)

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--workspace", str(workspace), *args], input=input,
                                  catch_exceptions=False)

    return invoke


def set_setting(workspace: Path, old: str, new: str) -> None:
    """Replace one line's text in the test workspace's newsletter.toml."""
    path = workspace / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in newsletter.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def render_issue(settings, issue_id: str, language: str | None = None, **changes):
    """Render an issue of a workspace; `language` forces another language's template words."""
    import dataclasses

    from mco_newsletter.edition import build_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    edition = build_edition(load_issue(settings, issue_id))
    if language or changes:
        edition = dataclasses.replace(edition, language=language or edition.language, **changes)
    return render(edition, settings)


@pytest.fixture
def render_edition(settings):
    """Render an issue of the test workspace; `language` forces another language's template words."""

    def rendered(issue_id: str, language: str | None = None, **changes):
        return render_issue(settings, issue_id, language, **changes)

    return rendered
