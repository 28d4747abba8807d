"""Translators review in headless Chromium: the pieces by need, decisions with and without JavaScript, the preview,
a phone's width, two translators at once, the rules next to the piece, and axe-core on every review page."""

from __future__ import annotations

import json

import pytest

from conftest import VALID_FRONT
from review_server import review_site  # noqa: F401  (a fixture)
from tiny_models import po

pytestmark = pytest.mark.browser
WAIT = 20_000  # ms: the machine may be busy


@pytest.fixture
def context(browser):
    """A fresh browser profile at a desktop width (closed after the test)."""
    opened = browser.new_context(viewport={"width": 1280, "height": 900})
    yield opened
    opened.close()


def as_a_translator_left_it(workspace):
    """The German catalog of 2024-05 as a month of work leaves it: the title untranslated, a heading approved and
    then changed in the source, one keyword approved, and the model unsure of two drafts."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = workspace / "issues" / "2024-05" / "de.po"
    catalog = read_catalog(path)
    entries = {entry.context: entry for entry in catalog}
    entries["title"].string = ""
    for context in ("section-1/heading", "keywords/1"):
        entries[context].fuzzy = False
    for context, score in (("intro/2", "-1.00"), ("preheader", "-2.00")):
        notes = entries[context].notes
        entries[context].notes = [note.rsplit(" · score ", 1)[0] + f" · score {score}" for note in notes]
    write_catalog(path, catalog)
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace(
        "## Mass raids on conscripts took place in Moscow", "## Mass raids on conscripts took place in Moscow again"),
        encoding="utf-8")


def order_on(page) -> list[str]:
    return page.locator("article.piece h3 code").all_text_contents()


def status_de(run) -> dict:
    return next(row for row in json.loads(run("status", "2024-05", "--json").stdout)["languages"]
                if row["language"] == "de")


def test_a_translator_reviews_an_issue(review_site, context, workspace, run):
    """Open the link, see the pieces by need, edit and approve, approve with the keyboard, skip, save a draft: the
    page never reloads, the preview follows every save, and the catalog on disk and `status` agree with the page."""
    from playwright.sync_api import expect

    as_a_translator_left_it(workspace)
    page = context.new_page()
    page.goto(review_site["link"])
    expect(page.locator("ul.issues li")).to_contain_text("1 von 23 freigegeben")
    page.click("text=2024-05")
    order = order_on(page)
    assert order[:4] == ["title", "section-1/heading", "preheader", "intro/2"]  # need, then the least sure
    assert order[-1] == "keywords/1" and len(order) == 23
    assert page.locator("details.approved:not([open]) #piece-keywords_1").count() == 1  # approved: folded
    changed = page.locator("#piece-section-1_heading")
    assert changed.locator("ins").inner_text() == " again" and "Bisherige Übersetzung" in changed.inner_text()
    preview = page.frame_locator("#preview")
    expect(preview.locator("h1 mark.mco-source")).to_have_text("Digest May 2024", timeout=WAIT)
    page.evaluate("window.stayed = true")  # gone if the page reloads

    page.fill("#t-piece-title", "Überblick Mai 2024")
    page.click("#piece-title button[value=approve]")
    expect(page.locator("#progress")).to_have_text("2 von 23 freigegeben", timeout=WAIT)
    expect(preview.locator("h1")).to_have_text("Überblick Mai 2024", timeout=WAIT)
    assert preview.locator("h1 mark").count() == 0
    expect(page.locator("#t-piece-section-1_heading")).to_be_focused()  # on to the next piece
    page.click("#piece-section-1_heading button[value=skip]")
    expect(page.locator("#t-piece-preheader")).to_be_focused()
    page.keyboard.press("Control+Enter")  # approve the preheader as it is, and go on
    expect(page.locator("#progress")).to_have_text("3 von 23 freigegeben", timeout=WAIT)
    expect(page.locator("#t-piece-intro_2")).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#progress")).to_have_text("4 von 23 freigegeben", timeout=WAIT)
    page.fill("#t-piece-intro_1_caption", "Aktion in Südkorea, 2015. Foto: Connection e.V.")
    page.click("#piece-intro_1_caption button[value=draft]")
    expect(page.locator("#piece-intro_1_caption .outcome")).to_have_text("Als Entwurf gespeichert.", timeout=WAIT)
    assert page.evaluate("window.stayed") is True

    entries = {m.context: m for m in po(workspace, "2024-05", "de")}
    assert entries["title"].string == "Überblick Mai 2024" and not entries["title"].fuzzy
    assert not entries["preheader"].fuzzy and not entries["intro/2"].fuzzy
    assert entries["section-1/heading"].fuzzy and entries["section-1/heading"].previous_id
    caption = entries["intro/1/caption"]
    assert caption.fuzzy and caption.string == "Aktion in Südkorea, 2015. Foto: Connection e.V."
    assert not any(note.startswith("machine translation") for note in caption.notes)
    row = status_de(run)
    assert (row["approved"], row["changed"], row["total"]) == (4, 1, 23)
    header = (workspace / "issues" / "2024-05" / "de.po").read_text(encoding="utf-8")
    assert '"Last-Translator: Anna Petrova <anna@example.org>\\n"' in header
    page.reload()
    expect(page.locator("#progress")).to_have_text("4 von 23 freigegeben")
    assert order_on(page)[:2] == ["section-1/heading", "intro/1/caption"]  # the saved draft: a person's, first
    terminal = run("review", "2024-05", "--lang", "de", input="q\n")  # the terminal sees what the browser did
    assert "[1/19] keywords/2 · draft" in terminal.stdout


def test_on_a_phone(review_site, browser, workspace, run):
    """At 375 px nothing scrolls sideways, the preview comes below the pieces, and a decision works as on a desktop."""
    from playwright.sync_api import expect

    from mco_newsletter.render.browser import horizontal_overflow

    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(review_site["page"])
        assert horizontal_overflow(page) == 0
        last_piece = page.locator("article.piece").last.bounding_box()
        frame = page.locator("#preview").bounding_box()
        assert frame["y"] > last_piece["y"] and frame["width"] <= 375
        page.click("#piece-title button[value=approve]")
        expect(page.locator("#progress")).to_have_text("1 von 23 freigegeben", timeout=WAIT)
        assert horizontal_overflow(page) == 0
        assert status_de(run)["approved"] == 1
    finally:
        phone.close()


def test_the_preview_keeps_off_a_phones_edges(review_site, browser):
    """On a 360 px phone (DevTools' device metrics) the preview, its heading and its switch keep the pieces' margin
    from both edges of the screen, and the frame still fits."""
    phone = browser.new_context()
    try:
        page = phone.new_page()
        phone.new_cdp_session(page).send("Emulation.setDeviceMetricsOverride", {
            "width": 360, "height": 740, "deviceScaleFactor": 3, "mobile": True})
        page.goto(review_site["page"])
        assert page.evaluate("innerWidth") == 360
        piece = page.locator("article.piece").first.bounding_box()
        assert piece["x"] >= 10 and piece["x"] + piece["width"] <= 360 - 10
        for selector in ("#preview", "#preview-heading", ".preview .switch"):
            box = page.locator(selector).bounding_box()
            assert box["x"] >= 10 and box["x"] + box["width"] <= 360 - 10, (selector, box)
        assert page.locator("#preview").bounding_box()["width"] >= 300
    finally:
        phone.close()


def test_the_width_switch_and_the_preview_beside(review_site, context):
    """On a wide screen the preview stands beside the pieces; the switch shows it 375 or 600 px wide, without script."""
    page = context.new_page()
    page.goto(review_site["page"])
    pieces, frame = page.locator("main").bounding_box(), page.locator("#preview").bounding_box()
    assert frame["x"] >= pieces["x"] + pieces["width"] and frame["width"] == pytest.approx(375, abs=1)
    page.click("label[for=width-600]")
    assert page.locator("#preview").bounding_box()["width"] == pytest.approx(600, abs=1)


def test_without_javascript(review_site, browser, workspace, run):
    """With JavaScript off every decision is a plain form POST: approve, then a refusal shown next to its piece."""
    from playwright.sync_api import expect

    plain = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        page = plain.new_page()
        page.goto(review_site["page"])
        page.fill("#t-piece-title", "Überblick Mai 2024")
        page.click("#piece-title button[value=approve]")
        expect(page.locator(".notice")).to_have_text("Freigegeben: title.")
        expect(page.locator("#progress")).to_have_text("1 von 23 freigegeben")
        assert "done=approved" in page.url and page.url.endswith("#piece-preheader")
        page.fill("#t-piece-preheader", "Ohne Zahl")
        page.fill("#t-piece-section-2_1", "Kein Artikel, keine Jahre.")
        page.click("#piece-section-2_1 button[value=approve]")
        refusal = page.locator("#piece-section-2_1 .refused")
        expect(refusal).to_contain_text("die Zahlen weichen von der Quelle ab")
        assert page.locator("#t-piece-section-2_1").input_value() == "Kein Artikel, keine Jahre."
        assert page.locator("#piece-section-2_1 button[value=override]").count() == 1
    finally:
        plain.close()
    entries = {m.context: m for m in po(workspace, "2024-05", "de")}
    assert entries["title"].string == "Überblick Mai 2024" and not entries["title"].fuzzy
    assert entries["section-2/1"].fuzzy and "338" in entries["section-2/1"].string
    assert status_de(run)["approved"] == 1


@pytest.mark.stores
def test_a_revoked_or_tampered_link_gets_the_readers_404(review_site, context, run):
    """A revoked link and a tampered one both get exactly the neutral page a bad unsubscribe link gets."""
    page = context.new_page()
    assert page.goto(review_site["page"]).status == 200
    readers = page.goto(f"{review_site['url']}/u/garbage")
    neutral = page.content()
    assert readers.status == 404
    token = review_site["token"]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    answer = page.goto(f"{review_site['url']}/review/{tampered}/2024-05/de")
    assert answer.status == 404 and page.content() == neutral
    assert run("translators", "revoke", "Anna Petrova").exit_code == 0
    for path in ("", "/2024-05/de", "/2024-05/de/preview"):
        answer = page.goto(f"{review_site['link']}{path}")
        assert answer.status == 404 and page.content() == neutral


def test_two_browsers_on_one_piece(review_site, browser, workspace):
    """Two translators edit the same piece: the second to approve sees a conflict with both versions, and nothing
    is overwritten until they approve again, knowing."""
    from playwright.sync_api import expect

    first, second = (browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2))
    try:
        anna, boris = first.new_page(), second.new_page()
        anna.goto(review_site["page"])
        boris.goto(review_site["page"])
        anna.fill("#t-piece-title", "Annas Titel 2024")
        anna.click("#piece-title button[value=approve]")
        expect(anna.locator("#piece-title .outcome")).to_be_visible(timeout=WAIT)
        boris.fill("#t-piece-title", "Boris' Titel 2024")
        boris.click("#piece-title button[value=approve]")
        conflict = boris.locator("#piece-title .conflict")
        expect(conflict).to_contain_text("Annas Titel 2024", timeout=WAIT)
        assert boris.locator("#t-piece-title").input_value() == "Boris' Titel 2024"
        assert next(m for m in po(workspace, "2024-05", "de") if m.context == "title").string == "Annas Titel 2024"
        boris.click("#piece-title button[value=approve]")
        expect(boris.locator("#piece-title .outcome")).to_be_visible(timeout=WAIT)
        assert next(m for m in po(workspace, "2024-05", "de") if m.context == "title").string == "Boris' Titel 2024"
    finally:
        first.close()
        second.close()


def test_a_glossary_miss_is_flagged_and_approved_anyway(review_site, context, workspace):
    """A piece lacking a glossary term shows the warning; Approve is refused with it, Approve anyway records it."""
    from playwright.sync_api import expect

    glossary = workspace / "glossary" / "en-de.csv"
    glossary.parent.mkdir()
    glossary.write_text("source,target,note\nMovement of Conscientious Objectors,Bewegung der "
                        "Kriegsdienstverweigerer,our name\n", encoding="utf-8")
    page = context.new_page()
    page.goto(review_site["page"])
    piece = page.locator("#piece-intro_2")
    expect(piece.locator(".warnings")).to_contain_text("„Bewegung der Kriegsdienstverweigerer“ übersetzt (our name)")
    piece.locator("button[value=approve]").click()
    expect(piece.locator(".refused")).to_contain_text("Glossar:", timeout=WAIT)
    page.locator("#piece-intro_2 button[value=override]").click()
    expect(page.locator("#piece-intro_2 .outcome")).to_be_visible(timeout=WAIT)
    entry = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2")
    assert not entry.fuzzy and entry.comments[-1].startswith("override: glossary · text ")
    assert "— approved by Anna Petrova" in entry.comments[-1]


def test_a_dropped_link_is_refused_next_to_the_piece(review_site, workspace, write_issue, run, context, models):
    """A translation that drops the source's link is not approved, and says why inside its own piece."""
    from playwright.sync_api import expect

    write_issue("links", VALID_FRONT + "\nRead [our report](https://example.org/report?a=1&b=2) today.\n\n"
                "Another paragraph.\n")
    assert run("translate", "links", "--lang", "de").exit_code == 0
    page = context.new_page()
    page.goto(f"{review_site['link']}/links/de")
    page.fill("#t-piece-intro_1", "Lesen Sie heute unseren Bericht.")
    page.click("#piece-intro_1 button[value=approve]")
    refusal = page.locator("#piece-intro_1 .refused")
    expect(refusal).to_contain_text("nicht in der Übersetzung: https://example.org/report?a=1&b=2", timeout=WAIT)
    assert page.locator(".refused").count() == 1
    assert next(m for m in po(workspace, "links", "de") if m.context == "intro/1").fuzzy


def test_nothing_leaves_the_server(review_site, context):
    """Every request the review page and its preview make goes to the server itself; the preview's picture loads."""
    from playwright.sync_api import expect

    asked = []
    page = context.new_page()
    page.on("request", lambda request: asked.append(request.url))
    page.goto(review_site["page"])
    picture = page.frame_locator("#preview").locator("img").first
    expect(picture).to_be_visible(timeout=WAIT)
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    assert asked and all(url.startswith(review_site["url"] + "/") for url in asked), asked
    assert any(url.endswith("/review/static/review.js") for url in asked)


def axe_on(browser, review_site, workspace, every_page: bool, **view) -> None:
    """axe-core on the start page, the issue page with a refusal on it and its approved pieces unfolded, and the
    preview; with every_page also on the 404 of a bad link, a refused form's page and a broken catalog's page.
    `view`: the browser context's viewport and colour scheme."""
    from test_reader_view import axe_violations, with_axe

    opened = with_axe(browser.new_context(**view))
    # The preview's policy is a sandbox without scripts, axe-core's included: it alone is checked with the
    # policy set aside (its styles are inline and allowed by their hashes, so it looks the same).
    sandbox_off = with_axe(browser.new_context(**view, bypass_csp=True))
    try:
        page = opened.new_page()
        dark = view.get("color_scheme") == "dark"
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == dark
        page.goto(review_site["link"])
        assert axe_violations(page) == []
        if every_page:
            assert page.goto(review_site["link"] + "x").status == 404
            assert axe_violations(page) == []
        page.goto(review_site["page"])
        page.fill("#t-piece-section-2_1", "Ohne Zahlen.")
        page.click("#piece-section-2_1 button[value=approve]")
        page.locator("#piece-section-2_1 .refused").wait_for(timeout=WAIT)
        page.evaluate("document.querySelector('details.approved')?.setAttribute('open', '')")
        assert axe_violations(page) == []
        preview = sandbox_off.new_page()
        preview.goto(review_site["page"] + "/preview")
        assert axe_violations(preview) == []
        if not every_page:
            return
        page.goto(review_site["page"])
        page.evaluate("document.querySelector('#piece-title input[name=csrf]').value = 'not the key'")
        page.click("#piece-title button[value=approve]")  # refused: the script falls back to the plain form
        page.locator("text=Dieses Formular wurde nicht angenommen").wait_for(timeout=WAIT)
        assert axe_violations(page) == []
        path = workspace / "issues" / "2024-05" / "de.po"
        path.write_text(path.read_text(encoding="utf-8") + '\nmsgid "broken\n', encoding="utf-8")
        assert page.goto(review_site["page"]).status == 503
        assert axe_violations(page) == []
    finally:
        opened.close()
        sandbox_off.close()


def test_axe_finds_nothing_serious(review_site, browser, workspace):
    """axe-core finds no serious or critical violation on any review page: the start page, the 404 of a bad link,
    the issue page (with a refusal on it), the preview, a refused form's page and a broken catalog's page."""
    axe_on(browser, review_site, workspace, every_page=True, viewport={"width": 1280, "height": 900})


def test_axe_on_a_phone_in_the_dark(review_site, browser, workspace):
    """At a phone's width in dark mode, the pages whose layout and colours change most pass axe-core too (the
    light colours are checked above, on every page)."""
    axe_on(browser, review_site, workspace, every_page=False, viewport={"width": 375, "height": 740},
           color_scheme="dark")
