"""The SendGrid backend: POST /v3/mail/send, one request per ≤1,000 readers of one edition.

Each reader is a personalization with their unsubscribe token as a substitution and their own
List-Unsubscribe headers. custom_args carry only the campaign id and the ledger row id; nothing
about the reader but the address itself reaches SendGrid. Tracking is off unless settings say so.

The request goes through the standard library (api_connection.py: one kept-alive TLS connection,
a timeout, nothing followed), not SendGrid's SDK, which would bring 19 MiB for one POST.
Only 202 (200 in sandbox mode) is an acceptance. A redirect is an error, never followed: whatever
answered it (a proxy, a captive portal) is not SendGrid accepting the mail. A request whose answer
never came (a timeout, a connection dropped after the request went out) may have been accepted:
its readers are counted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from ... import __version__
from ...errors import NewsletterError
from ...render.mime import BULK_HEADERS
from ..message import PreparedEdition, list_unsubscribe
from ..retry import PermanentError, TransientError
from ..settings import SendGridSettings, api_host_problem
from .protocol import Recipient, Report

API_KEY_ENV = "SENDGRID_API_KEY"
MAX_RECIPIENTS = 1000
MAIL_SEND = "/v3/mail/send"
ACCEPTED = (200, 202)  # 202 Accepted; 200 in sandbox mode (validated, not sent)
# What an API key can be and still travel in a header: printable ASCII, no spaces, one line.
KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def request_body(
    edition: PreparedEdition, recipients: list[Recipient], campaign_id: int, settings: SendGridSettings
) -> dict:
    """The v3 /mail/send body for one batch of one edition."""
    body: dict[str, Any] = {
        "from": {"email": edition.sender_address, "name": edition.sender_name},
        "reply_to": {"email": edition.reply_to},
        "subject": edition.subject,
        "content": [{"type": "text/plain", "value": edition.text}, {"type": "text/html", "value": edition.html}],
        "headers": {"Content-Language": edition.language},
        "personalizations": [
            {
                "to": [{"email": recipient.email}],
                "substitutions": {edition.tag: recipient.token},
                **(
                    {
                        "headers": {
                            "List-Unsubscribe": list_unsubscribe(edition, recipient.token),
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        }
                    }
                    if edition.bulk
                    else {}
                ),
                "custom_args": {"campaign": str(campaign_id), "delivery": str(recipient.row_id)},
            }
            for recipient in recipients
        ],
        "categories": [edition.issue_id, edition.language],
        "tracking_settings": {
            "click_tracking": {"enable": settings.click_tracking, "enable_text": settings.click_tracking},
            "open_tracking": {"enable": settings.open_tracking},
            "subscription_tracking": {"enable": settings.subscription_tracking},
        },
        "mail_settings": {"sandbox_mode": {"enable": settings.sandbox_mode}},
    }
    template = edition.template
    if edition.bulk:  # a sign-up's confirmation goes to one person: not the list's mail
        body["headers"].update({"List-Id": f"{edition.sender_name} <{edition.list_id}>", **dict(BULK_HEADERS)})
    if template.feedback_id:
        body["headers"]["Feedback-ID"] = template.feedback_id
    if template.pictures:
        # Embedded pictures travel as inline attachments whose Content-ID the HTML's cid: addresses name.
        body["attachments"] = [
            {
                "content": base64.b64encode(picture.data).decode("ascii"),
                "type": picture.mime_type,
                "filename": picture.name.rsplit("/", 1)[-1],
                "disposition": "inline",
                "content_id": picture.cid,
            }
            for picture in template.pictures
        ]
    if settings.send_at:
        body["send_at"] = settings.send_at
    if settings.batch_id:  # `send --at`: cancellable through the Scheduled Sends API (delivery/schedule.py)
        body["batch_id"] = settings.batch_id
    return body


class SendGridBackend:
    """Posts each batch to /v3/mail/send; the key comes from SENDGRID_API_KEY and is never shown."""

    name = "sendgrid"
    batch_size = MAX_RECIPIENTS

    def __init__(self, settings: SendGridSettings) -> None:
        from .api_connection import ApiConnection

        key = os.environ.get(API_KEY_ENV)
        if not key:
            raise NewsletterError(
                f"{API_KEY_ENV} is not set",
                hint="export SENDGRID_API_KEY=… (from SendGrid's API keys page; it is never written anywhere)",
            )
        if not KEY_CHARACTERS.fullmatch(key):
            raise NewsletterError(
                f"{API_KEY_ENV} is not an API key: it holds spaces, line breaks or other "
                "characters an API key never has",
                hint="copy the key again from SendGrid's API keys page",
            )
        problem = api_host_problem(settings.api_host)
        if problem:
            raise NewsletterError(
                f"the SendGrid API host {settings.api_host!r} {problem}",
                hint="set [sendgrid] api_host (or SENDGRID_API_HOST) to https://api.sendgrid.com",
            )
        self.settings = settings
        self.connection = ApiConnection(
            settings.api_host,
            timeout=settings.timeout,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"mco-newsletter/{__version__}",
            },
        )

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int, report: Report) -> None:
        from .api_connection import BadCertificate, NoAnswer, NotConnected

        if report.stop.is_set():
            return
        body = json.dumps(request_body(edition, recipients, campaign_id, self.settings), separators=(",", ":"))
        rows = [recipient.row_id for recipient in recipients]
        report.starting(recipients)
        try:
            answer = self.connection.post(MAIL_SEND, body.encode("ascii"))  # json.dumps escapes all else
        except BadCertificate as exc:
            raise PermanentError(
                f"the SendGrid API host's certificate is not valid ({exc}): nothing was sent",
                hint="check [sendgrid] api_host (or SENDGRID_API_HOST) and any proxy in between "
                "that intercepts TLS; run send again once the host is the right one",
            ) from None
        except NotConnected as exc:  # nothing was taken
            raise TransientError(f"no connection to SendGrid: {exc}") from None
        except NoAnswer as exc:
            raise TransientError(f"no answer from SendGrid: {exc}", unanswered=rows) from None
        if answer.status not in ACCEPTED:
            raise _classify(answer.status, answer.headers, answer.body, rows)
        message_id = answer.headers.get("X-Message-Id")
        report.accepted([(row_id, message_id) for row_id in rows])

    def expect(self, editions: Iterable[PreparedEdition]) -> None:
        pass  # no size limit to check before sending

    def close(self) -> None:
        self.connection.close()


def _classify(status: int, headers, body: bytes, rows: list[int]) -> Exception:
    detail = _errors(body)
    if status == 429:
        reset = headers.get("X-RateLimit-Reset")
        wait = max(0.0, float(reset) - time.time()) if reset and reset.replace(".", "", 1).isdigit() else None
        return TransientError(f"SendGrid rate limit (429){detail}", retry_after=wait)
    if status >= 500:
        return TransientError(f"SendGrid answered {status}{detail}")
    if 300 <= status < 400:
        where = headers.get("Location")
        return PermanentError(
            f"the SendGrid API host answered {status}, a redirect{f' to {where}' if where else ''}: nothing was sent",
            hint="check [sendgrid] api_host (or SENDGRID_API_HOST) and any proxy in between; "
            "run send again once it answers as SendGrid",
        )
    if status >= 400:
        return PermanentError(
            f"SendGrid refused the request ({status}){detail}",
            hint="fix the cause above and run send again: nothing was recorded as sent",
        )
    return TransientError(f"SendGrid answered {status}, which is not an acceptance", unanswered=rows)


def _errors(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8"))
        messages = [f"{e.get('field') or 'request'}: {e.get('message')}" for e in data.get("errors", [])]
        return ": " + "; ".join(messages) if messages else ""
    except (ValueError, AttributeError, TypeError):
        text = body.decode("utf-8", "replace")
        return f": {text[:500]}" if text else ""
