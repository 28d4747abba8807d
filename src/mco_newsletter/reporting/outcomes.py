"""What became of a campaign's messages, per edition: counted from the ledger (its states, SMTP's refusals, the
provider's last word on each row) and from the tallies of what readers did (storage/report_rows.py).

Counts, never people. Each ledger row counts once in `planned` and in exactly one of sent, maybe_sent, refused,
skipped and open; the provider's word on a row that went out (delivered, deferred, bounced, blocked, dropped) is a
part of `sent` and `maybe_sent`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from ..storage.report_rows import COMPLAINT, PREFERENCES, UNSUBSCRIBE, EditionCounts

TALLY_FIELDS = {COMPLAINT: "complaints", UNSUBSCRIBE: "unsubscribes", PREFERENCES: "preference_changes"}


@dataclass(frozen=True)
class Outcome:
    """The messages of one edition of one campaign (or a sum of several): counts only."""

    planned: int = 0  # ledger rows: readers the campaign set out to reach
    sent: int = 0  # taken by the provider (SendGrid's 202, the SMTP server's 250, the outbox's file)
    maybe_sent: int = 0  # may have been taken before a crash or a lost answer; the reader left before a second try
    refused: int = 0  # refused for good by the SMTP server (bounces, and addresses it cannot carry)
    skipped: int = 0  # the reader left before their turn
    open: int = 0  # pending, sending or failed: a rerun (or `send --due`) sends them
    put_off: int = 0  # of `open`, failed: the SMTP server (or the connection) said "later"
    delivered: int = 0  # the provider says the receiving server took it (SendGrid's `delivered`)
    deferred: int = 0  # the provider still tries (its last word: `deferred`, or a delay notice by mail)
    bounced: int = (
        0  # hard bounces: SendGrid's `bounce`, a DSN that failed for good, SMTP's refusal of the address (5.1.x, 5.2.1)
    )
    soft_bounced: int = 0  # a mailbox full or a server unreachable until the message expired
    blocked: int = 0  # the receiving server refused the sender, not the reader (reputation, policy)
    dropped: int = 0  # not sent by the provider (its suppressions), or not carried (an SMTP server without SMTPUTF8)
    complaints: int = 0  # spam complaints (feedback loops: SendGrid's `spamreport`, ARF reports by mail)
    unsubscribes: int = 0  # unsubscribes through this campaign's links (or SendGrid's unsubscribe event for it)
    preference_changes: int = 0  # language or topics changed on the preferences page reached from this campaign
    twice: int = 0  # may have it twice (sent again after a doubt)
    # SMTP's refusals count in `refused` and also in `bounced` (5.1.x, 5.2.1) or `dropped` (an address the server cannot
    # carry): these are the parts of `bounced` and `dropped` that were never `sent`.
    smtp_bounces: int = 0
    not_carried: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Outcome)})

    @property
    def attempted(self) -> int:
        """Messages that went to a server or may have: what bounce rates are counted against."""
        return self.sent + self.maybe_sent + self.refused

    @property
    def reached(self) -> int:
        """Messages taken and not known to have failed (bounced, blocked, dropped): what complaint and unsubscribe
        rates are counted against. Mailbox providers count complaints against mail they delivered; this is the
        nearest number that does not wait for every delivery event (and that SMTP, which reports none, has)."""
        failed = self.bounced - self.smtp_bounces + self.soft_bounced + self.blocked + self.dropped - self.not_carried
        return max(self.sent + self.maybe_sent - failed, 0)

    def rate(self, name: str) -> float | None:
        """A count as a share of what it is counted against (None when that is nothing)."""
        base = {
            "complaints": self.reached,
            "unsubscribes": self.reached,
            "preference_changes": self.reached,
            "planned": self.planned,
            "sent": self.planned,
            "open": self.planned,
            "put_off": self.planned,
            "twice": self.planned,
            "maybe_sent": self.planned,
            "skipped": self.planned,
        }.get(name, self.attempted)
        return getattr(self, name) / base if base else None


def outcomes_of(rows: list[EditionCounts], tallies: list[tuple[int, str, str, int]]) -> dict[int, dict[str, Outcome]]:
    """{campaign id: {edition language: Outcome}} from the ledger's counts per edition and the tallies."""
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for row in rows:
        found = dict(row.counts)
        provider_bounces, provider_dropped = found.pop("provider_bounces"), found.pop("provider_dropped")
        not_carried = found["refused"] - found["smtp_bounces"]
        counts[row.campaign_id, row.language] = {
            **found,
            "not_carried": not_carried,
            "bounced": provider_bounces + found["smtp_bounces"],
            "dropped": provider_dropped + not_carried,
        }
    for campaign_id, language, kind, number in tallies:
        if kind in TALLY_FIELDS:
            into = counts.setdefault((campaign_id, language), {})
            into[TALLY_FIELDS[kind]] = into.get(TALLY_FIELDS[kind], 0) + number
    result: dict[int, dict[str, Outcome]] = {}
    for (campaign_id, language), numbers in counts.items():
        result.setdefault(campaign_id, {})[language] = Outcome(**numbers)
    return result


def total(outcomes: Iterable[Outcome]) -> Outcome:
    """The sum of several outcomes."""
    summed = Outcome()
    for outcome in outcomes:
        summed = summed + outcome
    return summed
