"""The rates mail providers publish for bulk senders, and the warnings `report` puts beside a rate past one.

- Spam complaints. Google's "Email sender guidelines" (support.google.com/a/answer/81126, requirements for all
  senders since February 2024): "Keep spam rates reported in Postmaster Tools below 0.10% and avoid ever reaching a
  spam rate of 0.30% or higher". Yahoo's Sender Hub best practices (senders.yahooinc.com/best-practices) hold bulk
  senders to the same 0.3 %. Both count complaints against mail delivered to their users' inboxes.
- Bounces. Twilio SendGrid's "Bounce and block classifications" (twilio.com/docs/sendgrid/ui/analytics-and-reporting/
  bounce-and-block-classifications): "Twilio SendGrid recommends generating hard bounces from fewer than 5% of your
  attempted messages"; past that, SendGrid reviews (and may suspend) an account, and receiving providers read a list
  that bounces that much as one not kept clean.

A rate at or past a limit gets a warning; the complaint rate's two limits give two. What the tool cannot see is
said too: Gmail reports complaints only as a rate in Postmaster Tools, never per message, so no complaint of a Gmail
reader reaches SendGrid's `spamreport` events or the bounce mailbox; the complaints counted here are those of
providers with feedback loops (Yahoo, Microsoft, Mail.ru, …).
"""

from __future__ import annotations

from dataclasses import dataclass

from .outcomes import Outcome

COMPLAINT_LIMIT = 0.003  # Gmail and Yahoo: never reach it
COMPLAINT_CEILING = 0.001  # Gmail: stay below it
HARD_BOUNCE_LIMIT = 0.05  # SendGrid: fewer than this share of attempted messages
GMAIL_NOTE = (
    "Gmail reports complaints only as a rate in Postmaster Tools (postmaster.google.com), never per "
    "message: its readers' complaints are not in these numbers"
)


@dataclass(frozen=True)
class RateWarning:
    """A rate at or past a published limit: which rate, its value, the limit and whose it is."""

    measure: str  # "complaints" or "bounced"
    rate: float
    limit: float
    text: str


def percent(value: float | None) -> str:
    """A rate as people read it: 0.25 %, 4.8 %, 12 % ("–" for none)."""
    if value is None:
        return "–"
    share = value * 100
    if share == 0:
        return "0 %"
    digits = 2 if share < 1 else 1 if share < 10 else 0
    return f"{share:.{digits}f} %"


def warnings_for(outcome: Outcome) -> list[RateWarning]:
    """The warnings an outcome's rates call for (none when nothing was sent)."""
    found = []
    complaints = outcome.rate("complaints")
    if complaints is not None and complaints >= COMPLAINT_LIMIT:
        found.append(
            RateWarning(
                "complaints",
                complaints,
                COMPLAINT_LIMIT,
                f"spam complaints at {percent(complaints)}: at or past the 0.3 % Gmail and Yahoo hold "
                "bulk senders under (their mail then goes to spam or is refused)",
            )
        )
    elif complaints is not None and complaints >= COMPLAINT_CEILING:
        found.append(
            RateWarning(
                "complaints",
                complaints,
                COMPLAINT_CEILING,
                f"spam complaints at {percent(complaints)}: past the 0.1 % Gmail asks senders to stay below",
            )
        )
    bounces = outcome.rate("bounced")
    if bounces is not None and bounces >= HARD_BOUNCE_LIMIT:
        found.append(
            RateWarning(
                "bounced",
                bounces,
                HARD_BOUNCE_LIMIT,
                f"hard bounces at {percent(bounces)}: at or past the 5 % of attempted messages SendGrid "
                "asks senders to stay under (remove the dead addresses: `subscribers list --status "
                "bounced`)",
            )
        )
    return found
