"""The SendGrid backend: the official library, one request per ≤1,000 readers of one edition.

Each reader is a personalization with their unsubscribe token as a substitution and their own
List-Unsubscribe headers. custom_args carry only the campaign id and the ledger row id; nothing
about the reader but the address itself reaches SendGrid. Tracking is off unless settings say so.

Only 202 (200 in sandbox mode) is an acceptance. A redirect is an error, never followed: urllib
would repeat the POST as a body-less GET, and whatever answered that (a proxy, a captive portal)
would look like SendGrid accepting the mail. A request whose answer never came (a timeout, a
connection dropped after the request went out) may have been accepted: its readers are counted.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import time
from urllib.error import URLError

from ...errors import NewsletterError
from ...render.mime import BULK_HEADERS
from ..message import PreparedEdition, list_unsubscribe
from ..retry import PermanentError, TransientError
from ..settings import SendGridSettings, api_host_problem
from . import Recipient, Report

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
        "headers": {"Content-Language": edition.language},
        "personalizations": [{
            "to": [{"email": recipient.email}],
            "substitutions": {edition.tag: recipient.token},
            **({"headers": {"List-Unsubscribe": list_unsubscribe(edition, recipient.token),
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}} if edition.bulk else {}),
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
    template = edition.template
    if edition.bulk:  # a sign-up's confirmation goes to one person: not the list's mail
        body["headers"].update({"List-Id": f"{edition.sender_name} <{edition.list_id}>", **dict(BULK_HEADERS)})
    if template.feedback_id:
        body["headers"]["Feedback-ID"] = template.feedback_id
    if template.pictures:
        # Embedded pictures travel as inline attachments whose Content-ID the HTML's cid: addresses name.
        body["attachments"] = [{"content": base64.b64encode(picture.data).decode("ascii"), "type": picture.mime_type,
                                "filename": picture.name.rsplit("/", 1)[-1], "disposition": "inline",
                                "content_id": picture.cid} for picture in template.pictures]
    if settings.send_at:
        body["send_at"] = settings.send_at
    return body


class SendGridBackend:
    """Posts each batch to /v3/mail/send; the key comes from SENDGRID_API_KEY and is never shown."""

    name = "sendgrid"
    batch_size = MAX_RECIPIENTS

    def __init__(self, settings: SendGridSettings):
        import sendgrid

        key = os.environ.get(API_KEY_ENV)
        if not key:
            raise NewsletterError(f"{API_KEY_ENV} is not set", hint="export SENDGRID_API_KEY=… (from SendGrid's "
                                                                     "API keys page; it is never written anywhere)")
        problem = api_host_problem(settings.api_host)
        if problem:
            raise NewsletterError(f"the SendGrid API host {settings.api_host!r} {problem}",
                                  hint="set [sendgrid] api_host (or SENDGRID_API_HOST) to https://api.sendgrid.com")
        self.settings = settings
        headers = sendgrid.SendGridAPIClient(api_key=key, host=settings.api_host)._default_headers
        # The library's client has no timeout by default; a hung connection must not hang the send.
        self.client = _Client(host=settings.api_host, request_headers=headers, version=3,
                              url_path=["mail", "send"], timeout=settings.timeout)

    def send(self, edition: PreparedEdition, recipients: list[Recipient], *, campaign_id: int,
             report: Report) -> None:
        from python_http_client.exceptions import HTTPError

        if report.stop.is_set():
            return
        body = request_body(edition, recipients, campaign_id, self.settings)
        rows = [recipient.row_id for recipient in recipients]
        report.starting(recipients)
        try:
            response = self.client.post(request_body=body)
        except HTTPError as exc:
            raise _classify(exc) from None
        except URLError as exc:  # urllib wraps what fails while connecting and sending: nothing was taken
            raise TransientError(f"no connection to SendGrid: {_reason(exc.reason)}") from None
        except (socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"no answer from SendGrid: {_reason(exc)}", unanswered=rows) from None
        if response.status_code not in ACCEPTED:
            raise TransientError(f"SendGrid answered {response.status_code}, which is not an acceptance",
                                 unanswered=rows)
        message_id = response.headers.get("X-Message-Id") if response.headers else None
        report.accepted([(row_id, message_id) for row_id in rows])

    def close(self) -> None:
        pass


ACCEPTED = (200, 202)  # 202 Accepted; 200 in sandbox mode (validated, not sent)


def _no_redirects():
    import urllib.request

    class Refuse(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None  # urllib then raises HTTPError with the 3xx status

    return urllib.request.build_opener(Refuse)


def _client_class():
    import python_http_client

    class Client(python_http_client.Client):
        """The library's client, with an opener that never follows a redirect."""

        opener = _no_redirects()

        def _make_request(self, opener, request, timeout=None):
            return super()._make_request(self.opener, request, timeout=timeout)

    return Client


def _Client(**kwargs):  # noqa: N802 — a class built lazily, so importing this module stays cheap
    return _client_class()(**kwargs)


def _classify(exc) -> Exception:
    status = exc.status_code
    detail = _errors(exc.body)
    if status == 429:
        reset = _header(exc, "X-RateLimit-Reset")
        wait = max(0.0, float(reset) - time.time()) if reset and reset.replace(".", "", 1).isdigit() else None
        return TransientError(f"SendGrid rate limit (429){detail}", retry_after=wait)
    if status >= 500:
        return TransientError(f"SendGrid answered {status}{detail}")
    if 300 <= status < 400:
        where = _header(exc, "Location")
        return PermanentError(f"the SendGrid API host answered {status}, a redirect"
                              f"{f' to {where}' if where else ''}: nothing was sent",
                              hint="check [sendgrid] api_host (or SENDGRID_API_HOST) and any proxy in between; "
                                   "run send again once it answers as SendGrid")
    return PermanentError(f"SendGrid refused the request ({status}){detail}",
                          hint="fix the cause above and run send again: nothing was recorded as sent")


def _reason(exc) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


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
