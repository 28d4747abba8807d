"""`bounces` on an IMAP mailbox: a private Dovecot (Debian's) on loopback, TLS with a certificate of a test CA that
[bounces] ca_file trusts; the login from a 0600 password file or the environment, never shown."""

from __future__ import annotations

import json

import pytest

from bounce_mail import RFC3464_MULTI, RFC5965_COMPLETE, arf, dsn, headers_of
from imap_server import Dovecot, unavailable
from test_bounces import MAILBOX, sent, status_of  # noqa: F401 — `sent` is a fixture: a send with return paths

PASSWORD = "imap-pa55word-never-shown"


@pytest.fixture
def dovecot():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    server = Dovecot(user=MAILBOX, password=PASSWORD)
    yield server
    server.stop()


def imap_bounces(workspace, server: Dovecot, **extra) -> None:
    """[bounces] mailbox aimed at the Dovecot's INBOX, the password in private/imap.password (0600)."""
    password = workspace / "private" / "imap.password"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    keys = {"user": MAILBOX, "password_file": "private/imap.password", "ca_file": str(server.ca), **extra}
    path = workspace / "newsletter.toml"
    text = path.read_text().split("\n[bounces]\n")[0]  # the table `sent` added is the file's last
    path.write_text(text + f'\n[bounces]\naddress = "{MAILBOX}"\nmailbox = "imaps://127.0.0.1:{server.port}/INBOX"\n'
                    + "".join(f'{key} = "{value}"\n' for key, value in keys.items() if value))


@pytest.mark.stores
def test_an_imap_mailbox_over_tls(run, workspace, sent, dovecot):  # noqa: F811
    """A DSN and an ARF report in the INBOX are applied and moved to the `processed` folder; a person's message
    stays in the INBOX; a second run applies nothing; the password appears nowhere."""
    (hard, (hard_path, hard_message)), (complainer, (complainer_path, message)) = list(sent.items())[:2]
    dovecot.append(dsn(RFC3464_MULTI, return_path=hard_path, reader=hard, original=headers_of(hard_message)))
    dovecot.append(arf(RFC5965_COMPLETE, mailbox=MAILBOX, reader=complainer, return_path=complainer_path,
                       original=headers_of(message)))
    dovecot.append(b"From: someone@example.net\nTo: bounces@example.org\nSubject: a question\n\nHello.\n")
    imap_bounces(workspace, dovecot)
    result = run("bounces", "--json")
    assert result.exit_code == 0, result.output + dovecot.log()
    counts = json.loads(result.stdout)
    assert (counts["hard_bounces"], counts["complaints"], counts["not_ours"], counts["moved"]) == (1, 1, 1, 2)
    assert status_of(run, hard) == "bounced" and status_of(run, complainer) == "complained"
    assert dovecot.subjects("INBOX") == ["a question"]
    assert sorted(dovecot.subjects("processed")) == ["FW: Earn money", "Returned mail: User unknown"]
    again = run("bounces")
    assert again.exit_code == 0 and "Read 1 message" in again.stdout, again.output
    assert PASSWORD not in result.output + again.output


@pytest.mark.stores
def test_imap_refuses_an_untrusted_certificate_and_a_readable_password(run, workspace, sent, dovecot,  # noqa: F811
                                                                       monkeypatch):
    """Without ca_file the test CA's certificate is not trusted: nothing is read, exit 1. A password file others can
    read is refused; a wrong password (from the environment) is a refused login, and is not shown."""
    imap_bounces(workspace, dovecot, ca_file="")
    untrusted = run("bounces")
    assert untrusted.exit_code == 1 and "certificate" in untrusted.stderr and "ca_file" in untrusted.stderr
    imap_bounces(workspace, dovecot)
    (workspace / "private" / "imap.password").chmod(0o644)
    readable = run("bounces")
    assert readable.exit_code == 1 and "readable by others" in readable.stderr, readable.output
    monkeypatch.setenv("MCO_NEWSLETTER_IMAP_PASSWORD", "not-the-password")
    refused = run("bounces")
    assert refused.exit_code == 1 and "refused the login" in refused.stderr, refused.output
    assert "not-the-password" not in refused.output and "Traceback" not in refused.output
