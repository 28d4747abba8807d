"""The few pages a reader sees on our server, in their language, with a strict Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from ..config import Settings
from ..render.templates import environment_for

STYLE_RE = re.compile(r"<style>(.*?)</style>", re.S)


def render_page(settings: Settings, template: str, language: str, **context: Any) -> str:
    """A page from templates/pages/, with the template words of `language`."""
    from ..render.locale import text_direction

    env = environment_for(settings.templates_dir, settings.locales_dir, language)
    return env.get_template(f"pages/{template}").render(
        lang=language,
        dir=text_direction(language),
        name=settings.name_for(language),
        identity=settings.identity.of(language),
        reply_to=settings.sender.reply_to,
        **context,
    )


def security_headers(html: str = "", *, directives: dict[str, str] | None = None) -> dict[str, str]:
    """No scripts, no third-party anything, the inline style allowed by its hash, no referrer.
    Answers that are not pages (JSON, plain text) get the same headers with no style at all.

    `directives` adds to or replaces the policy's own, for a page that needs more of its own origin (the
    review pages: {"script-src": "'self'"} for their script file, {"frame-src": "'self'"} for the preview).
    """
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
        for style in STYLE_RE.findall(html)
    )
    policy = {
        "default-src": "'none'",
        "style-src": hashes or "'none'",
        "img-src": "'self'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        **(directives or {}),
    }
    return {
        "Content-Security-Policy": "; ".join(f"{name} {value}".strip() for name, value in policy.items()),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def mask_address(email: str) -> str:
    """An address as a page may show it to whoever holds the link (emails get forwarded): a•••@example.org."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}\u2022\u2022\u2022@{domain}"


def browser_language(accept_language: str, languages: Sequence[str], default: str) -> str:
    """The configured language the browser prefers most (its Accept-Language header), else `default`."""
    from babel import negotiate_locale

    wanted = [part.split(";")[0].strip().replace("-", "_") for part in accept_language[:500].split(",") if part.strip()]
    return negotiate_locale(wanted, languages) or default
