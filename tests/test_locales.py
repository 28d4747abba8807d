"""The template's own words the package ships: extracted from its templates, translated by hand, valid for msgfmt."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from conftest import REPO
from mco_newsletter.defaults import LOCALES

LANGUAGES = ("en", "de", "ru")


def extracted() -> set[str]:
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    return {message for _, _, message, _, _ in extract_from_dir(str(REPO), method_map, options_map)}


def catalog(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_matches_templates(language):
    """Every string the templates use is in the catalog, and nothing else."""
    ids = {message.id for message in catalog(language) if message.id}
    assert ids == extracted()


@pytest.mark.parametrize("language", ("de", "ru"))
def test_catalog_is_translated(language):
    """German and Russian entries are translated, not fuzzy, and keep their placeholders."""
    for message in catalog(language):
        if not message.id:
            continue
        assert message.string, message.id
        assert not message.fuzzy, message.id
        assert re.findall(r"%\(\w+\)s", message.id) == re.findall(r"%\(\w+\)s", message.string), message.id
        if message.id not in ("IBAN", "BIC/SWIFT") and (language, message.id) != ("de", "Bank"):
            assert message.string != message.id, f"{language}: {message.id!r} left in English"


@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_check(language):
    """GNU msgfmt --check accepts each catalog."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (Debian package gettext) is needed"
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    result = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_template_file_is_current():
    """The package's messages.pot lists exactly what the templates use."""
    with (LOCALES / "messages.pot").open("rb") as handle:
        ids = {message.id for message in read_po(handle) if message.id}
    assert ids == extracted()
