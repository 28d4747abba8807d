"""Installing translation packages without Argos (and torch): the same folder Argos's installer makes."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder below `folder`, by relative path."""
    return {str(path.relative_to(folder)): (path.read_bytes() if path.is_file() else None)
            for path in sorted(folder.rglob("*"))}


def test_install_gives_the_folder_argos_gives(package_files, tmp_path, monkeypatch):
    """`models install --file` unpacks exactly what argostranslate.package.install_from_path unpacks."""
    from mco_newsletter.translation.packages import install_file

    path = package_files[("en", "de")]
    ours = tmp_path / "ours"
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(ours))
    package = install_file(path)
    theirs = tmp_path / "theirs"
    script = ("import os, sys; os.environ['ARGOS_PACKAGES_DIR'] = sys.argv[1]; import argostranslate.package as p; "
              "import argostranslate.settings as s; from pathlib import Path; s.package_data_dir = Path(sys.argv[1]); "
              "p.install_from_path(Path(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", script, str(theirs), str(path)], check=True, capture_output=True)
    assert tree(ours) == tree(theirs)
    assert package.path == ours / package.path.name and (package.from_code, package.to_code) == ("en", "de")


def test_install_imports_neither_argos_nor_torch(package_files, tmp_path):
    """Installing from a file and listing run without importing argostranslate or torch (the base install)."""
    path = package_files[("en", "ru")]
    script = ("import sys; from pathlib import Path; from mco_newsletter.translation.packages import install_file, "
              "installed; install_file(Path(sys.argv[1])); assert installed(); "
              "print(sorted(m for m in ('argostranslate', 'torch', 'stanza', 'spacy') if m in sys.modules))")
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(tmp_path / "packages")}
    result = subprocess.run([sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_reinstall_replaces_the_package_whole(package_files, tmp_path, monkeypatch):
    """Installing the same package again replaces its folder: a file left over from before does not survive."""
    from mco_newsletter.translation.packages import install_file

    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "packages"))
    package = install_file(package_files[("de", "en")])
    (package.path / "left-over.txt").write_text("old")
    again = install_file(package_files[("de", "en")])
    assert again.path == package.path and not (again.path / "left-over.txt").exists()
    assert not [p for p in (tmp_path / "packages").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name,kind", [("top/../../evil.txt", "outside its folder"), ("top/link", "symbolic link")],
                         ids=["path-traversal", "symlink"])
def test_hostile_package_is_refused(package_files, tmp_path, monkeypatch, run, name, kind):
    """A package whose archive would write outside its folder or holds a link is refused; nothing is installed."""
    source = package_files[("en", "de")]
    hostile = tmp_path / "hostile.argosmodel"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(hostile, "w") as out:
        top = original.namelist()[0].split("/")[0]
        for item in original.infolist():
            out.writestr(item, original.read(item))
        member = zipfile.ZipInfo(name.replace("top/", f"{top}/"))
        if kind == "symbolic link":
            member.external_attr = (0o120777 << 16)
        out.writestr(member, "/etc/passwd" if kind == "symbolic link" else "x")
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "packages"))
    result = run("models", "install", "--file", str(hostile))
    assert result.exit_code == 1
    assert kind in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "evil.txt").exists()
    assert not [p for p in (tmp_path / "packages").iterdir()] if (tmp_path / "packages").exists() else True


def test_download_without_the_argos_extra_names_it(tmp_path):
    """`models install FROM TO` without argostranslate installed says which extra brings it (exit 1, no traceback)."""
    script = ("import sys; sys.modules['argostranslate'] = None; from mco_newsletter.cli import main; "
              "sys.argv = ['mco-newsletter', 'models', 'install', 'en', 'de']; main()")
    env = {**os.environ, "ARGOS_PACKAGES_DIR": str(tmp_path / "packages")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "mco-newsletter[argos]" in result.stderr and "Traceback" not in result.stderr
