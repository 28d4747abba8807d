"""Every piece of text from issue and settings is shown as text: nothing it contains is ever markup."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import set_setting
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

NASTY = "<script>alert(1)</script> {{ 7*7 }} <mj-section> Tom & Jerry"
# In the Markdown body raw HTML is refused by the checker; written with Markdown's escapes it is text.
NASTY_MD = r"\<script>alert(1)\</script> {{ 7*7 }} \<mj-section> Tom & Jerry"


class Collector(HTMLParser):
    """Collects tag names and visible text of an HTML document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


def nasty_issue(write_issue):
    write_issue("nasty", (f"""\
---
title: "Title {NASTY}"
date: 2024-06-01
language: en
preheader: "Pre {NASTY}"
keywords: ["Key {NASTY}"]
closing: "Bye {NASTY}"
---

Intro NASTY

## Heading NASTY

- Item NASTY

> Quote NASTY
""").replace(" NASTY\n", " " + NASTY_MD + "\n"))


def test_issue_text_is_escaped_in_html(write_issue, render_edition):
    """<script>, {{ }}, <mj-section> and & in every field come out as visible text, never as tags."""
    nasty_issue(write_issue)
    html = render_edition("nasty").html
    parsed = parse(html)
    assert "script" not in parsed.tags
    assert "mj-section" not in parsed.tags and "<mj-" not in html
    visible = "".join(parsed.text)
    for label in ("Title", "Pre", "Key", "Bye", "Intro", "Heading", "Item", "Quote"):
        assert f"{label} {NASTY}" in visible, label
    assert "49" not in visible  # {{ 7*7 }} was not evaluated by Jinja


def test_issue_text_is_literal_in_text_part(write_issue, render_edition):
    """The plain-text part carries the characters themselves, not entities."""
    nasty_issue(write_issue)
    rendered = render_edition("nasty")
    assert f"Intro {NASTY}" in rendered.text.replace("\n", " ")
    assert rendered.subject == f"Title {NASTY}"
    assert "&amp;" not in rendered.text


def test_renderer_escapes_even_unchecked_text(settings):
    """Defence in depth: raw HTML that never passed the checker is still shown as text by the renderer."""
    import datetime as dt

    from mco_newsletter.edition import Edition
    from mco_newsletter.issue_blocks import Paragraph, Section
    from mco_newsletter.render.edition_email import render

    edition = Edition("raw", "en", "en", NASTY, dt.date(2024, 6, 1), NASTY, (NASTY,), NASTY,
                      (Paragraph(NASTY, 1),), (Section(NASTY, (Paragraph(NASTY, 3),), 2),))
    parsed = parse(render(edition, settings).html)
    assert "script" not in parsed.tags and "mj-section" not in parsed.tags
    assert "".join(parsed.text).count(NASTY) >= 6


def test_settings_text_is_escaped(workspace, write_issue, render_edition):
    """Identity, name and donation fields from settings are escaped too."""
    set_setting(workspace, 'en = "Movement of Conscientious Objectors (MCO)', f'en = "{NASTY} Movement of Conscientious Objectors (MCO)')
    set_setting(workspace, 'holder = "Aseistakieltaytyjaliitto"', f'holder = "{NASTY}"')
    from mco_newsletter.config import load_settings
    from mco_newsletter.edition import build_edition
    from mco_newsletter.render.edition_email import render
    from mco_newsletter.workspace import load_issue

    settings = load_settings(workspace)
    html = render(build_edition(load_issue(settings, "2024-05")), settings).html
    parsed = parse(html)
    assert "script" not in parsed.tags
    visible = "".join(parsed.text)
    assert f"{NASTY} Movement" in visible
    assert f"Account holder: {NASTY}" in " ".join(visible.split())


def test_markdown_links_and_emphasis(write_issue, render_edition):
    """Links keep their target (with & escaped as an attribute), emphasis becomes tags, text shows URLs."""
    write_issue("links", """\
---
title: Links
date: 2024-06-01
language: en
preheader: p
keywords: []
---

See *our* [report](https://example.org/r?a=1&b=2) or write to [us](mailto:x@example.org).
""")
    rendered = render_edition("links")
    assert 'href="https://example.org/r?a=1&amp;b=2">report</a>' in rendered.html
    assert "<em>our</em>" in rendered.html
    assert "See our report (https://example.org/r?a=1&b=2) or write to us (x@example.org)." in \
        " ".join(rendered.text.split())


_PIECES = [*"ab ж\t.,:;-()]#%+=>\"'{}$@^|/😀", "https://x.org", "HTTP://", "mailto:", "ftp:", "www.", "x.de",
           "evil.xyz", "мвд.рф", "a@b.co", " \n", "*", "_", "[", "![", "<", "&amp;", "&", "\\", "`", "~", "\r", "\0",
           "  \n"]


@hypothesis_settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_inline_markup_is_markdown_its_own(text):
    """Text with or without Markdown in it comes out exactly as markdown-it renders it (bare addresses made links
    by its linkify), as HTML and as plain text (plain text skips the parser)."""
    from markdown_it import MarkdownIt

    from mco_newsletter.clickable import with_links
    from mco_newsletter.render import markup

    markup.inline_html.cache_clear()
    markup.inline_text.cache_clear()
    parser = with_links(MarkdownIt("commonmark", {"html": False}))
    assert str(markup.inline_html(text)) == parser.renderInline(text).strip()
    breaks = {"softbreak": " ", "hardbreak": "\n"}  # a line ending ("\n" or "\r") is a space, after "\\" a new line
    expected = "".join(breaks.get(token.type, token.content) for token in parser.parseInline(text)[0].children or []
                       if token.type in ("text", *breaks))
    if not (set(text) & set("[<!`")):  # no links, pictures or code: the text part is the text tokens and breaks
        assert markup.inline_text(text) == expected


def test_template_gettext_is_jinjas_newstyle_gettext(tmp_path):
    """`_()` in the templates behaves as jinja2's newstyle gettext: a translation is markup in HTML templates and
    its keywords are escaped, plain text in text templates, and %-formatted in both."""
    from babel.support import NullTranslations
    from jinja2 import DictLoader, Environment

    from mco_newsletter.render.templates import HTML_TEMPLATE, _autoescape, environment

    sources = {name: '{{ _("Terms & <b>conditions</b> of %(name)s", name=name) }}|{{ _("100%% sure") }}|'
                     '{{ _("%(a)s < %(b)s", a=name, b=1) }}'
               for name in ("page.html.j2", "part.txt.j2")}
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / HTML_TEMPLATE).write_text("<mjml></mjml>", encoding="utf-8")
    for name, source in sources.items():
        (templates / name).write_text(source, encoding="utf-8")
    ours = environment(templates, tmp_path / "locales", "en", 0)
    reference = Environment(loader=DictLoader(sources), autoescape=_autoescape, extensions=["jinja2.ext.i18n"])
    reference.install_gettext_translations(NullTranslations(), newstyle=True)
    for name in sources:
        expected = reference.get_template(name).render(name="<script>&")
        assert ours.get_template(name).render(name="<script>&") == expected, name
    assert "&lt;script&gt;&amp;" in ours.get_template("page.html.j2").render(name="<script>&")
