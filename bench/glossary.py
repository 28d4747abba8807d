"""The lemmatizers behind the glossary (word_forms.py): time to the first lemma and memory, each in a fresh process,
and what the glossary adds to `check` of a Russian issue.

Run from the repository: python bench/glossary.py [--rounds N]
Each candidate is imported and asked one word in a child process of its own (import + dictionary load + the
lemma); the resident memory is the child's peak less a bare Python's. The accuracy line lemmatizes inflected
forms of the organisation's Russian and German glossary words and counts those brought back to their term's
lemma.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CANDIDATES = {
    "pymorphy3 ru": "import pymorphy3\nm = pymorphy3.MorphAnalyzer(lang='ru')\nm.parse('Движения')",
    "simplemma ru": "import simplemma\nsimplemma.lemmatize('Движения', lang='ru')",
    "simplemma ru, low_memory": ("from simplemma import Lemmatizer\nfrom simplemma.strategies import DefaultStrategy\n"
                                 "Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True))"
                                 ".lemmatize('Движения', lang='ru')"),
    "simplemma de": "import simplemma\nsimplemma.lemmatize('Kriegsdienstverweigerern', lang='de')",
    "simplemma de, low_memory": ("from simplemma import Lemmatizer\nfrom simplemma.strategies import DefaultStrategy\n"
                                 "Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True))"
                                 ".lemmatize('Kriegsdienstverweigerern', lang='de')"),
    "simplemma en, low_memory": ("from simplemma import Lemmatizer\nfrom simplemma.strategies import DefaultStrategy\n"
                                 "Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True))"
                                 ".lemmatize('objectors', lang='en')"),
}
MEASURE = ("import resource, sys, time\nstart = time.perf_counter()\n{code}\n"
           "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")

# Inflected forms of the glossary's words, each with the lemma its term has (what a match needs).
RUSSIAN = {"движение": "движения движению движением движении", "сознательный": "сознательных сознательным "
           "сознательными сознательного", "отказчик": "отказчика отказчику отказчиком отказчиков отказчикам "
           "отказчиками отказчиках", "служба": "службы службе службу службой", "альтернативный": "альтернативной "
           "альтернативную", "гражданский": "гражданской гражданскую", "военкомат": "военкомата военкоматы "
           "военкоматах военкоматом", "суд": "суда судов судами судах"}
GERMAN = {"Kriegsdienstverweigerer": "Kriegsdienstverweigerern Kriegsdienstverweigerers", "Bewegung": "Bewegungen",
          "alternativ": "alternativer alternativen alternativem alternative", "Zivildienst": "Zivildienstes "
          "Zivildienste", "Kreiswehrersatzamt": "Kreiswehrersatzämter Kreiswehrersatzämtern Kreiswehrersatzamtes"}


def child(code: str) -> tuple[float, float]:
    """(seconds, peak resident MiB) of a fresh Python running the code."""
    result = subprocess.run([sys.executable, "-c", MEASURE.format(code=code)], capture_output=True, text=True,
                            check=True)
    seconds, kib = result.stdout.split()
    return float(seconds), int(kib) / 1024


def accuracy() -> list[str]:
    import pymorphy3
    import simplemma

    morph = pymorphy3.MorphAnalyzer(lang="ru")
    lines = []
    for name, lemmatize, table, language in (
            ("pymorphy3 ru (any reading)", lambda w: {p.normal_form for p in morph.parse(w)}, RUSSIAN, "ru"),
            ("simplemma ru", lambda w: {simplemma.lemmatize(w, lang="ru").lower()}, RUSSIAN, "ru"),
            ("simplemma de", lambda w: {simplemma.lemmatize(w, lang="de").casefold()}, GERMAN, "de")):
        forms = [(lemma, form) for lemma, written in table.items() for form in written.split()]
        missed = [form for lemma, form in forms if lemma.casefold() not in lemmatize(form)]
        lines.append(f"{name}: {len(forms) - len(missed)} of {len(forms)} forms to their lemma"
                     + (f" (missed: {', '.join(missed)})" if missed else ""))
    return lines


def check_with_glossary(rounds: int) -> list[str]:
    """`mco-newsletter check` of a Russian issue with an approved English catalog, with and without the glossary."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import copy_sample

    lines = []
    with tempfile.TemporaryDirectory() as folder:
        root = copy_sample(Path(folder) / "ws")
        issue = root / "issues" / "ru-notes"
        issue.mkdir()
        paragraphs = "\n\n".join(f"Юристы Движения сознательных отказчиков помогают призывникам в городе {n}."
                                 for n in range(40))
        (issue / "issue.md").write_text("---\ntitle: Новости\ndate: 2024-06-01\nlanguage: ru\npreheader: Кратко.\n"
                                        f"keywords: []\n---\n\n{paragraphs}\n", encoding="utf-8")
        approve_copy(issue, "en")
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        command = [sys.executable, "-m", "mco_newsletter", "--workspace", str(root), "check", "ru-notes"]
        for label in ("without glossary/", "with glossary/ru-en.csv"):
            if label.startswith("with "):
                (root / "glossary").mkdir()
                shutil.copy(REPO / "glossary" / "ru-en.csv", root / "glossary" / "ru-en.csv")
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                subprocess.run(command, env=env, capture_output=True)
                times.append(time.perf_counter() - start)
            lines.append(f"check of a 40-paragraph Russian issue {label}: median {statistics.median(times):.2f} s")
    return lines


def approve_copy(folder: Path, language: str) -> None:
    """An approved catalog whose every translation is its source copied: each piece lacks the glossary's target."""
    sys.path.insert(0, str(REPO / "src"))
    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.merging import new_catalog

    issue = parse_issue(folder / "issue.md")
    catalog = new_catalog(issue, language)
    catalog.entries += [Entry(piece.source, piece.source, context=piece.context) for piece in pieces(issue)]
    write_catalog(catalog_path(issue, language), catalog)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    bare = statistics.median(child("pass")[1] for _ in range(rounds))
    for name, code in CANDIDATES.items():
        runs = [child(code) for _ in range(rounds)]
        seconds = statistics.median(run[0] for run in runs)
        memory = statistics.median(run[1] for run in runs) - bare
        print(f"{name}: first lemma after {seconds:.2f} s, +{memory:.0f} MiB resident")
    for line in accuracy() + check_with_glossary(rounds):
        print(line)


if __name__ == "__main__":
    main()
