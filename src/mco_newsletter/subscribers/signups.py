"""Web sign-up with double opt-in: the request, its confirmation, the per-mailbox mail limit, and the purge.

A sign-up never tells the form's user anything about the address: every state leads to the same
answer, and at most one email. A new address (or an erased one: it is the person's own new consent)
becomes a `pending` subscriber, in no segment; a reader who left keeps their status. Either way
the request (language, name, topics) waits in `signup_requests` until the reader confirms through the
link in the confirmation email, or it expires and is purged. Each sign-up that is mailed is a request
of its own, and its link confirms exactly what was asked with it: a second sign-up for the same address
(perhaps a stranger's) changes nothing the first link confirms. A sign-up that gets no email (its mailbox
had one within the hour) records nothing: no link could ever confirm it. An active reader gets a notice.
Each function works inside the caller's transaction.

The one-an-hour limit is a claim in the mail log, made in the transaction that records the sign-up: a mail is
noted as it is decided, before it is sent (and taken back if it cannot be sent, `unclaim_mail`), so that any
number of `serve` replicas on one store send a mailbox one email an hour between them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .segments import Segment
from .store import Store, email_key

MAIL_INTERVAL_S = 3600  # at most one sign-up email (confirmation or notice) per address per hour
PENDING_SOURCE = "web sign-up, not yet confirmed"
CONFIRMED_SOURCE = "web sign-up, confirmed by email"
CONFIRM_MAIL, NOTICE_MAIL, ACCESS_MAIL = "signup-confirm", "signup-notice", "subject-access"
# The mail log's kinds: confirmation and notice share one limit; subject access has its own.
LIMIT_KIND = {CONFIRM_MAIL: "signup", NOTICE_MAIL: "signup", ACCESS_MAIL: "access"}


@dataclass(frozen=True)
class SignupForm:
    """What the form asked for, checked: a normalized address, a known language, public topic names."""

    email: str
    language: str
    name: str | None
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Mail:
    """An email one reader is due: which kind, to whom, in which language, with the token of its link."""

    kind: str
    subscriber_id: int
    email: str
    language: str
    token: str
    address_hash: str  # of the mailbox (mailbox_key): what the one-an-hour limit counts
    request_id: int | None = None  # the sign-up request a confirmation's link names
    claimed_at: int = 0  # the time (Unix seconds) its mail log note says, which unclaim_mail takes back

    @property
    def limit_key(self) -> tuple[str, str]:
        """What the one-an-hour limit counts: the mailbox (by its hash) and the kind's limit."""
        return self.address_hash, LIMIT_KIND[self.kind]


@dataclass(frozen=True)
class Request:
    """A sign-up waiting for its confirmation (or confirmed, until it expires)."""

    id: int
    subscriber_id: int
    language: str
    name: str | None
    topics: tuple[str, ...]
    nonce: bytes
    requested_at: str
    expires_at: str
    confirmed_at: str | None

    def expired(self, at: dt.datetime) -> bool:
        return self.expires_at <= stamp(at)


@dataclass(frozen=True)
class Keys:
    """The unsubscribe secret (link tokens) and the erasure key (hashes of addresses)."""

    secret: bytes
    erasure: bytes

    def address_hash(self, email: str) -> str:
        """The keyed hash of the address (what erasure keeps)."""
        from .tokens import erasure_hash

        return erasure_hash(self.erasure, email_key(email))

    def mailbox_hash(self, email: str) -> str:
        """The keyed hash of the mailbox the address reaches (mailbox_key): what the mail limits count."""
        from .tokens import erasure_hash

        return erasure_hash(self.erasure, mailbox_key(email))


def mailbox_key(email: str) -> str:
    """The mailbox an address reaches: its key without a sub-address tag (user+tag@ → user@, RFC 5233), so that
    one mailbox's many spellings count as one for the mail limits. Other providers' conventions are not guessed."""
    local, _, domain = email_key(email).rpartition("@")
    base = local.split("+", 1)[0]
    return f"{base or local}@{domain}"


def stamp(at: dt.datetime) -> str:
    """A moment as the store keeps it (UTC, ISO 8601, whole seconds)."""
    return at.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def request_signup(
    store: Store,
    form: SignupForm,
    *,
    keys: Keys,
    confirm_days: int,
    at: dt.datetime,
    may_mail: Callable[[Store], bool] = lambda store: True,
) -> Mail | None:
    """Record a sign-up and claim its email (noted in the mail log); the email. None, with nothing recorded, when
    its mailbox had one within the hour (or one is on its way) or when may_mail(store) says no more sign-up
    emails may go out now (the site-wide ceiling; asked only for an email that is otherwise due)."""
    from .tokens import CONFIRM, UNSUBSCRIBE, make_token

    hashed = keys.mailbox_hash(form.email)
    if not mail_due(store, hashed, CONFIRM_MAIL, at) or not may_mail(store):
        return None
    claimed = claim_mail(store, hashed, CONFIRM_MAIL, at)
    if claimed is None:
        return None  # another replica claimed it in the meantime
    row = store.contact(email=form.email)
    if row is not None and row.status == "active":
        # Nothing changes for a reader who is on the list; they hear that someone asked.
        subscriber_id, email, language, _, nonce = row
        return Mail(
            NOTICE_MAIL,
            subscriber_id,
            email,
            language,
            make_token(keys.secret, subscriber_id, nonce, UNSUBSCRIBE),
            hashed,
            claimed_at=claimed,
        )
    when = stamp(at)
    if row is None:
        subscriber_id = store.add(
            email=form.email,
            name=None,
            language=form.language,
            tags=(),
            consent_source=PENDING_SOURCE,
            at=when,
            status="pending",
        )
        email = form.email
    else:
        subscriber_id, email = row.id, row.email  # a waiting row keeps what its first request asked
    nonce = secrets.token_bytes(16)
    request_id = store.requests.add(
        subscriber_id,
        language=form.language,
        name=form.name,
        topics=json.dumps(list(form.topics)),
        nonce=nonce,
        requested_at=when,
        expires_at=stamp(at + dt.timedelta(days=confirm_days)),
    )
    return Mail(
        CONFIRM_MAIL,
        subscriber_id,
        email,
        form.language,
        make_token(keys.secret, request_id, nonce, CONFIRM),
        hashed,
        request_id,
        claimed,
    )


def _request(row) -> Request | None:
    return None if row is None else Request(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), *row[5:])


def request_of(store: Store, subscriber_id: int) -> Request | None:
    """The subscriber's newest sign-up request, or None."""
    return _request(store.requests.newest_of(subscriber_id))


def request_by_id(store: Store, request_id: int) -> Request | None:
    """The sign-up request a confirmation link names, or None."""
    return _request(store.requests.get(request_id))


def request_nonce(store: Store, request_id: int) -> bytes | None:
    """What a confirmation link is bound to: its request's nonce (None: no such request)."""
    return store.requests.nonce(request_id)


def confirm(
    store: Store, request_id: int, *, topics: list[Segment], consent_version: str, keys: Keys, at: dt.datetime
) -> str:
    """Make the request's reader active in the language, name and topics asked for with it, with the consent
    record. Returns "confirmed", "already" (this request or another of the reader's was confirmed before),
    "expired" or "missing"."""
    from .topics import set_topics

    request = request_by_id(store, request_id)
    email = store.email_of(request.subscriber_id) if request is not None else None
    if request is None or email is None:
        return "missing"
    if request.confirmed_at is not None:
        return "already"
    if request.expired(at):
        return "expired"
    when = stamp(at)
    store.activate(
        request.subscriber_id,
        language=request.language,
        name=request.name,
        consent_source=CONFIRMED_SOURCE,
        consent_version=consent_version,
        at=when,
    )
    set_topics(store, request.subscriber_id, set(request.topics), topics)
    # Every request of the reader is settled by this one (the others' links then answer "confirmed" and change
    # nothing); each is kept without its choices until it expires, so that its link still answers.
    store.requests.confirmed(request.subscriber_id, when)
    store.forget_erasure(keys.address_hash(email))  # their own new consent: they may be held again
    return "confirmed"


def request_access(store: Store, subscriber_id: int, *, keys: Keys, at: dt.datetime) -> Mail | None:
    """The subject-access email a reader asked for on their preferences page (to their own address), or None
    when one went out within the hour or is on its way."""
    from .tokens import UNSUBSCRIBE, make_token

    row = store.contact(subscriber_id=subscriber_id)
    if row is None:
        return None
    email, language, nonce = row.email, row.language, row.nonce
    hashed = keys.mailbox_hash(email)
    claimed = claim_mail(store, hashed, ACCESS_MAIL, at)
    if claimed is None:
        return None
    return Mail(
        ACCESS_MAIL,
        subscriber_id,
        email,
        language,
        make_token(keys.secret, subscriber_id, nonce, UNSUBSCRIBE),
        hashed,
        claimed_at=claimed,
    )


def mail_due(store: Store, address_hash: str, kind: str, at: dt.datetime) -> bool:
    """Whether an email of this kind may go to the mailbox (by its hash): none sent or on its way within the hour."""
    sent_at = store.mail_log.last(address_hash, LIMIT_KIND[kind])
    return sent_at is None or sent_at <= at.timestamp() - MAIL_INTERVAL_S


def claim_mail(store: Store, address_hash: str, kind: str, at: dt.datetime) -> int | None:
    """Note an email of this kind to the mailbox as going out at `at`, unless one did within the hour: the time
    noted (Mail.claimed_at), or None. One statement: of two replicas claiming the same mailbox at once, one wins."""
    when = int(at.timestamp())
    return when if store.mail_log.claim(address_hash, LIMIT_KIND[kind], when, since=when - MAIL_INTERVAL_S) else None


def unclaim_mail(store: Store, mails: Iterable[Mail]) -> None:
    """Take back the notes of mails that could not be sent, so that their people may simply ask again."""
    store.mail_log.unclaim([(mail.address_hash, LIMIT_KIND[mail.kind], mail.claimed_at) for mail in mails])


def sign_up_mails_within(store: Store, at: dt.datetime, window_s: float) -> int:
    """How many sign-up emails (confirmations and notices) were sent or claimed within `window_s` before `at`, on
    every replica: what the site-wide ceiling counts."""
    return store.mail_log.count_since(LIMIT_KIND[CONFIRM_MAIL], int(at.timestamp() - window_s))


def purge_expired(store: Store, at: dt.datetime) -> int:
    """Delete pending subscribers whose request expired (or who have none), expired requests, and mail log
    entries older than the limit; return how many pending subscribers were deleted."""
    when = stamp(at)
    deleted = store.purge_pending(when)
    store.requests.purge(when)
    store.mail_log.purge(int(at.timestamp()) - MAIL_INTERVAL_S)
    return deleted
