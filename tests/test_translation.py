"""The translation loop with a real (tiny) Argos package: models, drafts, markup, long pieces, merges, memory,
pivot, progress, engine errors, gating of render, send and the archive."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import VALID_FRONT
from tiny_models import approve_all, po


def test_models_list_and_install(run, package_files, tmp_path, monkeypatch):
    """`models install --file` says what it is doing and installs into the packages folder; pairs are listed."""
    folder = tmp_path / "argos-packages"
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(folder))
    for pair in (("en", "de"), ("de", "en")):
        result = run("models", "install", "--file", str(package_files[pair]))
        assert result.exit_code == 0, result.output
        name = f"translate-{pair[0]}_{pair[1]}-1_0"
        assert f"Checking {name}.argosmodel" in result.stderr
        assert f"Installing {pair[0]}→{pair[1]} into {folder}" in result.stderr
        assert re.search(rf"Installed .* in .*{name} \([\d.]+ s\)", result.stdout)
    listing = run("models", "list")
    assert "en → de  1.0" in listing.stdout and "de → en  1.0" in listing.stdout
    assert "en → ru" not in listing.stdout
    assert (folder / "translate-en_de-1_0" / "model" / "model.bin").is_file()


@pytest.mark.parametrize("kind", ["garbage", "no_model", "no_metadata", "wrong_type"])
def test_bad_package_files(run, tmp_path, kind, monkeypatch):
    """A corrupt or mismatched package file is a clear error and installs nothing."""
    import zipfile

    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    path = tmp_path / "bad.argosmodel"
    if kind == "garbage":
        path.write_bytes(b"PK\x03\x04 this is not a zip")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            meta = {"from_code": "en", "to_code": "de", "type": "translate" if kind != "wrong_type" else "sbd"}
            if kind != "no_metadata":
                archive.writestr("pkg/metadata.json", json.dumps(meta))
            archive.writestr("pkg/sentencepiece.model", b"x")
            if kind != "no_model":
                archive.writestr("pkg/model/model.bin", b"x")
    result = run("models", "install", "--file", str(path))
    assert result.exit_code == 1
    expected = {"garbage": "not a zip file", "no_model": "lacks model/model.bin", "no_metadata": "no metadata.json",
                "wrong_type": "does not describe a translation package"}[kind]
    assert expected in result.stderr and "Traceback" not in result.output
    assert "none" in run("models", "list").stdout


def test_install_from_index_offline_names_file(run, tmp_path, monkeypatch):
    """Without the internet, installing from the index fails with a message that names --file."""
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "argos-packages"))
    result = run("models", "install", "en", "de")
    assert result.exit_code == 1
    assert "--file" in result.stderr and "Traceback" not in result.output


def test_drafts_are_written_fuzzy_and_pass_msgfmt(run, workspace, models):
    """translate writes one PO per other language, every entry a fuzzy machine draft naming the engine."""
    result = run("translate", "2024-05")
    assert result.exit_code == 0, result.output
    catalog = po(workspace, "2024-05", "de")
    entries = [m for m in catalog if m.id]
    contexts = [m.context for m in entries]
    assert contexts[:3] == ["title", "preheader", "keywords/1"]
    assert contexts[12:15] == ["intro/1/alt", "intro/1/caption", "intro/2"]
    assert "section-4/heading" in contexts and len(entries) == 23
    assert all(m.fuzzy and m.string == m.id.upper() for m in entries), [(m.id, m.string) for m in entries][:3]
    assert all(any("machine translation: argos" in c for c in m.notes) for m in entries)
    for language in ("de", "ru"):
        path = workspace / "issues" / "2024-05" / f"{language}.po"
        check = subprocess.run([shutil.which("msgfmt"), "--check", "-o", "/dev/null", str(path)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_round_trip_changes_no_byte(run, workspace, models):
    """Reading a catalog and writing it back gives the same bytes."""
    from mco_newsletter.catalog_files import po_text, read_catalog

    run("translate", "2024-05", "--lang", "ru")
    path = workspace / "issues" / "2024-05" / "ru.po"
    assert po_text(read_catalog(path)).encode("utf-8") == path.read_bytes()


def test_markup_survives(run, workspace, write_issue, models):
    """Link targets, URLs, addresses, an IBAN, numbers and emphasis come back exactly; words are translated."""
    write_issue("markup", VALID_FRONT + """
See *our* [report](https://example.org/r?a=1&b=2 "Report") and https://www.example.org/news, or write to
help@example.org. IBAN: FI35 8146 9710 3001 03, 130,000 people, Article 338, **urgent** \\*not\\* bold.
""")
    assert run("translate", "markup", "--to", "de").exit_code == 0
    [draft] = [m.string for m in po(workspace, "markup", "de") if m.context == "intro/1"]
    assert draft == ("SEE *OUR* [REPORT](https://example.org/r?a=1&b=2 \"Report\") AND https://www.example.org/news, "
                     "OR WRITE TO help@example.org. IBAN: FI35 8146 9710 3001 03, 130,000 PEOPLE, ARTICLE 338, "
                     "**URGENT** \\*NOT\\* BOLD.")


def test_edit_one_paragraph_only_its_entry_changes(run, workspace, models):
    """After approval, editing one paragraph keeps its translation, fuzzy, with the old source as `#| msgid`
    (gettext's convention) and no model call; the rest stays approved; a removed section becomes obsolete."""
    run("translate", "2024-05", "--lang", "de")
    approve_all(workspace, "2024-05", "de")
    approved_text = next(m for m in po(workspace, "2024-05", "de") if m.context == "intro/2").string
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    text = issue_md.read_text(encoding="utf-8")
    text = text.replace("Enjoy reading!", "Enjoy reading, friends!")
    text = text[: text.index("## In Krasnodar")]  # drop the last section
    issue_md.write_text(text, encoding="utf-8")
    result = run("translate", "2024-05", "--to", "de")
    assert "0 pieces drafted, 20 kept, 1 changed in the source" in result.stdout
    assert "Model calls: 0 (0 sentences)" in result.stdout
    catalog = po(workspace, "2024-05", "de")
    entries = {m.context: m for m in catalog if m.id}
    changed = entries["intro/2"]
    assert changed.fuzzy and changed.string == approved_text and changed.id.endswith("Enjoy reading, friends!")
    assert changed.previous_id.endswith("Enjoy reading!")
    assert "#| msgid" in (workspace / "issues" / "2024-05" / "de.po").read_text()
    assert "changed since approval" in changed.notes
    assert all(not m.fuzzy for context, m in entries.items() if context != "intro/2")
    assert any("Krasnodar" in entry.id for entry in catalog.obsolete)
    status = json.loads(run("status", "2024-05", "--json").stdout)["languages"]
    de = next(row for row in status if row["language"] == "de")
    assert (de["approved"], de["machine_drafts"], de["changed"], de["untranslated"], de["ready"]) == (20, 0, 1, 0, False)
    again = run("translate", "2024-05", "--to", "de")
    assert "Model calls: 0" in again.stdout and "unchanged" in again.stdout


def test_translation_memory_across_issues(run, workspace, write_issue, models):
    """An approved translation of identical text in another issue is reused, marked, and costs no model call."""
    run("translate", "2023-12", "--to", "de")
    approve_all(workspace, "2023-12", "de")
    heading = "Protests by mobilised wives are taking place in Russia"
    write_issue("later", VALID_FRONT + f"\nNew intro text.\n\n## {heading}\n\nA new paragraph.\n")
    result = run("translate", "later", "--to", "de")
    assert "2 from translation memory" in result.stdout  # the heading, and the keyword "Russia"
    entry = next(m for m in po(workspace, "later", "de") if m.id == heading)
    assert not entry.fuzzy and entry.string == heading.upper()
    assert "translation memory: approved in issue 2023-12" in entry.notes


def test_pivot_through_english(run, workspace, write_issue, models):
    """German → Russian goes through English when no direct package exists (two calls, one per package)."""
    write_issue("german", VALID_FRONT.replace("language: en", "language: de") + "\nHallo Welt, grüße aus Köln.\n")
    result = run("translate", "german", "--to", "ru")
    assert result.exit_code == 0, result.output
    assert "Model calls: 2" in result.stdout
    entry = next(m for m in po(workspace, "german", "ru") if m.context == "intro/1")
    assert entry.string == "HALLO WELT, GRÜßE AUS KÖLN."
    assert "translate-de_en-1_0" in " ".join(entry.notes) or "de→en" in " ".join(entry.notes)
    assert "en→ru" in " ".join(entry.notes)


def test_no_route_is_a_clear_error(run, workspace, write_issue, models):
    """Without a package for the pair (nor via English), translate says which to install."""
    shutil.rmtree(models / "translate-ru_en-1_0")
    write_issue("russian", VALID_FRONT.replace("language: en", "language: ru") + "\nПривет.\n")
    result = run("translate", "russian", "--to", "de")
    assert result.exit_code == 1 and "no translation package for ru→de" in result.stderr


def test_render_refuses_drafts_and_allow_drafts_marks_them(run, workspace, models, tmp_path):
    """render refuses an unreviewed language; --allow-drafts renders it with a banner and [DRAFT]; approved renders."""
    from email import message_from_bytes
    from email.policy import default

    run("translate", "2024-05", "--to", "de")
    out = tmp_path / "out"
    refused = run("render", "2024-05", "--lang", "de", "--out", str(out))
    assert refused.exit_code == 1 and "the de edition is not approved (0 of 23 pieces approved: 23 drafts)" in refused.stderr
    drafted = run("render", "2024-05", "--lang", "de", "--allow-drafts", "--out", str(out))
    assert drafted.exit_code == 0, drafted.output
    html = (out / "2024-05" / "de.html").read_text()
    assert "Ungeprüfte maschinelle Übersetzung" in html and "MASS RAIDS ON CONSCRIPTS" in html
    message = message_from_bytes((out / "2024-05" / "de.eml").read_bytes(), policy=default)
    assert message["Subject"] == "[DRAFT] DIGEST MAY 2024"
    assert run("render", "2024-05", "--out", str(out)).stdout.count(".html") == 1  # only en is ready
    approve_all(workspace, "2024-05", "de")
    ready = run("render", "2024-05", "--out", str(out))
    assert "2024-05 [de]" in ready.stdout
    assert "Ungeprüfte" not in (out / "2024-05" / "de.html").read_text()


@pytest.mark.stores
def test_send_uses_approved_translations(run, workspace, models):
    """Readers get the edition of their language once it is approved; others the fallback."""
    from email import message_from_bytes
    from email.policy import default

    from test_send import configure, populate

    configure(workspace)
    populate(workspace, 6)
    run("translate", "2024-05")
    approve_all(workspace, "2024-05", "de")
    result = run("send", "2024-05", "--segment", "all", "--yes")
    assert result.exit_code == 0, result.output
    assert "de edition: 2" in result.stdout and "en edition: 4 (of them 2 as fallback)" in result.stdout
    subjects = sorted(str(message_from_bytes(p.read_bytes(), policy=default)["Subject"])
                      for p in (workspace / "private" / "outbox" / "new").iterdir())
    assert subjects == ["DIGEST MAY 2024"] * 2 + ["Digest May 2024"] * 4
    assert re.search(r"digest", " ".join(subjects), re.I)


def test_archive_lists_approved_translations(run, workspace, models, tmp_path):
    """Once a translation is approved the archive has its page, its index entry, its feed entry and a switcher."""
    import feedparser

    run("translate", "2024-05", "--to", "de")
    approve_all(workspace, "2024-05", "de")
    out = tmp_path / "archive"
    assert run("archive", "--out", str(out)).exit_code == 0
    german = (out / "2024-05" / "de.html").read_text()
    assert '<html lang="de"' in german and "MASS RAIDS ON CONSCRIPTS" in german
    english = (out / "2024-05" / "en.html").read_text()
    assert 'href="https://digest.example.org/2024-05/de.html" hreflang="de"' in english
    feed = feedparser.parse((out / "de" / "feed.atom").read_bytes())
    assert [entry.title for entry in feed.entries] == ["DIGEST MAY 2024"]
    assert "2024-05/de.html" in (out / "de" / "index.html").read_text()
    assert not (out / "2023-12" / "de.html").exists()


def test_tiny_model_loses_unknown_characters_and_long_input(package_files, tmp_path):
    """The tiny model fails as real Argos models do: ⁇ for a character it lacks, an error past its positions."""
    import zipfile

    import ctranslate2
    import sentencepiece

    zipfile.ZipFile(package_files["en", "de"]).extractall(tmp_path)
    folder = tmp_path / "translate-en_de-1_0"
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
    translator = ctranslate2.Translator(str(folder / "model"))
    [result] = translator.translate_batch([tokenizer.encode("thanks 😊 all", out_type=str)])
    assert tokenizer.decode(result.hypotheses[0]) == "THANKS  ⁇  ALL"
    with pytest.raises(RuntimeError, match="No position encodings are defined for positions >= 128"):
        translator.translate_batch([tokenizer.encode("word " * 40, out_type=str)])


def test_drafts_are_decoded_as_argos_decodes_and_scored_per_token(package_files, tmp_path):
    """The engine decodes with Argos's length penalty (0.2, where CTranslate2's 1.0 favours longer drafts) and still
    scores a draft per token: the same sentences get the same scores whatever the penalty, and the score is the
    summed log-probability over the tokens (end token counted) that an unpenalised decoding gives."""
    import math
    import zipfile

    from mco_newsletter.translation.engine import EngineSettings, Model
    from mco_newsletter.translation.packages import Package

    zipfile.ZipFile(package_files["en", "de"]).extractall(tmp_path)
    package = Package("en", "de", "1.0", "tiny", tmp_path / "translate-en_de-1_0")
    assert EngineSettings().length_penalty == 0.2
    texts = ["hello world", "The movement helps people who refuse military service, in every city."]
    scored = {penalty: Model(package, EngineSettings(length_penalty=penalty, beam_size=1)).translate(texts)
              for penalty in (0.0, 0.2, 1.0)}
    assert [text for text, _ in scored[0.2]] == ["HELLO WORLD", texts[1].upper()]
    model = Model(package, EngineSettings(beam_size=1))
    sums = [result.scores[0] for result in model.translator.translate_batch(
        model.tokenizer.encode(texts, out_type=str), beam_size=1, length_penalty=0.0, return_scores=True)]
    lengths = [len(tokens) + 1 for tokens in model.tokenizer.encode(texts)]  # the tiny model copies piece by piece
    expected = [total / length for total, length in zip(sums, lengths)]
    assert all(score < 0 for score in expected) and lengths[1] > 4 * lengths[0]
    for penalty, drafts in scored.items():
        assert all(math.isclose(score, want, rel_tol=1e-3) for (_, score), want in zip(drafts, expected)), penalty


def test_emoji_and_unknown_characters_come_back_in_place(run, workspace, write_issue, models):
    """Characters outside the model's vocabulary are kept out of it and put back where they stood: no ⁇."""
    write_issue("emoji", VALID_FRONT + "\nThanks 😊 for reading — 你好 and ⛔️ stop, 👍🏽!\n")
    assert run("translate", "emoji", "--lang", "de").exit_code == 0
    [draft] = [m.string for m in po(workspace, "emoji", "de") if m.context == "intro/1"]
    assert draft == "THANKS 😊 FOR READING — 你好 AND ⛔️ STOP, 👍🏽!"


def test_long_piece_translates(run, workspace, write_issue, models):
    """A 2,000-character paragraph with a sentence far past the model's 128 positions is split and translated whole."""
    sentence = " ".join(f"word{n} and more" for n in range(40))  # ~600 characters without a full stop
    paragraph = (sentence + ". " + "Short sentence here, with a [link](https://example.org/a?b=1&c=2). " * 20
                 + "x" * 300 + " end.")
    assert len(paragraph) > 2000
    write_issue("long", VALID_FRONT + "\n" + paragraph + "\n")
    result = run("translate", "long", "--lang", "de")
    assert result.exit_code == 0, result.output
    [draft] = [m.string for m in po(workspace, "long", "de") if m.context == "intro/1"]
    assert draft == paragraph.upper().replace("HTTPS://EXAMPLE.ORG/A?B=1&C=2", "https://example.org/a?b=1&c=2")


def test_engine_error_names_the_piece_and_keeps_what_was_translated(run, workspace, write_issue, models):
    """When the model fails on a piece, translate says which, exits 1 and keeps the drafts made before it;
    a second run continues from there."""
    from conftest import set_setting

    set_setting(workspace, "batch_size = 32", "batch_size = 1\nmax_input_tokens = 1000")
    write_issue("fails", VALID_FRONT + "\nFirst paragraph.\n\n" + "word " * 60 + "\n\nThird paragraph.\n")
    result = run("translate", "fails", "--lang", "de")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("Error: issues/fails/issue.md:11: the translation engine failed on intro/2 (en→de): "
            "No position encodings are defined for positions >= 128") in result.stderr
    assert "the 4 drafts made before it are saved in de.po" in result.stderr
    entries = {m.context: m for m in po(workspace, "fails", "de")}
    assert entries["intro/1"].string == "FIRST PARAGRAPH." and entries["intro/1"].fuzzy
    assert entries["intro/2"].string == "" and entries["intro/3"].string == ""
    set_setting(workspace, "max_input_tokens = 1000", "max_input_tokens = 0")
    again = run("translate", "fails", "--lang", "de")
    assert again.exit_code == 0, again.output
    assert "2 pieces drafted, 4 kept" in again.stdout


def test_progress_summary_when_not_a_terminal(run, workspace, models):
    """Off a terminal, translate ends with pieces, time and rate per language."""
    result = run("translate", "2024-05")
    assert re.search(r"^de: 23 of 23 pieces translated in [\d.]+ s \([\d.]+ pieces/s\)$", result.stderr, re.M)
    assert re.search(r"^ru: 23 of 23 pieces translated in", result.stderr, re.M)


def test_progress_on_a_terminal(workspace, models):
    """On a terminal, translate shows pieces done of total and the rate while it works."""
    import os
    import sys

    import pexpect

    command = Path(sys.executable).with_name("mco-newsletter")
    child = pexpect.spawn(str(command), ["--workspace", str(workspace), "translate", "2024-05", "--lang", "de"],
                          env={**os.environ, "COLUMNS": "120"}, encoding="utf-8", timeout=120)
    child.expect(r"de: 0/23 pieces translated")
    child.expect(r"de: \d+/23 pieces translated \([\d.]+ pieces/s\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_languages_are_checked_as_usage_errors(run, workspace, models):
    """An unknown language, or the issue's own language, is a usage error (exit 2) in translate, review and status."""
    for args in (("translate", "2024-05", "--lang", "fr"), ("translate", "2024-05", "--to", "fr"),
                 ("review", "2024-05", "--lang", "fr"), ("status", "2024-05", "--lang", "fr"),
                 ("translate", "2024-05", "--lang", "en"), ("review", "2024-05", "--lang", "en")):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    source = run("review", "2024-05", "--lang", "en")
    assert "is written in en" in source.stderr and "review 2024-05 --lang en" not in source.stderr


def test_no_install_hint_through_english_when_english_is_an_end(run, workspace, write_issue, models):
    """Without ru→en, the hint names that package, never 'install en→en'."""
    shutil.rmtree(models / "translate-ru_en-1_0")
    write_issue("russian", VALID_FRONT.replace("language: en", "language: ru") + "\nПривет.\n")
    result = run("translate", "russian", "--lang", "en")
    assert result.exit_code == 1 and "no translation package for ru→en" in result.stderr
    assert "hint: mco-newsletter models install ru en\n" in result.stderr and "en→en" not in result.stderr


def test_models_list_json(run, models):
    """models list --json gives every installed pair."""
    listing = json.loads(run("models", "list", "--json").stdout)
    assert listing["folder"] == str(models)
    assert sorted((p["from"], p["to"]) for p in listing["packages"]) == [("de", "en"), ("en", "de"), ("en", "ru"),
                                                                        ("ru", "en")]


def test_counts_read_right_in_the_singular(run, workspace, write_issue, models):
    """One piece, one sentence, one draft: never '1 pieces'."""
    write_issue("one", VALID_FRONT.replace("keywords: [Russia]", "keywords: []") + "\nHello.\n")
    (workspace / "issues" / "one" / "issue.md").write_text(
        (workspace / "issues" / "one" / "issue.md").read_text().replace("title: Test digest", "title: Hello."))
    first = run("translate", "one", "--lang", "de")
    assert "one [de]: 3 pieces drafted" in first.stdout
    issue_md = workspace / "issues" / "one" / "issue.md"
    issue_md.write_text(issue_md.read_text().replace("\nHello.\n", "\nNew text.\n"))
    second = run("translate", "one", "--lang", "de")
    assert "one [de]: 1 piece drafted" in second.stdout and "Model calls: 1 (1 sentence)" in second.stdout
    status = run("status", "one", "--lang", "de").stdout
    assert "de: 0/3 approved, 3 drafts" in status


def test_status_without_id_shows_every_issue(run, workspace, models):
    """status without an id gives one line per issue; --json lists them all."""
    run("translate", "2024-05", "--lang", "de")
    approve_all(workspace, "2024-05", "de")
    lines = run("status").stdout.splitlines()
    assert lines == ["2023-12: en (source) · de 0/12 · ru 0/12", "2024-05: en (source) · de 23/23 ready · ru 0/23"]
    issues = json.loads(run("status", "--json").stdout)["issues"]
    assert [item["issue"] for item in issues] == ["2023-12", "2024-05"]


def test_render_says_what_it_skipped_and_why(run, workspace, models, tmp_path):
    """render names every edition it leaves out, with the reason."""
    run("translate", "2024-05", "--lang", "de")
    result = run("render", "2024-05", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "2024-05 [de]: skipped, not approved: 0 of 23 pieces approved: 23 drafts" in result.stdout
    assert "2024-05 [ru]: skipped, no translation yet" in result.stdout


def test_interrupted_translation_keeps_its_drafts(settings, workspace, models):
    """Ctrl-C in the middle of translate keeps every draft made until then (the next run continues)."""
    import dataclasses

    from mco_newsletter.translation.drafts import draft_catalogs
    from mco_newsletter.translation.engine import Engine
    from mco_newsletter.workspace import load_issue

    issue = load_issue(settings, "2023-12")
    engine = Engine(dataclasses.replace(settings.translation, batch_size=1))

    def progress(language, done, total):
        if done == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises, wherever the program is

    with pytest.raises(KeyboardInterrupt):
        draft_catalogs(settings, issue, ("de",), engine, progress=progress)
    entries = [m for m in po(workspace, "2023-12", "de")]
    assert [m.context for m in entries if m.string] == ["title", "preheader", "keywords/1"]
    assert all(m.fuzzy for m in entries if m.string)


def test_removed_text_that_comes_back_keeps_its_translation(run, workspace, models):
    """A section removed (obsolete #~ entries) and put back later gets its approved translation back, no model call."""
    run("translate", "2024-05", "--lang", "de")
    approve_all(workspace, "2024-05", "de")
    issue_md = workspace / "issues" / "2024-05" / "issue.md"
    original = issue_md.read_text(encoding="utf-8")
    issue_md.write_text(original[: original.index("## In Krasnodar")], encoding="utf-8")
    run("translate", "2024-05", "--lang", "de")
    assert "#~ msgctxt" in (workspace / "issues" / "2024-05" / "de.po").read_text(encoding="utf-8")
    issue_md.write_text(original, encoding="utf-8")
    back = run("translate", "2024-05", "--lang", "de")
    assert "0 pieces drafted, 23 kept" in back.stdout and "Model calls: 0" in back.stdout
    assert "#~" not in (workspace / "issues" / "2024-05" / "de.po").read_text(encoding="utf-8")
    assert "de: 23/23 approved" in run("status", "2024-05", "--lang", "de").stdout


def test_translate_json_says_what_was_drafted_per_language(run, workspace, models):
    """translate --json: per language the pieces drafted and kept, the catalog and whether it was written."""
    first = run("translate", "2024-05", "--lang", "de", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    [de] = report["languages"]
    assert report["issue"] == "2024-05" and de["language"] == "de"
    assert (de["drafted"], de["kept"], de["written"]) == (23, 0, True)
    assert de["path"].endswith("issues/2024-05/de.po") and report["model_calls"] > 0
    again = json.loads(run("translate", "2024-05", "--lang", "de", "--json").stdout)
    assert (again["languages"][0]["drafted"], again["languages"][0]["kept"], again["languages"][0]["written"]) == \
        (0, 23, False)


def test_status_and_review_take_language_as_render_does(run, workspace, models):
    """status and review accept --language (and --lang), as render does."""
    run("translate", "2024-05", "--lang", "de")
    result = run("status", "2024-05", "--language", "de", "--json")
    assert result.exit_code == 0, result.output
    assert [row["language"] for row in json.loads(result.stdout)["languages"]] == ["de"]
    review = run("review", "2024-05", "--language", "de", input="q\n")
    assert review.exit_code == 0, review.output
    assert "[1/23]" in review.stdout
