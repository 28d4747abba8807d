"""SMTP sending through a real Postfix (Debian's, a private instance on loopback, as the tests start it):
seconds and messages per second end to end, one connection by default, this code against another.

Run from the repository, as root with Postfix installed (./test installs it): python bench/send_postfix.py
[--readers 253] [--connections 1] [--rounds 3] [--security starttls|tls|none] [--compare /path/to/other/src]
(a copy of another version's code: mkdir /tmp/main && git archive main src | tar -x -C /tmp/main, then
--compare /tmp/main/src). Postfix takes each message and throws it away (its discard transport), so the
figures are the SMTP conversation's, not a disk's. TLS (STARTTLS by default) uses a self-signed
certificate made for the run, trusted through SSL_CERT_FILE (which both codes honour). Rounds alternate
the two codes on copies of one workspace, as bench/send_smtp.py does. Issue 21 measured 253 messages over
one connection at 12.3-12.9 s without TCP_NODELAY against 1.2 s with it (the end of each message waited
for Postfix's delayed ACK).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from send import make_workspace, run_child  # noqa: E402
from postfix_server import Postfix, unavailable  # noqa: E402  (tests/ is on the path through send)


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench relay")])
    now = datetime.datetime.now(datetime.UTC)
    made = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(made.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def run_once(template: Path, folder: Path, src: Path, env: dict) -> dict:
    """One `send` of the whole list with the code in `src`, on a fresh copy of the workspace."""
    root = folder / "run"
    shutil.copytree(template, root)
    try:
        figures = run_child(root, "smtp", env, src=src)
    finally:
        shutil.rmtree(root)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=253)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--security", choices=["starttls", "tls", "none"], default="starttls")
    parser.add_argument("--compare", type=Path, help="another src/ folder, run alternately with this one")
    args = parser.parse_args()
    reason = unavailable()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · load average {' '.join(f'{n:.1f}' for n in os.getloadavg())} · "
          f"security {args.security}")
    codes = {"this": REPO / "src"}
    if args.compare:
        codes = {"other": args.compare.resolve(), **codes}
    for src in codes.values():  # compiled once, as an installed package is: no run pays for compiling
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True,
                       env={key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"})
    folder = Path(tempfile.mkdtemp(prefix="mco-postfix-bench-"))
    pem = certificate(folder)
    env = {"SSL_CERT_FILE": str(pem[0])}
    server = Postfix(settings={"virtual_transport": "discard"}, certificate=pem)
    port = server.tls_port if args.security == "tls" else server.port
    runs: dict[str, list[dict]] = {name: [] for name in codes}
    try:
        template = make_workspace(folder, args.readers)
        settings = (template / "newsletter.toml").read_text()
        settings = settings.replace('host = "localhost"\nport = 587\nsecurity = "starttls"',
                                    f'host = "127.0.0.1"\nport = {port}\nsecurity = "{args.security}"')
        settings = settings.replace("connections = 4", f"connections = {args.connections}")
        (template / "newsletter.toml").write_text(settings)
        for number in range(args.rounds):
            for name in (list(codes) if number % 2 == 0 else list(reversed(codes))):
                run = run_once(template, folder, codes[name], env)
                runs[name].append(run)
                print(f"round {number + 1} {name}: {args.readers:,} messages in {run['seconds']:.2f} s "
                      f"({args.readers / run['seconds']:,.0f}/s end to end), CPU {run['cpu']:.2f} s, "
                      f"exit {run['exit']}", flush=True)
    finally:
        shutil.rmtree(folder)
        server.stop()
    for name, done in runs.items():
        seconds = [run["seconds"] for run in done]
        print(f"{name} ({codes[name]}), {args.connections} connection(s): median {statistics.median(seconds):.2f} s "
              f"(range {min(seconds):.2f}-{max(seconds):.2f}) for {args.readers:,} messages")


if __name__ == "__main__":
    main()
