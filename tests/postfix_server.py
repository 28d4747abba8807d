"""A private Postfix (Debian's package) on a loopback port, started by a test and stopped after it.

Each instance has its own folder under /tmp (configuration, queue, data, log, mailboxes); the system's
Postfix configuration is neither read nor needed (`apt-get install postfix` with "No configuration"
leaves none, and no system Postfix runs). Mail for example.org is delivered by Postfix's `virtual` agent
into one Maildir per address, so a test reads what Postfix really delivered; addresses listed as
`unknown` get Postfix's own "550 5.1.1 … User unknown in virtual mailbox table" at RCPT, or, with
`accept_unknown`, are taken and then bounced by Postfix's virtual agent: a delivery status notification
(RFC 3464) to the message's return path. The `bounces` address (and every address of it with a +extension,
recipient_delimiter "+") has a Maildir of its own, `mail/bounces/`, where those notifications land.

Postfix's master must run as root (it drops to the `postfix` user for each service). It runs under this
module's `reap` command (python tests/postfix_server.py reap DIR), which adopts the services master leaves
behind when it stops (a child subreaper) and waits for all of them: no zombie outlives an instance.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from loopback import stop_daemon, wait_until_listening

MASTER = Path("/usr/lib/postfix/sbin/master")
QUEUES = ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved",
          "trace")
SERVICES = """\
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
"""


def unavailable() -> str | None:
    """Why a private Postfix cannot run here, or None."""
    if not MASTER.exists():
        return "Postfix is not installed (./test installs it: apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix's master runs only as root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postfix:
    """A running private Postfix; `port` speaks SMTP (STARTTLS when a certificate is given), `tls_port`
    (with a certificate) speaks TLS from the first byte. `settings` are extra main.cf lines; `unknown`
    addresses have no mailbox; `recipient_access` maps an address to Postfix's answer at RCPT, and
    `end_of_data` to its answer at the end of that reader's message (access table actions, such as
    "452 4.2.2 Mailbox full" or "REJECT text")."""

    def __init__(self, *, settings: dict[str, str] | None = None, unknown=(), recipient_access=None,
                 end_of_data=None, certificate: tuple[Path, Path] | None = None, accept_unknown: bool = False,
                 bounces: str | None = None):
        self.bounces = bounces
        self.folder = Path(tempfile.mkdtemp(prefix="mco-postfix-"))  # short: Postfix's sockets live under it
        self.folder.chmod(0o755)  # Postfix's services, as the postfix user, reach their queue through it
        self.port = free_port()
        self.tls_port = free_port() if certificate else None
        self.process: subprocess.Popen | None = None
        try:
            settings = dict(settings or {})
            if accept_unknown:  # taken at RCPT, bounced by the delivery agent: a DSN to the return path
                settings["smtpd_reject_unlisted_recipient"] = "no"
            self._configure(settings, unknown, recipient_access or {}, end_of_data or {}, certificate)
            self._start()
        except BaseException:
            self.stop()
            raise

    def _configure(self, settings, unknown, recipient_access, end_of_data, certificate) -> None:
        owner = pwd.getpwnam("postfix")
        etc, spool, mail = self.folder / "etc", self.folder / "spool", self.folder / "mail"
        for folder in (etc, spool, mail, self.folder / "data", spool / "pid", spool / "public", spool / "maildrop"):
            folder.mkdir()
        for name in QUEUES:
            (spool / name).mkdir(mode=0o700)
            os.chown(spool / name, owner.pw_uid, -1)
        for folder in (mail, self.folder / "data"):
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        postdrop = _group("postdrop")
        os.chown(spool / "public", owner.pw_uid, postdrop)
        os.chown(spool / "maildrop", owner.pw_uid, postdrop)
        (spool / "public").chmod(0o710)
        (spool / "maildrop").chmod(0o730)
        # One Maildir for all (the virtual agent allows no per-address substitution); each message says whose it is
        # in its Delivered-To header.
        mailboxes = "/@example\\.org$/ example.org/\n"
        if unknown:
            mailboxes = f"if !/^({'|'.join(re.escape(address) for address in unknown)})$/\n{mailboxes}endif\n"
        if self.bounces:
            local, _, domain = self.bounces.partition("@")
            mailboxes = f"/^{re.escape(local)}(\\+[^@]*)?@{re.escape(domain)}$/ bounces/\n{mailboxes}"
        (etc / "mailboxes").write_text(mailboxes)
        for name, table in (("recipient_access", recipient_access), ("end_of_data", end_of_data)):
            (etc / name).write_text("".join(f"{address} {action}\n" for address, action in table.items()))
        main = {
            "compatibility_level": "3.6", "queue_directory": str(spool), "data_directory": str(self.folder / "data"),
            "command_directory": "/usr/sbin", "daemon_directory": "/usr/lib/postfix/sbin",
            "shlib_directory": "/usr/lib/postfix", "meta_directory": "/etc/postfix", "mail_owner": "postfix",
            "setgid_group": "postdrop", "myhostname": "mta.test", "mydomain": "test",
            "inet_interfaces": "loopback-only", "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
            "mydestination": "", "relay_domains": "",
            "virtual_mailbox_domains": "example.org", "virtual_mailbox_base": str(mail),
            "virtual_mailbox_maps": f"regexp:{etc / 'mailboxes'}", "virtual_uid_maps": f"static:{owner.pw_uid}",
            "virtual_gid_maps": f"static:{owner.pw_gid}",
            "smtpd_recipient_restrictions": f"check_recipient_access texthash:{etc / 'recipient_access'}, "
                                            "permit_mynetworks, reject",
            "smtpd_end_of_data_restrictions": f"check_recipient_access texthash:{etc / 'end_of_data'}",
            "maillog_file": str(self.folder / "maillog"), "maillog_file_prefixes": str(self.folder),
            "smtputf8_enable": "yes", "biff": "no", "alias_maps": "", "alias_database": "", "recipient_delimiter": "+",
            # Anything not for example.org (a bounce to the sender) is thrown away: nothing leaves this machine.
            "default_transport": "discard", "relay_transport": "discard", "smtpd_banner": "$myhostname ESMTP",
        }
        master = f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
        if certificate:
            main.update({"smtpd_tls_cert_file": str(certificate[0]), "smtpd_tls_key_file": str(certificate[1]),
                         "smtpd_tls_security_level": "may"})
            master += f"127.0.0.1:{self.tls_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n"
        main.update(settings)
        (etc / "main.cf").write_text("".join(f"{key} = {value}\n" for key, value in main.items()))
        (etc / "master.cf").write_text(master + SERVICES)
        for path in etc.iterdir():  # Postfix waits (300 ms at a time) until a file it reads is older than a second
            os.utime(path, (time.time() - 60,) * 2)

    def _start(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "reap", str(self.folder)], start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_listening(self.process, self.port, name="Postfix", log=self.log)

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def settled(self, timeout: float = 30) -> None:
        """Wait until Postfix has delivered (or bounced) everything it accepted: its queue is empty."""
        spool = self.folder / "spool"
        deadline = time.monotonic() + timeout
        while any(any(files for _, _, files in os.walk(spool / name)) for name in ("incoming", "active", "deferred")):
            if time.monotonic() > deadline:
                raise AssertionError(f"Postfix's queue did not empty within {timeout} s\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def messages(self) -> list[bytes]:
        """Every message Postfix delivered, as stored (its Delivered-To header first), once the queue is empty."""
        self.settled()
        return [path.read_bytes() for path in sorted((self.folder / "mail").glob("example.org/new/*"))]

    def bounce_mailbox(self) -> Path:
        """The Maildir of the `bounces` address, once the queue is empty (Postfix's notifications delivered)."""
        self.settled()
        return self.folder / "mail" / "bounces"

    def delivered(self) -> Counter[str]:
        """How many messages each address received."""
        found: Counter[str] = Counter()
        for message in self.messages():
            found[re.search(rb"^Delivered-To: (\S+)\r?$", message, re.M).group(1).decode()] += 1
        return found

    def stop(self) -> None:
        stop_daemon(self.process, self.folder)


def _group(name: str) -> int:
    import grp

    return grp.getgrnam(name).gr_gid


def reap(folder: Path) -> None:
    """Run Postfix's master in the foreground under tests/subreaper.py: on SIGTERM it is stopped, then every
    service it leaves is waited for (master signals its process group and exits without waiting for them)."""
    from subreaper import supervise

    supervise([str(MASTER), "-c", str(folder / "etc"), "-d"])


if __name__ == "__main__" and sys.argv[1:2] == ["reap"]:
    sys.path.insert(0, str(Path(__file__).parent))
    reap(Path(sys.argv[2]))
