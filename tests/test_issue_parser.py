"""issue.md: front matter and Markdown body parsed, every check rule reporting file:line."""

from __future__ import annotations

import datetime as dt

import pytest

from mco_newsletter.issue import parse_issue, read_issue
from mco_newsletter.issue_blocks import Image, ItemList, Paragraph, Quote
from mco_newsletter.errors import ProblemsError

from conftest import SAMPLE, SAMPLE_ISSUES, SHARED, VALID_FRONT

LANGS = ("en", "de", "ru")


def problems(path):
    issue, found = read_issue(path, languages=LANGS)
    assert issue is None if found else issue is not None
    return [(p.line, p.message) for p in found]


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
def test_sample_issues_parse(issue_id):
    """Both converted seed digests parse cleanly with four sections each."""
    issue = parse_issue(SAMPLE / "issues" / issue_id / "issue.md", languages=LANGS)
    assert issue.language == "en"
    assert len(issue.sections) == 4
    assert all(section.blocks for section in issue.sections)
    assert issue.intro


def test_sample_2024_05_content():
    """The May 2024 digest keeps its photo credit, date, keywords and section titles from the seed."""
    issue = parse_issue(SAMPLE / "issues" / "2024-05" / "issue.md", languages=LANGS)
    assert issue.date == dt.date(2024, 7, 9)
    assert issue.title == "Digest May 2024"
    assert issue.intro[0] == Image("aktion-suedkorea-2015.png", "Aktion in Südkorea, 2015. Foto: Connection e.V.",
                                   "Aktion in Südkorea, 2015. Foto: Connection e.V.", 9)
    assert issue.intro[1].text.startswith("Friends, hello everyone!")
    assert len(issue.keywords) == 10 and issue.keywords[0] == "Conscription"
    assert issue.sections[1].heading == "A Deserter from the Russian Army Kidnapped in Kazakhstan for the First Time"
    seed_text = (SHARED / "seeds" / "digest-2024-05.txt").read_text(encoding="utf-8")
    for section in issue.sections:
        assert section.heading in seed_text
        for block in section.blocks:
            assert block.text in seed_text


def test_sample_2023_12_is_faithful():
    """Every heading and paragraph of the December 2023 digest is the seed's text, word for word."""
    issue = parse_issue(SAMPLE / "issues" / "2023-12" / "issue.md", languages=LANGS)
    seed_text = (SHARED / "seeds" / "digest-2023-12.txt").read_text(encoding="utf-8")
    assert issue.date == dt.date(2024, 1, 31)
    assert issue.intro[0].text in seed_text
    for section in issue.sections:
        assert section.heading in seed_text
        assert all(block.text in seed_text for block in section.blocks)


def test_blocks_lists_quotes_and_links(write_issue):
    """Lists, quotes, emphasis and links become blocks; soft line breaks join with a space."""
    path = write_issue("x", VALID_FRONT + """
Intro with *emphasis* and a [link](https://example.org/a?b=1&c=2)
that goes on.

## Section

- first item
- second **item**

3. three
4. four

> quoted text
""")
    issue = parse_issue(path, languages=LANGS)
    assert issue.intro == (Paragraph("Intro with *emphasis* and a [link](https://example.org/a?b=1&c=2) that goes on.", 9),)
    bullets, numbers, quote = issue.sections[0].blocks
    assert isinstance(bullets, ItemList) and [i.text for i in bullets.items] == ["first item", "second **item**"]
    assert numbers.ordered and numbers.start == 3
    assert isinstance(quote, Quote) and quote.blocks[0].text == "quoted text"


def test_missing_front_matter(write_issue):
    """A file without front matter says so at line 1."""
    path = write_issue("x", "Just text.\n\n## Heading\n\nBody.\n")
    assert problems(path) == [(1, "no front matter")]


def test_unclosed_front_matter(write_issue):
    """Front matter without its closing --- is reported."""
    path = write_issue("x", "---\ntitle: x\n")
    assert problems(path) == [(1, "front matter is not closed")]


def test_unknown_and_missing_front_matter_keys(write_issue):
    """Unknown keys are named at their line, missing ones at the top of the front matter."""
    path = write_issue("x", VALID_FRONT.replace("preheader:", "preheadr:") + "\nText.\n")
    found = problems(path)
    assert (5, "unknown front matter key 'preheadr'") in found
    assert (2, "front matter has no 'preheader'") in found
    issue, details = read_issue(path, languages=LANGS)
    assert details[0].hint == "did you mean 'preheader'?"


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "31.01.2024"])
def test_bad_date(write_issue, value):
    """A date that is not a real YYYY-MM-DD date is reported at its line."""
    path = write_issue("x", VALID_FRONT.replace("2024-06-01", value) + "\nText.\n")
    assert problems(path) == [(3, f"'date' {value!r} is not a date")]


def test_unknown_language(write_issue):
    """A language the newsletter does not have is an error naming the configured ones."""
    path = write_issue("x", VALID_FRONT.replace("language: en", "language: fr") + "\nText.\n")
    issue, found = read_issue(path, languages=LANGS)
    assert [(p.line, p.message) for p in found] == [(4, "language 'fr' is not one of the newsletter's languages")]
    assert "en, de, ru" in found[0].hint


def test_invalid_yaml(write_issue):
    """A YAML syntax error is reported at its line in the file."""
    path = write_issue("x", "---\ntitle: x\ndate: [2024\n---\nText.\n")
    found = problems(path)
    assert len(found) == 1 and found[0][1].startswith("front matter is not valid YAML")
    assert found[0][0] in (3, 4)


def test_empty_section_and_heading_levels(write_issue):
    """Empty sections and headings other than ## are reported where they stand."""
    path = write_issue("x", VALID_FRONT + "\nIntro.\n\n## Empty\n\n## Full\n\nText.\n\n### Deep\n\nMore.\n")
    assert problems(path) == [
        (17, "only `##` headings are allowed, not `###`"),
        (11, "section 'Empty' is empty"),
    ]


def test_image_rules(write_issue):
    """Images need alt text, a paragraph of their own, and a file that exists."""
    path = write_issue("x", VALID_FRONT + "\n![](photo.jpg)\n\nText with ![alt](photo.jpg) inside.\n\n"
                                          "![A photo](missing.jpg)\n\n![A photo](javascript:alert(1))\n")
    (path.parent / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(16))
    found = problems(path)
    assert (9, "image has no alt text") in found
    assert (11, "an image must stand in a paragraph of its own") in found
    assert (13, "picture file 'missing.jpg' not found in x/") in found
    assert len(found) == 4


def test_raw_html_is_refused(write_issue):
    """Raw HTML, as a block or inline, is an error at its line."""
    path = write_issue("x", VALID_FRONT + "\n<div>block</div>\n\nText <b>bold</b>.\n\n## S\n\n<script>x</script>\n")
    assert problems(path) == [
        (9, "raw HTML is not allowed"),
        (11, "raw HTML is not allowed"),
        (11, "raw HTML is not allowed"),
        (15, "raw HTML is not allowed"),
        (13, "section 'S' is empty"),
    ]


def test_code_rules_and_bad_links(write_issue):
    """Code blocks, rules and javascript: links are refused."""
    path = write_issue("x", VALID_FRONT + "\n```\ncode\n```\n\n---\n\n[x](javascript:alert(1)) `c`\n")
    found = [m for _, m in problems(path)]
    assert "code blocks are not supported" in found
    assert "horizontal rules are not supported" in found
    assert "link target 'javascript:alert(1)' is not a web or mailto address" in found
    assert "inline code is not supported" in found


def test_every_problem_reported_at_once(write_issue):
    """Front matter and body problems come together, not one per run."""
    path = write_issue("x", VALID_FRONT.replace("2024-06-01", "someday").replace("en", "xx") + "\n## \n\n![](a.png)\n")
    assert len(problems(path)) >= 4


def test_not_utf8_and_empty_body(write_issue, workspace):
    """A Latin-1 file and a file with no text are clear problems."""
    path = workspace / "issues" / "x" / "issue.md"
    path.parent.mkdir(parents=True)
    path.write_bytes((VALID_FRONT + "\nFür\n").encode("latin-1"))
    assert problems(path) == [(9, "not UTF-8 text (invalid start byte)")]
    path.write_text(VALID_FRONT + "\n", encoding="utf-8")
    assert problems(path) == [(8, "the issue has no text")]


def test_crlf_and_bom_accepted(write_issue, workspace):
    """Windows line endings and a UTF-8 BOM (from Notepad) are read like plain UTF-8."""
    path = workspace / "issues" / "x" / "issue.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + (VALID_FRONT + "\nHello.\n").replace("\n", "\r\n").encode())
    issue = parse_issue(path, languages=LANGS)
    assert issue.intro == (Paragraph("Hello.", 9),)


def test_parse_issue_raises_with_all_problems(write_issue):
    """parse_issue raises ProblemsError carrying every problem."""
    path = write_issue("x", "no front matter")
    with pytest.raises(ProblemsError) as caught:
        parse_issue(path)
    assert caught.value.problems[0].format() .endswith("issue.md:1: no front matter\n    hint: start the file with a `---` line, the title, date, language, preheader and keywords, then another `---` line")
