"""What mail providers hold against a send, found by `check` and by `send`'s plan before anything goes: a base_url
that is not https, a From address at a mailbox provider, an edition past Gmail's clipping size."""

from __future__ import annotations

import pytest

from conftest import VALID_FRONT, set_setting

SAMPLE_URL = 'base_url = "https://digest.example.org"'
SAMPLE_FROM = 'address = "digest@example.org"'


def long_issue(paragraphs: int = 36) -> str:
    """An issue of about 28 KB of text: thirty-six sections of one long paragraph each."""
    words = ("Conscripts were detained in raids on the metro and brought to the draft office within the day; "
             "our lawyers filed complaints and two young men were released after the court heard their case. ")
    return VALID_FRONT + "".join(f"\n## Section {n}\n\n{words * 4}\n" for n in range(1, paragraphs + 1))


def settings_line(workspace, text: str) -> int:
    return next(number for number, line in enumerate(
        (workspace / "newsletter.toml").read_text(encoding="utf-8").splitlines(), 1) if line.startswith(text))


def test_check_refuses_a_base_url_that_is_not_https(run, workspace):
    """http:// base_url: check names its line and exits 1 (one-click unsubscribe is https only)."""
    set_setting(workspace, SAMPLE_URL, 'base_url = "http://digest.example.org"')
    result = run("check")
    assert result.exit_code == 1, result.output
    line = settings_line(workspace, "base_url")
    assert f"newsletter.toml:{line}: base_url 'http://digest.example.org' is not https" in result.stderr
    assert "RFC 8058" in result.stderr and "Traceback" not in result.output


@pytest.mark.stores
def test_send_refuses_a_base_url_that_is_not_https(run, workspace):
    """send (its plan and a test send) refuses an http:// base_url before anything is written."""
    set_setting(workspace, SAMPLE_URL, 'base_url = "http://digest.example.org"')
    for args in (["--dry-run"], ["--test-to", "me@example.org"]):
        result = run("send", "2024-05", "--segment", "all", *args)
        assert result.exit_code == 1, result.output
        assert "is not https" in result.stderr and "nothing was sent" in result.stderr
    assert not (workspace / "private" / "outbox" / "new").exists() or \
        not list((workspace / "private" / "outbox" / "new").iterdir())


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8080/digest", "https://digest.example.org"])
def test_https_or_this_machine_passes(run, workspace, url):
    """https passes, and so does http to this machine (tests serve the pages there)."""
    set_setting(workspace, SAMPLE_URL, f'base_url = "{url}"')
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "is not https" not in result.output


@pytest.mark.stores
@pytest.mark.parametrize("domain", ["gmail.com", "mail.ru", "yandex.ru", "outlook.com", "GMX.de"])
def test_a_from_address_at_a_mailbox_provider_is_warned_about(run, workspace, domain):
    """A From address at gmail.com, mail.ru …: a warning at its line (DMARC will reject it), exit 0."""
    set_setting(workspace, SAMPLE_FROM, f'address = "digest.mco@{domain}"')
    result = run("check")
    assert result.exit_code == 0, result.output
    line = settings_line(workspace, "address =")
    assert f"newsletter.toml:{line}: warning: sender.address 'digest.mco@{domain}' is at {domain.lower()}" \
        in result.stderr
    assert "DMARC" in result.stderr
    plan = run("send", "2024-05", "--segment", "all", "--dry-run")
    assert plan.exit_code == 0 and f"is at {domain.lower()}, a mailbox provider" in plan.stderr


def test_the_organisations_own_domain_is_not_warned_about(run, workspace):
    """The sample's digest@example.org draws no provider warning."""
    result = run("check")
    assert result.exit_code == 0 and "mailbox provider" not in result.output


@pytest.mark.stores
def test_an_edition_past_gmails_clipping_size_is_warned_about(run, workspace, write_issue, settings):
    """A 28 KB issue renders past 102 KB of HTML as sent: check and the send plan both say so; the sample does not."""
    from mco_newsletter.delivery.preflight import GMAIL_CLIP_BYTES, html_part_size
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.edition import load_edition
    from mco_newsletter.workspace import load_issue

    path = write_issue("2024-06", long_issue())
    assert 27_000 < len(path.read_bytes()) < 30_000
    issue = load_issue(settings, "2024-06")
    size = html_part_size(render(load_edition(settings, issue, "en"), settings).eml)
    assert size > GMAIL_CLIP_BYTES
    result = run("check", "2024-06")
    assert result.exit_code == 0, result.output
    assert (f"issues/2024-06/issue.md: warning: issue 2024-06 [en]: the HTML part is {size / 1000:,.0f} KB as sent, "
            "past Gmail's clipping size (102 KB)") in result.stderr
    plan = run("send", "2024-06", "--segment", "all", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "Warning: issue 2024-06 [en]: the HTML part is" in plan.stderr
    sample = run("check", "2024-05")
    assert sample.exit_code == 0 and "clipping" not in sample.output


def test_the_html_part_is_measured_as_it_travels(settings, write_issue):
    """Measured on the encoded part: a Cyrillic HTML part in base64 counts its base64 bytes, not its characters."""
    import base64
    from email import message_from_bytes

    from mco_newsletter.delivery.preflight import html_part_size
    from mco_newsletter.edition import load_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    write_issue("2024-07", VALID_FRONT.replace("language: en", "language: ru")
                + "\n## Новости\n\n" + "Призывников задерживают в метро. " * 200
                + "\n")
    rendered = render(load_edition(settings, load_issue(settings, "2024-07"), "ru"), settings)
    html = next(part for part in message_from_bytes(rendered.eml).walk() if part.get_content_type() == "text/html")
    assert html["Content-Transfer-Encoding"] == "base64"
    encoded = html.get_payload()
    assert html_part_size(rendered.eml) == len(encoded)
    assert len(encoded) > len(rendered.html.encode("utf-8")) > len(rendered.html)
    assert base64.b64decode(encoded).decode("utf-8") == rendered.html.replace("\n", "\r\n")
