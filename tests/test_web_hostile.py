"""Requests no browser sends, against `serve` on a real uvicorn server: forms of too many fields, bytes that are not
HTTP, a signed webhook batch holding a number Python refuses to read. Each gets a plain answer with the security
headers, never a traceback, and what is valid beside it still applies."""

from __future__ import annotations

import logging

import pytest

from test_web import readers, server, signed_post, signer, status_of  # noqa: F401


def assert_secured(headers) -> None:
    """The headers every answer carries (docs/web.md, "Every answer")."""
    assert headers["content-security-policy"].startswith("default-src 'none'"), headers
    assert headers["referrer-policy"] == "no-referrer" and headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_a_huge_number_in_one_event_skips_that_event_only(server, signer, caplog):
    """An event holding an integer of 5,000 digits is counted as invalid and logged; the event beside it applies;
    the answer never carries Python's own words."""
    caplog.set_level(logging.INFO, logger="mco_newsletter.web")
    events = (b'[{"sg_event_id": "ok-1", "event": "spamreport", "email": "anna@example.org"},'
              b' {"sg_event_id": "big-1", "event": "bounce", "email": "bernd@example.org", "timestamp": '
              + b"9" * 5000 + b"}]")
    response = signed_post(server, signer, None, body=events)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 2, "applied": 1, "duplicates": 0, "unknown": 0, "unmatched": 0,
                               "invalid": 1}
    assert status_of(server["settings"], "anna@example.org") == "complained"
    assert status_of(server["settings"], "bernd@example.org") == "active"
    assert any("1 malformed event" in record.getMessage() for record in caplog.records), caplog.text


def test_a_list_of_one_huge_number_is_one_invalid_event(server, signer):
    """A signed list whose one item is a 5,000-digit number: read, and that item counted as invalid."""
    response = signed_post(server, signer, None, body=b"[" + b"9" * 5000 + b"]")
    assert response.status_code == 200, response.text
    assert response.json()["received"] == 1 and response.json()["invalid"] == 1


@pytest.mark.parametrize("body", [b"{not json", b'[1e99999999999, "\\ud800"', b"[" + b"9" * 5000],
                         ids=["not_json", "cut_short", "cut_short_huge_number"])
def test_a_webhook_body_that_is_not_json_is_refused_in_our_words(server, signer, body):
    """A signed body that cannot be read as a JSON list is a 400 saying so in our words, not Python's."""
    response = signed_post(server, signer, None, body=body)
    assert response.status_code == 400
    assert response.json() == {"error": "not a JSON list of events"}
    assert_secured(response.headers)
