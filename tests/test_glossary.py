"""The glossary: terms kept out of the model and put back as required, flagged by review, status and check."""

from __future__ import annotations

import json

import pytest

from conftest import VALID_FRONT
from tiny_models import approve_all, po

GLOSSARY_DE = ("source,target,note\n"
               "Movement of Conscientious Objectors,Bewegung der Kriegsdienstverweigerer,the organisation's name\n"
               "MCO,MCO,\n")


def write_glossary(workspace, pair: str, text: str):
    """Write glossary/<pair>.csv in the test workspace."""
    path = workspace / "glossary" / f"{pair}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_machine_drafts_keep_the_required_term(run, workspace, write_issue, models):
    """Without a glossary the tiny model (which upper-cases) translates the term itself; with glossary/en-de.csv
    it leaves the term to the glossary: its target comes back exactly, the rest is the model's."""
    write_issue("terms", VALID_FRONT + "\nGreetings from the Movement of Conscientious Objectors. In May, raids.\n")
    assert run("translate", "terms", "--lang", "de").exit_code == 0
    intro = next(m for m in po(workspace, "terms", "de") if m.context == "intro/1").string
    assert intro == "GREETINGS FROM THE MOVEMENT OF CONSCIENTIOUS OBJECTORS. IN MAY, RAIDS."
    (workspace / "issues" / "terms" / "de.po").unlink()
    write_glossary(workspace, "en-de", GLOSSARY_DE)
    assert run("translate", "terms", "--lang", "de").exit_code == 0
    intro = next(m for m in po(workspace, "terms", "de") if m.context == "intro/1").string
    assert intro == "GREETINGS FROM THE Bewegung der Kriegsdienstverweigerer. IN MAY, RAIDS."


def test_terms_in_links_and_addresses_are_left_alone(run, workspace, write_issue, models):
    """A term inside a link target or an e-mail address is not replaced; in the link's words it is."""
    write_glossary(workspace, "en-ru", "source,target,note\nMCO,ДСО,Движение сознательных отказчиков\n")
    write_issue("links", VALID_FRONT + "\nThe [MCO team](https://mco.example/MCO) answers at mco@example.org.\n")
    run("translate", "links", "--lang", "ru")
    text = next(m for m in po(workspace, "links", "ru") if m.context == "intro/1").string
    assert text == "THE [ДСО TEAM](https://mco.example/MCO) ANSWERS AT mco@example.org."


def test_a_missing_term_is_flagged_and_can_be_approved_anyway(run, workspace, drafted):
    """An approved piece lacking the term: check warns at its line and status counts it, but the edition still
    renders (a term is not a changed link); review refuses to approve it and [o] records the exception."""
    drafted("2024-05", "de")
    approve_all(workspace, "2024-05", "de")
    assert "warning" not in run("check", "2024-05").stderr
    write_glossary(workspace, "en-de", GLOSSARY_DE)
    checked = run("check", "2024-05")
    said = ("intro/2: glossary: “Movement of Conscientious Objectors” is translated as “Bewegung der "
            "Kriegsdienstverweigerer” (the organisation's name)")
    assert checked.exit_code == 0 and "(1 warning)" in checked.stdout
    assert "de.po:" in checked.stderr and f"{said}; the translation does not have it" in checked.stderr
    row = next(r for r in json.loads(run("status", "2024-05", "--json").stdout)["languages"] if r["language"] == "de")
    assert row["glossary"] == 1 and row["broken"] == 0 and row["ready"]
    assert "1 approved piece lacks a glossary term" in run("status", "2024-05", "--lang", "de").stdout
    assert run("render", "2024-05", "--lang", "de", "--out", str(workspace / "out")).exit_code == 0
    path = workspace / "issues" / "2024-05" / "de.po"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('msgctxt "intro/2"', '#, fuzzy\nmsgctxt "intro/2"'), encoding="utf-8")
    session = run("review", "2024-05", "--lang", "de", "--translator", "Anna <anna@example.org>", input="a\no\n")
    assert "! glossary: “Movement of Conscientious Objectors”" in session.stdout
    assert "[o] approves it anyway" in session.stdout and "1 decision saved" in session.stdout
    entry = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2")
    assert not entry.fuzzy and entry.comments[-1].startswith("override: glossary · text ")
    assert "— approved by Anna" in entry.comments[-1]
    assert "warning" not in run("check", "2024-05").stderr
    assert "intro/2 (glossary)" in run("status", "2024-05", "--lang", "de").stdout


def approve(workspace, issue_id: str, language: str, translations: dict[str, str]) -> None:
    """Write an approved catalog of the issue in `language`: each piece translated as given, by a person."""
    from mco_newsletter.catalog_files import Entry, write_catalog
    from mco_newsletter.catalogs import catalog_path, pieces
    from mco_newsletter.issue import parse_issue
    from mco_newsletter.merging import new_catalog

    issue = parse_issue(workspace / "issues" / issue_id / "issue.md")
    catalog = new_catalog(issue, language)
    for piece in pieces(issue):
        catalog.entries.append(Entry(piece.source, translations.get(piece.context, piece.source),
                                     context=piece.context, flags=["no-python-format"]))
    write_catalog(catalog_path(issue, language), catalog)


RU_FRONT = VALID_FRONT.replace("language: en", "language: ru")
GLOSSARY_RU_EN = "source,target,note\nДвижение сознательных отказчиков,Movement of Conscientious Objectors,\n"


@pytest.mark.parametrize("pair,glossary,source,draft", [
    # The organisation's name in the Russian genitive, as the month's Russian issue wrote it.
    ("ru-en", GLOSSARY_RU_EN, "Новости Движения сознательных отказчиков.",
     "НОВОСТИ Movement of Conscientious Objectors."),
    ("de-en", "source,target\nKriegsdienstverweigerer,conscientious objector\n",
     "Wir helfen den Kriegsdienstverweigerern.", "WIR HELFEN DEN conscientious objector."),
    ("en-de", "source,target\nconscientious objector,Kriegsdienstverweigerer\n",
     "We help conscientious objectors.", "WE HELP Kriegsdienstverweigerer."),
], ids=["ru-genitive", "de-dative-plural", "en-plural"])
def test_an_inflected_source_term_gets_its_target_in_the_draft(run, workspace, write_issue, models, pair, glossary,
                                                                source, draft):
    """A term inflected in the source (Russian genitive, German dative plural, English plural) is still the term:
    the draft carries its target as written, where the tiny model would have upper-cased the source's words."""
    source_language, target = pair.split("-")
    write_glossary(workspace, pair, glossary)
    write_issue("inflected", VALID_FRONT.replace("language: en", f"language: {source_language}") + f"\n{source}\n")
    assert run("translate", "inflected", "--lang", target).exit_code == 0
    assert next(m for m in po(workspace, "inflected", target) if m.context == "intro/1").string == draft


def test_an_inflected_source_term_is_flagged(run, workspace, write_issue):
    """A Russian issue names the organisation in the genitive; an English translation without the required name is
    flagged by check and in review, also when it is the source's words copied through (the tiny model's output) and
    never because it has the source's words; with the required name it is not."""
    write_glossary(workspace, "ru-en", GLOSSARY_RU_EN)
    write_issue("ru-notes", RU_FRONT + "\nЮристы Движения сознательных отказчиков помогают призывникам.\n\n"
                "Письмо Движению сознательных отказчиков.\n\nСайт Движения сознательных отказчиков.\n")
    approve(workspace, "ru-notes", "en", {
        "intro/1": "The objectors' movement's lawyers help conscripts.",
        "intro/2": "ПИСЬМО ДВИЖЕНИЮ СОЗНАТЕЛЬНЫХ ОТКАЗЧИКОВ.",  # the source's words, copied through
        "intro/3": "The website of the Movement of Conscientious Objectors.",
    })
    checked = run("check", "ru-notes")
    said = "glossary: “Движение сознательных отказчиков” is translated as “Movement of Conscientious Objectors”"
    assert checked.exit_code == 0 and "(2 warnings)" in checked.stdout, checked.output
    assert f"intro/1: {said}" in checked.stderr and f"intro/2: {said}" in checked.stderr
    assert "intro/3" not in checked.stderr
    path = workspace / "issues" / "ru-notes" / "en.po"
    path.write_text(path.read_text(encoding="utf-8").replace('msgctxt "intro/1"', '#, fuzzy\nmsgctxt "intro/1"'),
                    encoding="utf-8")
    session = run("review", "ru-notes", "--lang", "en", "--translator", "Anna <anna@example.org>", input="a\nq\n")
    assert f"! {said}" in session.stdout and "[o] approves it anyway" in session.stdout


@pytest.mark.parametrize("pair,source,kept,missing", [
    # Russian: the target in the dative plural and the instrumental counts; the refusal (отказ) is not the objector.
    ("en-ru", "conscientious objector", ["помогаем сознательным отказчикам", "с сознательным отказчиком"],
     ["сознательный отказ от службы", "отказчик, сознательный"]),
    ("en-ru", "alternative civilian service", ["право на альтернативную гражданскую службу"],
     ["право на военную службу", "гражданская служба альтернативная"]),
    # German: the dative plural and the genitive count; the refusal (Verweigerung) is not the objector.
    ("en-de", "conscientious objector", ["für Kriegsdienstverweigerern", "die Rechte des Kriegsdienstverweigerers"],
     ["die Kriegsdienstverweigerung"]),
    ("en-de", "military enlistment office", ["vor den Kreiswehrersatzämtern", "KREISWEHRERSATZÄMTER"],
     ["der Kreiswehrersatzamtsleiter"]),
    # A German adjective opening a sentence is capitalised; the dictionary has it in lower case.
    ("en-de", "alternative civilian service", ["Alternativen Zivildienst leisten sie."], ["Zivildienst leisten"]),
], ids=["ru-objector", "ru-service", "de-objector", "de-office", "de-capitalised"])
def test_inflected_targets_count(workspace, pair, source, kept, missing):
    """A target inflected in the translation is there; another word sharing its beginning, or its words apart, or a
    translation that has only the source's words, is not."""
    from mco_newsletter.glossary import load_glossary

    write_glossary(workspace, pair, "source,target\nconscientious objector,Kriegsdienstverweigerer\n"
                   "military enlistment office,Kreiswehrersatzamt\n"
                   "alternative civilian service,alternativer Zivildienst\n" if pair == "en-de" else
                   "source,target\nconscientious objector,сознательный отказчик\n"
                   "alternative civilian service,альтернативная гражданская служба\n")
    glossary = load_glossary(workspace, *pair.split("-"))
    text = f"We help the {source}s."
    for translation in kept:
        assert glossary.findings(text, translation) == [], translation
    for translation in missing + [text, text.upper()]:
        assert [finding.rule for finding in glossary.findings(text, translation)] == ["glossary"], translation


@pytest.mark.parametrize("text,message", [
    ("term,translation\nA,B\n", "glossary/en-de.csv:1: the header row must name the columns source and target"),
    ("source,target\nA,\n", "glossary/en-de.csv:2: a term needs both a source and a target"),
    ("source,target\nA,B\na,C\n", "glossary/en-de.csv:3: “a” is already translated as “B” at line 2"),
    ("source,target\nA,B,C\n", "glossary/en-de.csv:2: more values than the header has columns"),
])
def test_a_broken_glossary_is_named_by_check(run, workspace, text, message):
    """check reports a glossary that cannot be read, at its line, once."""
    write_glossary(workspace, "en-de", text)
    result = run("check")
    assert result.exit_code == 1 and result.stderr.count(message) == 1, result.stderr


def test_a_glossary_of_an_unknown_pair_is_named(run, workspace):
    """glossary/en-fr.csv in a newsletter without French: check says how to name it."""
    write_glossary(workspace, "en-fr", "source,target\nA,B\n")
    result = run("check")
    assert result.exit_code == 1 and "glossary/en-fr.csv: not the glossary of two of the newsletter's languages" \
        in result.stderr


def test_drafts_carry_the_models_score_and_come_least_confident_first(workspace, drafted):
    """translate writes the model's score beside each machine draft; review orders the pieces by need: changed
    since approval first, then drafts from the least confident up, approved pieces last."""
    from mco_newsletter.config import load_settings
    from mco_newsletter.review import Review
    from mco_newsletter.workspace import load_issue

    drafted("2023-12", "de")  # as `translate` wrote them
    notes = [m.notes for m in po(workspace, "2023-12", "de") if m.id]
    assert all(any(" · score " in note for note in entry) for entry in notes)
    path = workspace / "issues" / "2023-12" / "de.po"
    scores = iter(["-0.90", "-0.10", "-2.50"])  # title, preheader, keywords/1: as a real model, some less sure
    lines = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        score = next(scores, None) if line.startswith("#. machine translation:") else None
        lines.append(line.rsplit(" · score ", 1)[0] + f" · score {score}" if score else line)
    path.write_text("\n".join(lines), encoding="utf-8")
    settings = load_settings(workspace)
    review = Review(load_issue(settings, "2023-12"), "de")
    assert review.approve("title").approved and review.approve("intro/1").approved
    issue_md = workspace / "issues" / "2023-12" / "issue.md"
    issue_md.write_text(issue_md.read_text(encoding="utf-8").replace("title: Digest December 2023",
                                                                      "title: Digest of December 2023"))
    review = Review(load_issue(settings, "2023-12"), "de")
    order = [state.piece.context for state in review.by_need()]
    assert order[:3] == ["title", "keywords/1", "preheader"] and order[-1] == "intro/1"
    assert review.state("keywords/1").score == -2.5 and review.state("title").status == "changed"


def test_the_lemmatizers_load_only_when_a_glossary_is_used(workspace, drafted):
    """`--help` and `check` of a workspace without a glossary import neither pymorphy3 nor simplemma (their
    dictionaries take a tenth of a second to seconds to load: bench/glossary.py)."""
    import subprocess
    import sys

    drafted("2024-05", "de", "ru")
    script = ("import sys\nfrom mco_newsletter.cli import main\nsys.argv[0] = 'mco-newsletter'\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(name for name in ('pymorphy3', 'simplemma') if name in sys.modules))")
    for args, said in ((["--help"], "Usage: mco-newsletter"),
                       (["--workspace", str(workspace), "check"], "No problems")):
        result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
        assert said in result.stdout and result.stdout.strip().splitlines()[-1] == "[]", (result.stdout, result.stderr)
    write_glossary(workspace, "en-ru", "source,target\nconscientious objector,сознательный отказчик\n")
    result = subprocess.run([sys.executable, "-c", script, "--workspace", str(workspace), "check"],
                            capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "['pymorphy3', 'simplemma']", result.stdout


@pytest.mark.parametrize("source,translation,flagged", [
    # The source has the term; the translation has neither its target nor its words: the rule is broken.
    ("We help conscientious objectors.", "Wir helfen Verweigerern aus Gewissensgründen.", True),
    # The source lacks the term; the translation names it in the source's words (a translator's gloss): no rule.
    ("We help those who refuse to serve.", "Wir helfen Verweigerern (conscientious objectors).", False),
    # The source has the term and the translation its target, the source's words beside it: kept.
    ("We help conscientious objectors.", "Wir helfen Kriegsdienstverweigerern (conscientious objectors).", False),
    # The source has the term; the translation only copies its words through: broken.
    ("We help conscientious objectors.", "Wir helfen conscientious objectors.", True),
], ids=["term-gone", "gloss-only-in-translation", "kept-with-gloss", "copied-through"])
def test_the_term_is_looked_for_in_the_source(workspace, source, translation, flagged):
    """The glossary asks whether the SOURCE uses a term and then whether the translation has its target: a term's
    source words in the translation neither raise the rule nor satisfy it."""
    from mco_newsletter.glossary import load_glossary

    write_glossary(workspace, "en-de", "source,target\nconscientious objector,Kriegsdienstverweigerer\n")
    glossary = load_glossary(workspace, "en", "de")
    found = glossary.findings(source, translation)
    assert [finding.rule for finding in found] == (["glossary"] if flagged else []), found


def test_check_and_review_look_for_the_term_in_the_source(run, workspace, write_issue):
    """Where the manager and translators see it (check and terminal review): a piece whose source has the term is
    flagged when its translation lacks the target, and a piece whose source lacks it is not, whatever words of the
    term its translation holds."""
    write_glossary(workspace, "en-de", "source,target\nconscientious objector,Kriegsdienstverweigerer\n")
    write_issue("sides", VALID_FRONT + "\nWe help conscientious objectors.\n\nWe help those who refuse to serve.\n")
    approve(workspace, "sides", "de", {"intro/1": "Wir helfen Verweigerern aus Gewissensgründen.",
                                       "intro/2": "Wir helfen Verweigerern (conscientious objectors)."})
    checked = run("check", "sides")
    said = "glossary: “conscientious objector” is translated as “Kriegsdienstverweigerer”"
    assert checked.exit_code == 0 and "(1 warning)" in checked.stdout, checked.output
    assert f"intro/1: {said}" in checked.stderr and "intro/2" not in checked.stderr
    path = workspace / "issues" / "sides" / "de.po"
    path.write_text(path.read_text(encoding="utf-8").replace('msgctxt "intro/', '#, fuzzy\nmsgctxt "intro/'),
                    encoding="utf-8")
    session = run("review", "sides", "--lang", "de", "--translator", "Anna <anna@example.org>", input="s\ns\nq\n")
    first, second = session.stdout.split("[2/2]")
    assert "Wir helfen Verweigerern aus" in first and f"! {said}" in first, session.stdout
    assert "Wir helfen Verweigerern (conscientious" in second and "glossary" not in second, session.stdout
