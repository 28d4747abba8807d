"""Fixtures for the translation tests: tiny real Argos packages, built and installed once per test run, and
the sample issues drafted with them once per run.

Building and installing run once per run (once for all pytest-xdist workers: conftest.built_once) into a
template folder (the tool's own installer, which gives the folder
Argos's installer gives: tests/test_packages_install.py); each test gets its own copy of that folder,
so a test can add, break or remove packages without touching another test's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PAIRS = (("en", "de"), ("en", "ru"), ("de", "en"), ("ru", "en"))


@pytest.fixture(scope="session")
def package_files(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Tiny upper-casing packages for en→de, en→ru, de→en and ru→en, built once."""
    from conftest import built_once
    from tiny_argos import build_package

    def build(folder: Path) -> None:
        for pair in PAIRS:
            build_package(folder, *pair)

    folder = built_once(tmp_path_factory, "argos-build", build)
    return {(source, target): folder / f"translate-{source}_{target}-1_0.argosmodel" for source, target in PAIRS}


@pytest.fixture(scope="session")
def installed_packages(package_files, tmp_path_factory) -> Path:
    """Every tiny package installed once, into a folder copied by `models`."""
    from conftest import built_once
    from mco_newsletter.translation.packages import install_file

    def install(folder: Path) -> None:
        before = os.environ.get("ARGOS_PACKAGES_DIR")
        os.environ["ARGOS_PACKAGES_DIR"] = str(folder)
        try:
            for path in package_files.values():
                install_file(path)
        finally:
            if before is None:
                del os.environ["ARGOS_PACKAGES_DIR"]
            else:
                os.environ["ARGOS_PACKAGES_DIR"] = before

    return built_once(tmp_path_factory, "argos-installed", install)


@pytest.fixture
def models(installed_packages, tmp_path, monkeypatch) -> Path:
    """This test's own packages folder: a copy of the installed tiny packages, named by $ARGOS_PACKAGES_DIR."""
    folder = tmp_path / "argos-packages"
    # Hard links: instant, and a test that removes a package only unlinks its own copy.
    shutil.copytree(installed_packages, folder, copy_function=os.link)
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def drafted_catalogs(installed_packages, tmp_path_factory) -> dict[str, bytes]:
    """Both sample issues machine-drafted in German and Russian by a real `translate`, once per run (for every
    pytest-xdist worker): {catalog path inside the workspace: its bytes}. Loading the model costs seconds on a
    busy machine; the tests that only need drafts to review take these instead of translating again."""
    from click.testing import CliRunner

    from conftest import SAMPLE_ISSUES, built_once, copy_sample
    from mco_newsletter.cli import cli

    def draft(folder: Path) -> None:
        root = copy_sample(folder / "ws")
        with pytest.MonkeyPatch.context() as patch:
            for name in [name for name in os.environ if name.startswith("MCO_NEWSLETTER_")]:
                patch.delenv(name)
            patch.setenv("ARGOS_PACKAGES_DIR", str(installed_packages))
            for issue_id in SAMPLE_ISSUES:
                result = CliRunner().invoke(cli, ["--workspace", str(root), "translate", issue_id,
                                                  "--lang", "de", "--lang", "ru"])
                assert result.exit_code == 0, result.output

    root = built_once(tmp_path_factory, "drafted", draft) / "ws"
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in (root / "issues").glob("*/*.po")}


@pytest.fixture
def drafted(workspace, drafted_catalogs):
    """drafted(issue_id, *languages): put the session's machine drafts of a sample issue into this workspace,
    as `translate` would have written them."""

    def draft(issue_id: str, *languages: str) -> None:
        for language in languages:
            path = f"issues/{issue_id}/{language}.po"
            (workspace / path).write_bytes(drafted_catalogs[path])

    return draft


def po(workspace: Path, issue_id: str, language: str):
    """The catalog of an issue's language in the test workspace."""
    from mco_newsletter.catalog_files import read_catalog

    return read_catalog(workspace / "issues" / issue_id / f"{language}.po")


def approve_all(workspace: Path, issue_id: str, language: str) -> None:
    """Untick fuzzy on every entry, as a translator would in a PO editor."""
    from mco_newsletter.catalog_files import read_catalog, write_catalog

    path = workspace / "issues" / issue_id / f"{language}.po"
    catalog = read_catalog(path)
    for entry in catalog:
        entry.fuzzy = False
    write_catalog(path, catalog)
