"""Fixtures for the review pages: a translated issue, a translator's link, and `serve`'s app on real uvicorn."""

from __future__ import annotations

import threading
import time

import pytest


def serve_app(settings, app=None):
    """`serve`'s application (or the one given, made by create_app; its own serves the review pages, as the editor
    replica does on PostgreSQL) under a real uvicorn server on a loopback port; returns (base url, stop)."""
    import uvicorn

    from mco_newsletter.web.app import create_app
    from mco_newsletter.web.server import server_options

    app = app or create_app(settings, editor=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", **server_options())
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if instance.started:
            break
        time.sleep(0.01)
    port = instance.servers[0].sockets[0].getsockname()[1]

    def stop():
        instance.should_exit = True
        thread.join(timeout=10)
        chores = getattr(getattr(getattr(app, "state", None), "site", None), "chores", None)
        if chores is not None:
            chores.stop()  # its minute's look would find this test's store gone, and say so in another test's log

    return f"http://127.0.0.1:{port}", stop


def add_translator(run, name: str, *languages: str, email: str | None = None) -> str:
    """`translators add` as the organisation runs it; the token of the link on its last line."""
    args = ["translators", "add", name, *[part for code in languages for part in ("--lang", code)]]
    result = run(*args, *(["--email", email] if email else []))
    assert result.exit_code == 0, result.output
    link = result.stdout.strip().split("\n")[-1]
    assert link.startswith("https://digest.example.org/review/")
    return link.rsplit("/", 1)[1]


@pytest.fixture
def review_site(workspace, run, drafted):
    """Issue 2024-05 drafted in German, Anna's link for German, and the server: {url, token, settings, link}."""
    from mco_newsletter.config import load_settings

    drafted("2024-05", "de")
    token = add_translator(run, "Anna Petrova", "de", email="anna@example.org")
    settings = load_settings(workspace)
    url, stop = serve_app(settings)
    yield {"url": url, "token": token, "settings": settings, "link": f"{url}/review/{token}",
           "page": f"{url}/review/{token}/2024-05/de"}
    stop()
