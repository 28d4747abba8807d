"""The SendGrid backend: the official library, one request per ≤1,000 readers of one edition.

Each reader is a personalization with their unsubscribe token as a substitution and their own
List-Unsubscribe headers. custom_args carry only the campaign id and the ledger row id; nothing
about the reader but the address itself reaches SendGrid. Tracking is off unless settings say so.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
from urllib.error import URLError

from ...errors import NewsletterError
from ..message import PreparedEdition, list_unsubscribe
from ..retry import PermanentError, TransientError
from ..settings import SendGridSettings
from . import Accepted, Failed, Recipient

API_KEY_ENV = "SENDGRID_API_KEY"
MAX_RECIPIENTS = 1000


def request_body(edition: PreparedEdition, recipients: list[Recipient], campaign_id: int,
                 settings: SendGridSettings) -> dict:
    """The v3 /mail/send body for one batch of one edition."""
    body = {
        "from": {"email": edition.sender_address, "name": edition.sender_name},
        "reply_to": {"email": edition.reply_to},
        "subject": edition.subject,
        "content": [{"type": "text/plain", "value": edition.text}, {"type": "text/html", "value": edition.html}],
        "headers": {"Content-Language": edition.language, "List-Id": f"{edition.sender_name} <{edition.list_id}>"},
        "personalizations": [{
            "to": [{"email": recipient.email}],
            "substitutions": {edition.tag: recipient.token},
            "headers": {"List-Unsubscribe": list_unsubscribe(edition, recipient.token),
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            "custom_args": {"campaign": str(campaign_id), "delivery": str(recipient.row_id)},
        } for recipient in recipients],
        "categories": [edition.issue_id, edition.language],
        "tracking_settings": {
            "click_tracking": {"enable": settings.click_tracking, "enable_text": settings.click_tracking},
            "open_tracking": {"enable": settings.open_tracking},
            "subscription_tracking": {"enable": settings.subscription_tracking},
        },
        "mail_settings": {"sandbox_mode": {"enable": settings.sandbox_mode}},
    }
    if settings.send_at:
        body["send_at"] = settings.send_at
    return body


class SendGridBackend:
    """Posts each batch to /v3/mail/send; the key comes from SENDGRID_API_KEY and is never shown."""

    name = "sendgrid"
    batch_size = MAX_RECIPIENTS

    def __init__(self, settings: SendGridSettings):
        import python_http_client
        import sendgrid

        key = os.environ.get(API_KEY_ENV)
        if not key:
            raise NewsletterError(f"{API_KEY_ENV} is not set", hint="export SENDGRID_API_KEY=… (from SendGrid's "
                                                                     "API keys page; it is never written anywhere)")
        self.settings = settings
        client = sendgrid.SendGridAPIClient(api_key=key, host=settings.api_host)
        # The library's client has no timeout by default; a hung connection must not hang the send.
        client.client = python_http_client.Client(host=settings.api_host, request_headers=client._default_headers,
                                                  version=3, timeout=settings.timeout)
        self.client = client

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int,
             accepted: Accepted, failed: Failed) -> None:
        from python_http_client.exceptions import HTTPError

        body = request_body(edition, recipients, campaign_id, self.settings)
        try:
            response = self.client.client.mail.send.post(request_body=body)
        except HTTPError as exc:
            raise _classify(exc) from None
        except (URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise TransientError(f"no answer from SendGrid: {getattr(exc, 'reason', exc)}") from None
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        accepted([(recipient.row_id, message_id) for recipient in recipients])

    def close(self) -> None:
        pass


def _classify(exc) -> Exception:
    status = exc.status_code
    detail = _errors(exc.body)
    if status == 429:
        reset = _header(exc, "X-RateLimit-Reset")
        wait = max(0.0, float(reset) - time.time()) if reset and reset.replace(".", "", 1).isdigit() else None
        return TransientError(f"SendGrid rate limit (429){detail}", retry_after=wait)
    if status >= 500:
        return TransientError(f"SendGrid answered {status}{detail}")
    return PermanentError(f"SendGrid refused the request ({status}){detail}",
                          hint="fix the cause above and run send again: nothing was recorded as sent")


def _header(exc, name: str) -> str | None:
    headers = exc.headers
    if headers is None:
        return None
    value = headers.get(name) if hasattr(headers, "get") else None
    return str(value) if value is not None else None


def _errors(body) -> str:
    try:
        data = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        messages = [f"{e.get('field') or 'request'}: {e.get('message')}" for e in data.get("errors", [])]
        return ": " + "; ".join(messages) if messages else ""
    except (ValueError, AttributeError, TypeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return f": {text[:500]}" if text else ""
