"""What `check` warns about in [bounces] (without the network): settings that work, but not as the organisation
would expect."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ..config import Settings
from ..schema import Finding

PASSWORD_ENV = "MCO_NEWSLETTER_IMAP_PASSWORD"


def bounce_warnings(settings: Settings) -> Iterator[Finding]:
    """Warnings for a [bounces] table: nothing reads it, it cannot align, SendGrid ignores it, a readable password."""
    from ..delivery.dkim_keys import aligned

    bounces = settings.bounces
    if bounces is None:
        return
    domain = bounces.address.rpartition("@")[2]
    sender = settings.sender.address.rpartition("@")[2]
    if bounces.mailbox is None:
        yield (
            ("bounces",),
            f"[bounces] has no mailbox: bounces and mailto unsubscribe requests arrive at "
            f"{bounces.address}, but nothing reads them",
            'add mailbox = "maildir:…", "mbox:…" or "imaps://…", and run `mco-newsletter bounces` daily '
            "(docs/sending.md)",
        )
    if not aligned(domain, sender):
        yield (
            ("bounces", "address"),
            f"bounces.address is at {domain}, which does not align with the From "
            f"domain {sender}: SPF cannot pass DMARC for the digest, only DKIM can",
            f'a bounce address at {sender} or one of its subdomains, e.g. "bounces@{sender}"',
        )
    if settings.sending.backend == "sendgrid":
        yield (
            ("bounces",),
            "[bounces] applies to mail sent over SMTP: SendGrid uses its own return path and "
            "reports bounces and complaints through the event webhook (docs/web.md)",
            "keep it for sends with --backend smtp, or for the mailto unsubscribe requests it receives",
        )
    mailbox = bounces.mailbox
    if mailbox is not None and mailbox.password_file is not None and not os.environ.get(PASSWORD_ENV):
        try:
            mode = stat.S_IMODE(mailbox.password_file.stat().st_mode)
        except OSError:
            yield (
                ("bounces", "password_file"),
                f"no password file at {mailbox.password_file}",
                f"write the IMAP password there (chmod 600), or set {PASSWORD_ENV}",
            )
        else:
            if mode & 0o077:
                yield (
                    ("bounces", "password_file"),
                    f"{mailbox.password_file} is readable by others (mode {mode:o}): `bounces` refuses to use it",
                    f"chmod 600 {mailbox.password_file}",
                )
