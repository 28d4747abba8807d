"""SendGrid's own scheduling for `send --at`: a batch id (POST /v3/mail/batch) that every /mail/send request of the
campaign carries with its `send_at`, and the Scheduled Sends API's cancel (POST /v3/user/scheduled_sends, status
"cancel"). SendGrid's rules (twilio.com/docs/sendgrid/api-reference/cancel-scheduled-sends): `send_at` at most 72
hours ahead; no cancel later than 10 minutes before it; a cancelled batch's messages are discarded at their time.

The same connection, key and host checks as the mail backend (sendgrid.py): the key is never shown.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from ...errors import NewsletterError
from ..settings import SendGridSettings

BATCH = "/v3/mail/batch"
SCHEDULED_SENDS = "/v3/user/scheduled_sends"
HORIZON = dt.timedelta(hours=72)  # the furthest SendGrid's send_at may be ahead
# The hand-over itself takes a while (a request per 1,000 readers); what is scheduled closer than this to the horizon
# is kept here instead, so that no request of it comes past SendGrid's 72 hours.
HORIZON_MARGIN = dt.timedelta(minutes=30)
LAST_CANCEL = dt.timedelta(minutes=10)  # no cancel (or pause) later than this before send_at
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def within_reach(due: dt.datetime, now: dt.datetime) -> bool:
    """Whether SendGrid can hold a send due then, handed over now."""
    return due - now <= HORIZON - HORIZON_MARGIN


class SendGridBatches:
    """Batch ids and their cancellation, over the mail backend's connection."""

    def __init__(self, settings: SendGridSettings):
        from .sendgrid import SendGridBackend

        self.backend = SendGridBackend(settings)  # checks the key and the host; the key stays in its headers

    def new_batch(self) -> str:
        """A new batch id from SendGrid."""
        answer = self._post(BATCH, b"", "create a batch id for the scheduled send")
        try:
            batch_id = json.loads(answer.body.decode("utf-8"))["batch_id"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            batch_id = None
        if answer.status != 201 or not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
            raise NewsletterError(
                f"SendGrid did not give a batch id (it answered {answer.status}): nothing was scheduled",
                hint="check the API key's permissions (Mail Send) and try again",
            )
        return batch_id

    def cancel(self, batch_id: str) -> None:
        """Ask SendGrid to discard the batch's messages at their time."""
        body = json.dumps({"batch_id": batch_id, "status": "cancel"}).encode("ascii")
        answer = self._post(SCHEDULED_SENDS, body, "cancel the scheduled send")
        if answer.status != 201 and self.status_of(batch_id) != "cancel":  # cancelled by an earlier try whose answer
            # was lost: SendGrid refuses a second status change with 400
            detail = answer.body.decode("utf-8", "replace")[:300]
            raise NewsletterError(
                f"SendGrid refused to cancel batch {batch_id} ({answer.status}): {detail}",
                hint="SendGrid takes no cancellation later than 10 minutes before the time, nor "
                "one for a batch already cancelled or paused; the schedule is unchanged",
            )

    def status_of(self, batch_id: str) -> str | None:
        """The status (cancel, pause) SendGrid holds for the batch, or None."""
        answer = self._post(f"{SCHEDULED_SENDS}/{batch_id}", None, "ask SendGrid about the scheduled send", "GET")
        try:
            found = json.loads(answer.body.decode("utf-8")) if answer.status == 200 else []
            return next((item["status"] for item in found if item.get("batch_id") == batch_id), None)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            return None

    def close(self) -> None:
        self.backend.close()

    def _post(self, path: str, body: bytes | None, what: str, method: str = "POST"):
        from .api_connection import BadCertificate, NoAnswer, NotConnected

        try:
            return self.backend.connection.request(method, path, body)
        except BadCertificate as exc:
            raise NewsletterError(
                f"could not {what}: the SendGrid API host's certificate is not valid ({exc})",
                hint="check [sendgrid] api_host (or SENDGRID_API_HOST)",
            ) from None
        except (NotConnected, NoAnswer) as exc:
            raise NewsletterError(
                f"could not {what}: no answer from SendGrid ({exc})",
                hint="nothing changed here; run the same command again",
            ) from None
