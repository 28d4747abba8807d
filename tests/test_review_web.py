"""The review pages over HTTP on a real uvicorn server: who gets in, forms and their keys, headers, the throttle."""

from __future__ import annotations

import logging
import re
import time

import pytest

import loopback
from review_server import add_translator, review_site, serve_app  # noqa: F401  (a fixture)

pytestmark = pytest.mark.stores
from tiny_models import po


def form_of(html: str, context: str) -> dict:
    """The hidden fields of a piece's form on the page, as a browser would send them."""
    article = html.split(f'id="piece-{context.replace("/", "_")}"', 1)[1]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', article.split("</form>", 1)[0]))


def test_post_without_the_form_key_is_refused(review_site, workspace):
    """A POST without the CSRF form key, or with another, is a 403 and changes nothing; with it, it is taken."""
    page = loopback.get(review_site["page"]).text
    fields = form_of(page, "title")
    before = (workspace / "issues" / "2024-05" / "de.po").read_bytes()
    sent = {"piece": "title", "version": fields["version"], "translation": "Überblick Mai 2024", "action": "approve"}
    assert loopback.post(review_site["page"], data=sent).status_code == 403
    assert loopback.post(review_site["page"], data={**sent, "csrf": "x" * 32}).status_code == 403
    assert (workspace / "issues" / "2024-05" / "de.po").read_bytes() == before
    answer = loopback.post(review_site["page"], data={**sent, "csrf": fields["csrf"]})
    assert answer.status_code == 303 and "done=approved" in answer.headers["location"]
    assert next(m for m in po(workspace, "2024-05", "de") if m.context == "title").string == "Überblick Mai 2024"


def test_an_approval_changes_only_its_piece(review_site, workspace):
    """An approval in the browser rewrites the catalog's header and that one entry: every other entry stays byte
    for byte (no churn)."""
    path = workspace / "issues" / "2024-05" / "de.po"
    before = path.read_text(encoding="utf-8").split("\n\n")
    fields = form_of(loopback.get(review_site["page"]).text, "preheader")
    answer = loopback.post(review_site["page"],
                           data={**fields, "translation": "Razzien in Moskau.", "action": "approve"})
    assert answer.status_code == 303
    after = path.read_text(encoding="utf-8").split("\n\n")
    assert len(after) == len(before)
    changed = [old for old, new in zip(before, after) if old != new]
    assert len(changed) == 2 and 'msgid ""\n' in changed[0] and 'msgctxt "preheader"' in changed[1]


def test_the_rules_warn_before_approval(review_site, workspace):
    """A draft holding ⁇ and another number than its source shows both warnings inside its piece, before anyone
    presses Approve."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = workspace / "issues" / "2024-05" / "de.po"
    catalog = read_catalog(path)
    next(entry for entry in catalog if entry.context == "title").string = "Überblick ⁇ Mai 2025"
    write_catalog(path, catalog)
    page = loopback.get(review_site["page"]).text
    title = page.split('id="piece-title"', 1)[1].split("</article>", 1)[0]
    warnings = title.split('<ul class="warnings">', 1)[1].split("</ul>", 1)[0]
    assert "enthält ⁇" in warnings and "die Zahlen weichen von der Quelle ab" in warnings
    assert '<ul class="warnings">' not in page.split('id="piece-preheader"', 1)[1].split("</article>", 1)[0]


# Words of the rules' English messages: none is left on a German or Russian page (the source's own text aside).
ENGLISH = re.compile(r"\b(?:the|source|translation|differ|missing|contains|not|allowed|glossary|lost|model|is|of)\b")
REASONS = {
    "de": ["Nicht freigegeben: die Zahlen weichen von der Quelle ab (2 in der Quelle, 0 in der Übersetzung): "
           "nicht in der Übersetzung: 15, 338",
           "Nicht freigegeben: die Linkziele weichen von der Quelle ab (0 in der Quelle, 1 in der Übersetzung): nicht "
           "in der Quelle: https://evil.example.net/a",
           "Nicht freigegeben: HTML ist nicht erlaubt",
           "Nicht freigegeben: Glossar: „Movement of Conscientious Objectors“ wird mit „Bewegung der "
           "Kriegsdienstverweigerer“ übersetzt (our name); das fehlt in der Übersetzung"],
    "ru": ["Не одобрено: числа отличаются от оригинала (в оригинале 2, в переводе 0): в переводе нет 15, 338",
           "Не одобрено: адреса ссылок отличаются от оригинала (в оригинале 0, в переводе 1): в оригинале нет "
           "https://evil.example.net/a",
           "Не одобрено: HTML не допускается",
           "Не одобрено: глоссарий: «Movement of Conscientious Objectors» переводится как «Движение сознательных "
           "отказчиков» (our name); в переводе этого нет"],
}


@pytest.mark.parametrize("language", ["de", "ru"])
def test_refusals_are_in_the_pages_language(workspace, run, drafted, language):
    """On the German and Russian review pages every reason a translation is refused or flagged — numbers, links,
    the Markdown rules, a lost character, the glossary — and where a draft came from is said in the page's language:
    no English sentence left."""
    import html as markup

    from mco_newsletter.catalog_files import read_catalog, write_catalog
    from mco_newsletter.config import load_settings

    target = {"de": "Bewegung der Kriegsdienstverweigerer", "ru": "Движение сознательных отказчиков"}[language]
    glossary = workspace / "glossary" / f"en-{language}.csv"
    glossary.parent.mkdir()
    glossary.write_text(f"source,target,note\nMovement of Conscientious Objectors,{target},our name\n",
                        encoding="utf-8")
    drafted("2024-05", language)
    path = workspace / "issues" / "2024-05" / f"{language}.po"
    catalog = read_catalog(path)
    next(entry for entry in catalog if entry.context == "title").string = "⁇ 2025"
    # A draft from the translation memory says where it came from, as `translate` writes it.
    next(entry for entry in catalog if entry.context == "section-1/heading").comments = [
        "translation memory: 94% like a piece approved in issue 2023-12"]
    write_catalog(path, catalog)
    token = add_translator(run, "Anna Petrova", language)
    url, stop = serve_app(load_settings(workspace))
    try:
        page = f"{url}/review/{token}/2024-05/{language}"
        shown = loopback.get(page).text
        fields = form_of(shown, "section-2/1")
        refused = loopback.post(page, data={**fields, "action": "approve",
                                            "translation": "<b>Kein</b> Artikel https://evil.example.net/a"})
        glossary_fields = form_of(shown, "intro/2")
        missing_term = loopback.post(page, data={**glossary_fields, "action": "approve", "translation": "Hallo."})
    finally:
        stop()
    assert refused.status_code == 422 and missing_term.status_code == 422
    said = [markup.unescape(item) for answer in (refused, missing_term) for item in
            re.findall(r'<ul class="refused">(.*?)</ul>', answer.text, re.S)]
    reasons = [re.sub(r"<[^>]+>", "", item) for block in said for item in re.findall(r"<li>(.*?)</li>", block, re.S)]
    for expected in REASONS[language]:
        assert expected in reasons
    title = shown.split('id="piece-title"', 1)[1].split("</article>", 1)[0]
    warnings = re.sub(r"<[^>]+>", " ", markup.unescape(title.split('<ul class="warnings">', 1)[1].split("</ul>")[0]))
    assert {"de": "enthält ⁇: hier hat das Modell Zeichen verloren", "ru": "содержит ⁇: здесь модель потеряла "
            "символы"}[language] in warnings
    memory = {"de": "Übersetzungsspeicher: zu 94 % wie ein in Ausgabe 2023-12 freigegebenes Stück",
              "ru": "Память переводов: на 94 % как фрагмент, одобренный в выпуске 2023-12"}[language]
    assert f'<p class="meta">{memory}</p>' in shown
    for text in [*reasons, warnings]:
        words = text.replace("Movement of Conscientious Objectors", "")
        assert not ENGLISH.search(words), text


def test_the_review_pages_never_read_subscriber_data(workspace, run, drafted, monkeypatch):
    """With a subscriber in the store, no review page or decision runs a single statement on the site's subscriber
    connection; the registry's own connection touches the translators table only (and on PostgreSQL the throttle's
    the tables of the hour only); no page shows the address."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.storage.database import Database
    from mco_newsletter.web.app import create_app

    assert run("subscribers", "add", "reader.at.risk@example.org", "--lang", "de").exit_code == 0
    drafted("2024-05", "de")
    token = add_translator(run, "Anna Petrova", "de")
    settings = load_settings(workspace)
    app = create_app(settings, editor=True, chores=False)  # the periodic purges are no page's doing
    statements = []
    for name in ("execute", "executemany", "stream"):
        def traced(self, sql, *args, _real=getattr(Database, name), **kwargs):
            statements.append((self, sql))
            return _real(self, sql, *args, **kwargs)

        monkeypatch.setattr(Database, name, traced)
    url, stop = serve_app(settings, app)
    try:
        page = f"{url}/review/{token}/2024-05/de"
        answers = [loopback.get(f"{url}/review/{token}"), loopback.get(page), loopback.get(page + "/preview"),
                   loopback.get(f"{url}/review/{token[:-2]}xx")]
        fields = form_of(answers[1].text, "title")
        answers.append(loopback.post(page, data={**fields, "translation": "Überblick Mai 2024", "action": "approve"},
                                  follow_redirects=True))
    finally:
        stop()
    assert [answer.status_code for answer in answers] == [200, 200, 200, 404, 200]
    assert not any("reader.at.risk" in answer.text for answer in answers)
    site = app.state.site.store.db
    assert [sql for database, sql in statements if database is site] == []
    counts = getattr(app.state.site.shared_counts, "db", None)
    throttle = [sql for database, sql in statements if database is counts]
    assert all(re.findall(r"(?:FROM|INTO|TABLE(?: IF NOT EXISTS)?) (\w+)", sql) in ([], ["pg_tables"])
               or all(name.startswith("client_window_") for name in re.findall(r"(?:FROM|INTO|TABLE(?: IF NOT"
                                                                         r" EXISTS)?) (\w+)", sql))
               for sql in throttle), throttle
    registry = [sql for database, sql in statements if database not in (site, counts)]
    assert registry and all(re.findall(r"(?:FROM|INTO|UPDATE) (\w+)", sql) == ["translators"] for sql in registry)
    app.state.site.store.by_id(1)  # the trace sees what the store reads
    assert any(database is site for database, _ in statements)


def test_every_answer_carries_the_strict_headers(review_site):
    """Pages, the preview, the script, JSON answers and redirects: strict CSP, no referrer, no caching; the pages
    load script only from the server itself, never inline, and the preview runs no script at all, sandboxed."""
    page = loopback.get(review_site["page"])
    fields = form_of(page.text, "title")
    answers = {
        "start": loopback.get(review_site["link"]), "page": page,
        "preview": loopback.get(review_site["page"] + "/preview"),
        "script": loopback.get(review_site["url"] + "/review/static/review.js"),
        "json": loopback.post(review_site["page"], data={**fields, "piece": "title", "translation": "Titel 2024",
                                                        "action": "draft"}, headers={"Accept": "application/json"}),
        "redirect": loopback.post(review_site["page"], data={**fields, "piece": "preheader", "action": "skip"}),
    }
    for name, answer in answers.items():
        assert answer.status_code in (200, 303), name
        assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
        csp = answer.headers["content-security-policy"]
        assert csp.startswith("default-src 'none'") and "unsafe-inline" not in csp and "http" not in csp, name
    assert "script-src 'self'" in answers["page"].headers["content-security-policy"]
    assert "<script src=" in page.text and "<script>" not in page.text
    preview_csp = answers["preview"].headers["content-security-policy"]
    assert "script-src" not in preview_csp and "sandbox" in preview_csp and "frame-ancestors 'self'" in preview_csp
    assert answers["json"].json()["result"] == "saved"


def test_bad_links_get_the_readers_404_and_are_slowed_down(review_site):
    """Unknown, malformed and other people's links all get the reader's neutral 404; after a few from one client
    each answer waits longer."""
    neutral = loopback.get(review_site["url"] + "/u/garbage")
    token = review_site["token"]
    bad = [f"/review/{token[:-2]}xx", "/review/garbage", f"/review/{token[:-2]}xx/2024-05/de", "/review/x/y/z/preview"]
    started = time.monotonic()
    answers = [loopback.get(review_site["url"] + path) for path in bad]
    assert time.monotonic() - started < 2
    assert {a.status_code for a in answers} == {404} and {a.text for a in answers} == {neutral.text}
    for path in (f"/review/{token}/2024-05/ru", f"/review/{token}/2024-05/en", f"/review/{token}/1999-01/de",
                 f"/review/{token}/2024-05/de/preview/issue.md"):  # a real link, but not theirs to open
        assert loopback.get(review_site["url"] + path).status_code == 404
    loopback.get(review_site["url"] + "/review/" + "a" * 43)  # the fifth bad link in a row
    started = time.monotonic()
    answer = loopback.get(review_site["url"] + "/review/" + "b" * 43)
    assert answer.status_code == 404 and time.monotonic() - started >= 0.45
    started = time.monotonic()
    assert loopback.get(review_site["link"]).status_code == 200 and time.monotonic() - started < 1  # the good link


def test_the_throttle_doubles_and_forgets():
    """Five bad links are free; then each waits twice as long, up to a limit; an old failure is forgotten."""
    from mco_newsletter.web.throttle import Throttle

    now = [0.0]
    throttle = Throttle(free=5, window_seconds=600, first_delay=0.5, max_delay=4, clock=lambda: now[0])
    delays = [throttle.failed("203.0.113.9") for _ in range(10)]
    assert delays == [0, 0, 0, 0, 0, 0.5, 1, 2, 4, 4]
    assert throttle.failed("198.51.100.7") == 0
    now[0] = 601
    assert throttle.failed("203.0.113.9") == 0


def test_the_throttle_counts_an_ipv6_network_as_one_client_and_holds_no_address():
    """Bad links from the addresses of one IPv6 /64 (or IPv4 written as IPv4-mapped IPv6) count together; the
    throttle holds no client address as it was given."""
    from mco_newsletter.web.throttle import Throttle

    throttle = Throttle(free=2, first_delay=0.5, clock=lambda: 0.0)
    delays = [throttle.failed(f"2001:db8:5:6::{number:x}") for number in range(1, 5)]
    assert delays == [0, 0, 0.5, 1] and throttle.failed("2001:db8:5:7::1") == 0
    assert [throttle.failed(client) for client in ("192.0.2.4", "::ffff:192.0.2.4", "192.0.2.4")] == [0, 0, 0.5]
    held = repr(throttle.failures)
    assert "2001:db8" not in held and "192.0.2.4" not in held


def test_logs_name_routes_never_tokens(review_site, caplog):
    """The server's log lines name the route of a review page, never the token in its path."""
    caplog.set_level(logging.INFO, logger="mco_newsletter.web")
    loopback.get(review_site["page"])
    loopback.get(review_site["page"] + "/preview")
    lines = [record.getMessage() for record in caplog.records]
    assert any("/review/{token}/{issue_id}/{language}" in line for line in lines)
    assert not any(review_site["token"] in line for line in lines)


def test_odd_forms_are_answered_not_crashed(review_site, workspace):
    """A form without an action, an unknown piece, a body too long for a form: a plain answer, nothing written."""
    page = loopback.get(review_site["page"]).text
    fields = form_of(page, "title")
    before = (workspace / "issues" / "2024-05" / "de.po").read_bytes()
    assert loopback.post(review_site["page"], data={**fields, "action": "delete"}).status_code == 400
    gone = loopback.post(review_site["page"], data={**fields, "piece": "section-9/9", "action": "approve"})
    assert gone.status_code == 303
    huge = loopback.post(review_site["page"], data={**fields, "translation": "x" * 300_000, "action": "draft"})
    assert huge.status_code == 413
    assert (workspace / "issues" / "2024-05" / "de.po").read_bytes() == before


def test_a_translator_sees_only_their_languages(review_site, run, workspace, drafted):
    """The start page lists each issue in the translator's languages with its progress, and nothing else."""
    drafted("2023-12", "de", "ru")
    token = add_translator(run, "Boris", "ru")
    start = loopback.get(f"{review_site['url']}/review/{token}", headers={"Accept-Language": "en"}).text
    assert "2023-12" in start and "2024-05" not in start and "/2023-12/ru" in start
    anna = loopback.get(review_site["link"]).text
    assert anna.index("2024-05") < anna.index("2023-12")  # newest first


@pytest.mark.parametrize("broken", ["catalog", "glossary"])
def test_a_broken_file_is_said_not_crashed(review_site, workspace, broken):
    """A catalog or glossary that cannot be read: a page naming file and line (503), never a traceback."""
    if broken == "catalog":
        path = workspace / "issues" / "2024-05" / "de.po"
        path.write_text(path.read_text(encoding="utf-8") + '\nmsgid "broken\n', encoding="utf-8")
    else:
        path = workspace / "glossary" / "en-de.csv"
        path.parent.mkdir()
        path.write_text("term\nx\n", encoding="utf-8")
    answer = loopback.get(review_site["page"])
    assert answer.status_code == 503 and f"{path.name}:" in answer.text and "Traceback" not in answer.text


def test_approve_anyway_of_a_link_is_only_a_request(review_site, workspace, run, tmp_path):
    """Whoever holds (or stole) a review link cannot publish a link alone: "Approve anyway" of a translation with a
    link its source does not have is recorded as a request, the page says it waits for the organisation, and check
    and render hold the edition back until the manager accepts it on the command line."""
    page = review_site["page"]
    draft = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2").string
    phishing = f"{draft} https://mco-example.org.evil.example/login"
    fields = form_of(loopback.get(page).text, "intro/2")
    refused = loopback.post(page, data={**fields, "action": "approve", "translation": phishing})
    assert refused.status_code == 422
    assert "braucht nach „Trotzdem freigeben“ noch die Zustimmung der Organisation" in refused.text
    answer = loopback.post(page, data={**form_of(refused.text, "intro/2"), "action": "override",
                                       "translation": phishing}, follow_redirects=True)
    assert answer.status_code == 200 and "done=requested" in str(answer.url)
    assert "Freigegeben: intro/2. Der geänderte Link oder die geänderte Adresse wartet auf die Zustimmung der " \
           "Organisation" in answer.text
    entry = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2")
    assert entry.string == phishing and not entry.fuzzy
    assert any(c.startswith("override requested: links · text ") and "Anna Petrova" in c for c in entry.comments)
    check = run("check")
    assert check.exit_code == 1 and "https://mco-example.org.evil.example/login" in check.stderr
    assert "waiting for the organisation's acceptance" in check.stderr
    assert run("render", "2024-05", "--lang", "de", "--out", str(tmp_path)).exit_code == 1
