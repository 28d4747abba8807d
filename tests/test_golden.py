"""The sample issues render exactly as the reviewed editions in tests/golden/ (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import difflib
import os

import pytest

from conftest import REPO, SAMPLE_ISSUES

GOLDEN = REPO / "tests" / "golden"


def pinned_mjml() -> str:
    """The mjml-python version pyproject.toml pins (the golden HTML is that compiler's output)."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [spec.split("==", 1)[1] for spec in project["dependencies"] if spec.startswith("mjml-python==")]
    assert pins, "pyproject.toml must pin mjml-python exactly (mjml-python==X.Y.Z)"
    return pins[0].strip()


def test_mjml_is_the_pinned_version():
    """The installed MJML compiler is the one the golden files were made with, so a byte difference means a change."""
    from importlib.metadata import version

    assert version("mjml-python") == pinned_mjml(), \
        "install the pinned mjml-python (pip install -e .), or pin the new one and regenerate with UPDATE_GOLDEN=1"


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
