"""Install figures: the README's first command in a fresh virtualenv — its size and its wall time.

Run from the repository: python bench/install.py [REF ...] (git refs; default HEAD)
For each ref, in turn: `git archive` of it into a temporary folder, `python -m venv`, then the README's
first command there, as that ref's README writes it (the first line of its first code block), timed.
Prints the venv's size (du -sm), what the install added to an empty venv, the wall time, and the
biggest distributions (the files each one's RECORD lists). pip uses its usual cache and indexes.
Target (issue 15): the base install under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["archive", "check", "models", "models install", "models list", "new", "preview", "render", "review",
            "segments", "send", "send-status", "serve", "status", "subscribers", "subscribers add",
            "subscribers erase", "subscribers export", "subscribers import", "subscribers list",
            "subscribers purge-pending", "subscribers show", "subscribers unsubscribe", "translate",
            "translators", "translators add", "translators list", "translators revoke"]
BUILD_TINY_MODEL = ("import sys; from pathlib import Path; sys.path.insert(0, 'tests'); from tiny_argos import "
                    "build_package; print(build_package(Path(sys.argv[1])))")
MONTH = ["mco-newsletter --help", *(f"mco-newsletter {command} --help" for command in COMMANDS),
         "mco-newsletter check", "mco-newsletter status",
         *(f"mco-newsletter subscribers add reader{n}@example.org --language {language}"
           for n, language in enumerate(["en", "de", "ru", "en"])),
         "mco-newsletter send 2024-05 --segment all --backend outbox --yes", "mco-newsletter send-status 2024-05",
         f'mco-newsletter models install --file "$(python -c "{BUILD_TINY_MODEL}" "$ARGOS_PACKAGES_DIR/..")"',
         'mco-newsletter new 2099-01 --language en --title "Hello world"',
         "mco-newsletter translate 2099-01 --lang de"]
# Run by the new venv's python: size per distribution from its RECORD, biggest first.
PER_DISTRIBUTION = """
import importlib.metadata as md, os
rows = []
for dist in md.distributions():
    size = sum(os.path.getsize(f.locate()) for f in dist.files or () if os.path.exists(f.locate()))
    rows.append((size, dist.metadata["Name"], dist.version))
for size, name, version in sorted(rows, reverse=True)[:TOP]:
    print(f"{size / 2**20:8.1f} MiB  {name} {version}")
"""


def kibibytes(path: Path) -> int:
    return int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def bytecode(venv: Path) -> float:
    """MiB of the venv in __pycache__ folders."""
    folders = [str(p) for p in venv.rglob("__pycache__")]
    if not folders:
        return 0.0
    done = subprocess.run(["du", "-sck", *folders], capture_output=True, text=True, check=True)
    return int(done.stdout.splitlines()[-1].split()[0]) / 1024


def sizes(stage: str, venv: Path, empty: int, empty_bytecode: float) -> None:
    added = kibibytes(venv) - empty
    print(f"  {stage}: venv {kibibytes(venv) / 1024:.1f} MiB, the install adds {added / 1024:.1f} MiB "
          f"({added * 1024 / 1e6:.1f} MB; target under 300 MB), of it __pycache__ "
          f"{bytecode(venv) - empty_bytecode:.1f} MiB")


def run(command: str, source: Path, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, shell=True, cwd=source, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def serve_once(source: Path, env: dict) -> float:
    """Seconds from `serve` started to its sign-up page answered."""
    start = time.perf_counter()
    server = subprocess.Popen(["mco-newsletter", "serve", "--port", "8765"], cwd=source, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:8765/subscribe", timeout=5) as page:
                    page.read()
                return time.perf_counter() - start
            except OSError:
                if server.poll() is not None or time.perf_counter() - start > 60:
                    raise RuntimeError("serve did not answer") from None
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait()


def readme_command(source: Path) -> tuple[str, str]:
    """The README's first command (install && render), as the ref's own README writes it; pip made quiet."""
    readme = (source / "README.md").read_text(encoding="utf-8")
    command = readme.split("```sh\n", 1)[1].splitlines()[0].split("#", 1)[0].strip()
    pip, render = command.split(" && ")
    return pip.replace("pip install", "pip install -q", 1), render


def measure(ref: str, folder: Path, top: int, no_compile: bool, month: bool) -> None:
    source, venv = folder / "src", folder / "venv"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty, empty_bytecode = kibibytes(venv), bytecode(venv)
    # As on a user's machine: Python writes the bytecode of what it imports (this machine's shells say not to).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
               ARGOS_PACKAGES_DIR=str(folder / "models" / "packages"))
    pip, render = readme_command(source)
    if no_compile and "--no-compile" not in pip:
        pip = pip.replace("pip install", "pip install --no-compile")
    install_time, done = run(pip, source, env)
    render_time, rendered = run(render, source, env) if done.returncode == 0 else (0.0, done)
    if rendered.returncode != 0:
        print(f"{ref}: the README's first command failed (exit {rendered.returncode}):\n{rendered.stderr[-2000:]}")
        return
    again, _ = run(render, source, env)
    print(f"{ref}{' (pip --no-compile)' if no_compile else ''}: empty venv {empty / 1024:.1f} MiB "
          f"({empty_bytecode:.1f} MiB of it pip's and setuptools' __pycache__); README's first "
          f"command {install_time + render_time:.1f} s (pip {install_time:.1f} s, first render {render_time:.2f} s, "
          f"second render {again:.2f} s)")
    sizes("after the README's first command", venv, empty, empty_bytecode)
    print("  " + rendered.stdout.strip().splitlines()[0])
    if month:
        (folder / "models" / "packages").mkdir(parents=True)
        spent = serve_once(source, env)
        first_serve = spent
        for command in MONTH:
            elapsed, done = run(command, source, env)
            spent += elapsed
            if done.returncode != 0:
                print(f"  {command!r} failed (exit {done.returncode}): {done.stderr[-500:]}")
        sizes(f"after a month's use ({len(MONTH) + 1} commands, {spent:.1f} s; serve's first page {first_serve:.2f} s)",
              venv, empty, empty_bytecode)
    table = subprocess.run([str(venv / "bin" / "python"), "-c", PER_DISTRIBUTION.replace("TOP", str(top))],
                           capture_output=True, text=True, check=True).stdout
    print(table, end="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("refs", nargs="*", default=["HEAD"])
    parser.add_argument("--top", type=int, default=12, help="how many distributions to list")
    parser.add_argument("--no-compile", action="store_true", help="pip install --no-compile")
    parser.add_argument("--month", action="store_true", help="then a month's use, and the sizes again")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    for ref in args.refs:
        folder = Path(tempfile.mkdtemp(prefix="mco-install-bench-"))
        try:
            measure(ref, folder, args.top, args.no_compile, args.month)
        finally:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
