"""DKIM signing cost per message, in parts: the real 2024-05 editions, signed as `send` signs them.

Run from the repository: python bench/dkim_sign.py [--messages 300]

Prints, per edition, milliseconds per message for: filling a reader's copy unsigned; the tool's signing
(body pieces canonicalized once per edition, only hashed per reader, signed by OpenSSL); dkimpy's own
dkim.sign() on the same copy (canonicalizes and hashes the whole body each time, signs in Python); the body
hash alone both ways; and the RSA-2048 signature alone, dkimpy's (Python) and OpenSSL's (the tool's).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from send import copy_workspace  # noqa: E402


def per_message(work, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        work()
    return (time.perf_counter() - start) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    import dkim
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.hazmat.primitives.hashes import SHA256
    from dkim.crypto import RSASSA_PKCS1_v1_5_sign, parse_pem_private_key

    from mco_newsletter.config import load_settings
    from mco_newsletter.delivery.campaign import prepare_editions, signer_for
    from mco_newsletter.delivery.dkim import _relaxed_body
    from mco_newsletter.delivery.dkim_keys import generate_key
    from mco_newsletter.delivery.message import personal_message
    from mco_newsletter.edition import ready_languages
    from mco_newsletter.workspace import load_issue

    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · dkimpy {version('dkimpy')} · load average "
          f"{' '.join(f'{n:.1f}' for n in os.getloadavg())}")
    folder = Path(tempfile.mkdtemp(prefix="mco-dkim-bench-"))
    try:
        root = copy_workspace(folder)
        path = root / "newsletter.toml"
        path.write_text(path.read_text() + '\n[dkim]\ndomain = "example.org"\nselector = "bench"\n')
        settings = load_settings(root)
        generate_key(settings.dkim)
        key_pem = settings.dkim.key.read_bytes()
        dkimpy_key = parse_pem_private_key(key_pem)
        issue = load_issue(settings, "2024-05")
        languages = ready_languages(issue, settings.languages)
        signer = signer_for(settings, "smtp")
        signed = prepare_editions(settings, issue, languages, signer=signer)
        plain = prepare_editions(settings, issue, languages)
        n = args.messages
        for language in languages:
            token = secrets.token_urlsafe(48)[:len(signed[language].tag)]
            message = personal_message(plain[language], "reader@example.net", token)
            body = message.partition(b"\r\n\r\n")[2]
            edition = signed[language].signer
            figures = {
                "fill, unsigned": per_message(lambda: personal_message(plain[language], "reader@example.net", token), n),
                "fill + sign (the tool)": per_message(
                    lambda: personal_message(signed[language], "reader@example.net", token), n),
                "dkim.sign() on the copy": per_message(lambda: dkim.sign(
                    message, b"bench", b"example.org", key_pem, canonicalize=(b"relaxed", b"relaxed")), max(n // 3, 1)),
                "body hash, whole body each time": per_message(
                    lambda: hashlib.sha256(_relaxed_body(body)).digest(), n),
                "body hash, shared pieces canonicalized once": per_message(lambda: edition.body_hash(body, token), n),
                "RSA-2048 signature alone, dkimpy (Python)": per_message(
                    lambda: RSASSA_PKCS1_v1_5_sign(hashlib.sha256(b"x"), dkimpy_key), n),
                "RSA-2048 signature alone, OpenSSL (the tool's)": per_message(
                    lambda: signer.key.sign(hashlib.sha256(b"x").digest(), PKCS1v15(), Prehashed(SHA256())), n),
            }
            print(f"2024-05 [{language}] ({len(message) / 1024:.1f} KiB): " + "; ".join(
                f"{name} {ms:.3f} ms" for name, ms in figures.items()))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
