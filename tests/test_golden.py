"""The sample issues render exactly as the reviewed editions in tests/golden/ (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import difflib
import os

import pytest

from conftest import REPO, SAMPLE_ISSUES

GOLDEN = REPO / "tests" / "golden"


def compare(path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            str(path), "rendered", n=2))
        pytest.fail(f"{path.relative_to(REPO)} differs (UPDATE_GOLDEN=1 to accept):\n{diff[:4000]}")


@pytest.mark.parametrize("issue_id", SAMPLE_ISSUES)
@pytest.mark.parametrize("part", ["html", "txt"])
def test_golden_edition(render_edition, issue_id, part):
    """HTML and text of each sample edition match the golden files byte for byte."""
    rendered = render_edition(issue_id)
    compare(GOLDEN / issue_id / f"en.{part}", rendered.html if part == "html" else rendered.text)


@pytest.mark.parametrize("language", ["de", "ru"])
def test_golden_template_words(render_edition, language):
    """The template's own words in German and Russian (the issue text stays as written)."""
    compare(GOLDEN / "2023-12" / f"template-words.{language}.txt", render_edition("2023-12", language).text)
