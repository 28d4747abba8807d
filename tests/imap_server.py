"""A private Dovecot (Debian's dovecot-imapd) serving IMAP over TLS on a loopback port, started by a test and stopped
after it, with a certificate signed by a test certificate authority.

Each instance has its own folder under /tmp (configuration, runtime sockets, log, Maildirs); the system's
Dovecot configuration is neither read nor needed, and no system Dovecot runs (./test installs the package with
service starts refused). One user, whose password is in a passwd-file; mail is stored as the `nobody` user.
Dovecot's master runs as root (it drops to its own users for each service), so a test without root is skipped.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import grp
import pwd
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from loopback import stop_daemon, wait_until_listening

DOVECOT = Path("/usr/sbin/dovecot")
DH = Path("/usr/share/dovecot/dh.pem")


def unavailable() -> str | None:
    """Why a private Dovecot cannot run here, or None."""
    if not DOVECOT.exists() or not Path("/usr/lib/dovecot/imap").exists():
        return "Dovecot's IMAP server is not installed (./test installs it: apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "Dovecot's master runs only as root"
    return None


def certificate_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate it signed for 127.0.0.1 and localhost: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mco-newsletter test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imap.test")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(server.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "key.pem").chmod(0o600)
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


class Dovecot:
    """A running private Dovecot: IMAP over TLS (from the first byte) on `port`, one `user` with `password`;
    `ca` is the certificate of the authority that signed the server's certificate."""

    def __init__(self, *, user: str, password: str):
        self.folder = Path(tempfile.mkdtemp(prefix="mco-dov-"))  # short: Dovecot's sockets live under it
        self.folder.chmod(0o755)  # Dovecot's login and mail processes reach their sockets and mail through it
        self.user, self.password = user, password
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None
        try:
            self.ca, cert, key = certificate_authority(self.folder)
            self._configure(cert, key)
            self._start()
        except BaseException:
            self.stop()
            raise

    def _configure(self, cert: Path, key: Path) -> None:
        nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        mail = self.folder / "mail"
        mail.mkdir()
        os.chown(mail, nobody, nogroup)
        (self.folder / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        (self.folder / "users").chmod(0o644)  # read by Dovecot's auth process, as its own user
        config = f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
{f"ssl_dh = <{DH}" if DH.exists() else ""}
auth_mechanisms = plain
mail_location = maildir:{mail}/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.folder}/users
}}
userdb {{
  driver = static
  args = uid={nobody} gid={nogroup} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
"""
        (self.folder / "dovecot.conf").write_text(config)

    def _start(self) -> None:
        # Under tests/subreaper.py: Dovecot's master leaves services (anvil, stats) behind when it stops.
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("subreaper.py")), str(DOVECOT),
                                         "-F", "-c", str(self.folder / "dovecot.conf")],
                                        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_listening(self.process, self.port, name="Dovecot", log=self.log)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self):
        """An IMAP client logged in as the user, trusting the test CA (the test's own view of the mailbox)."""
        import imaplib
        import ssl

        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=ssl.create_default_context(cafile=self.ca))
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message into a folder, as a mail system would."""
        client = self.client()
        try:
            typ, data = client.append(folder, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            client.logout()

    def subjects(self, folder: str) -> list[str]:
        """The Subject of every message in a folder (empty when it does not exist)."""
        import email

        client = self.client()
        try:
            typ, _ = client.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            _, data = client.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
                found.append(str(email.message_from_bytes(fetched[0][1])["Subject"]))
            return found
        finally:
            client.logout()

    def stop(self) -> None:
        stop_daemon(self.process, self.folder)
