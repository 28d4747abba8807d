"""A Russian-source issue through the whole translation loop, as the organisation lives it, every rule checked."""

from __future__ import annotations

import re
import shutil
import subprocess

from conftest import SAMPLE
from tiny_models import po

INTERVIEW = " ".join(
    f"Вопрос {n}: как вы решили отказаться от службы, и что было дальше в военкомате, суде и дома" +
    ("." if n % 3 else " — долгий ответ без точки, который продолжается и продолжается, пока не кончится место")
    for n in range(1, 19))
ISSUE = f"""---
title: Дайджест июль 2024
date: 2024-07-09
language: ru
preheader: Облавы, суды и горячая линия — 9 июля 2024 г.
keywords: [Призыв, Права человека]
---

Привет, друзья! 😊 Читайте [отчёт](https://example.org/report?id=338&lang=ru) и пишите на help@example.org.

![Акция у военкомата](aktion.png "Акция у военкомата, 2015. Фото: ДСО")

Текст про {{{{ шаблон }}}} и [ссылку с &](https://example.org/a?b=1&c=2).

## Интервью

{INTERVIEW}

## Горячая линия

Новая горячая линия: статья 338 УК, 130 000 человек, счёт FI35 8146 9710 3001 03.
"""


def upper_links_kept(text: str) -> str:
    """What the tiny model makes of source text: upper case, with link targets and addresses as written."""
    out = text.upper()
    for kept in ("https://example.org/report?id=338&lang=ru", "https://example.org/a?b=1&c=2", "help@example.org",
                 "aktion.png"):
        out = out.replace(kept.upper(), kept)
    return out


def test_russian_issue_through_the_whole_loop(run, workspace, models, tmp_path):
    """Translate a Russian issue (links with &, an emoji, {{ }}, a 2,000-character interview, a caption), edit the
    PO as a translator would, approve, break and mend the rules, edit the source, and render."""
    assert len(INTERVIEW) > 2000
    folder = workspace / "issues" / "2024-07"
    folder.mkdir()
    shutil.copy(SAMPLE / "issues" / "2024-05" / "aktion-suedkorea-2015.png", folder / "aktion.png")
    (folder / "issue.md").write_text(ISSUE, encoding="utf-8")
    assert run("check").exit_code == 0

    # Machine drafts: nothing lost, nothing changed that must not change, the long interview whole.
    result = run("translate", "2024-07")
    assert result.exit_code == 0, result.output
    assert "2024-07 [en]: 12 pieces drafted" in result.stdout and "2024-07 [de]: 12 pieces drafted" in result.stdout
    for language in ("en", "de"):
        drafts = {m.context: m.string for m in po(workspace, "2024-07", language)}
        assert not any("⁇" in text for text in drafts.values())
        assert drafts["intro/1"] == upper_links_kept(
            "Привет, друзья! 😊 Читайте [отчёт](https://example.org/report?id=338&lang=ru) и пишите на help@example.org.")
        assert drafts["intro/3"] == upper_links_kept("Текст про {{ шаблон }} и [ссылку с &](https://example.org/a?b=1&c=2).")
        assert drafts["section-1/1"] == INTERVIEW.upper()
        assert drafts["intro/2/caption"] == "АКЦИЯ У ВОЕННКОМАТА, 2015. ФОТО: ДСО".replace("ВОЕННКОМАТА", "ВОЕНКОМАТА")
        assert drafts["keywords/2"] == "ПРАВА ЧЕЛОВЕКА"
    assert run("check").exit_code == 0

    # The English translator edits en.po in a text editor and unticks fuzzy everywhere.
    path = folder / "en.po"
    text = path.read_text(encoding="utf-8")
    text = text.replace('msgstr "ДАЙДЖЕСТ ИЮЛЬ 2024"', 'msgstr "Digest July 2024"')
    text = text.replace('msgstr "ПРАВА ЧЕЛОВЕКА"', 'msgstr "Human rights"')
    text = text.replace('msgstr "АКЦИЯ У ВОЕНКОМАТА, 2015. ФОТО: ДСО"',
                        'msgstr "Protest at the draft office, 2015. Photo: MCO"')
    text = re.sub(r"#, fuzzy, no-python-format", "#, no-python-format", text)
    path.write_text(text, encoding="utf-8")
    check = subprocess.run([shutil.which("msgfmt"), "--check", "-o", "/dev/null", str(path)], capture_output=True)
    assert check.returncode == 0, check.stderr
    assert run("check").exit_code == 0
    assert "en: 12/12 approved, 0 drafts, 0 changed since approval, 0 untranslated — ready" in \
        run("status", "2024-07", "--lang", "en").stdout
    out = tmp_path / "out"
    rendered = run("render", "2024-07", "--lang", "en", "--out", str(out))
    assert rendered.exit_code == 0, rendered.output
    html = (out / "2024-07" / "en.html").read_text(encoding="utf-8")
    assert "Digest July 2024" in html and "😊" in html and "{{ ШАБЛОН }}" in html
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html and "Protest at the draft office, 2015" in html
    assert "Human rights" in html  # the keywords of the edition are the translated ones

    # A careless edit drops the long URL: check names the line, render refuses; the fix brings it back.
    block = re.search(r'msgctxt "intro/1"\n(?:msgid .*\n|".*\n)+(msgstr (?:.*\n)(?:".*\n)*)', text)
    broken = text.replace(block.group(1), 'msgstr "Hi, friends! 😊 Read [the report](https://example.org/report) and '
                                          'write to help@example.org."\n')
    path.write_text(broken, encoding="utf-8")
    line = next(n for n, l in enumerate(broken.splitlines(), 1) if "(https://example.org/report)" in l)
    problems = run("check")
    assert problems.exit_code == 1
    assert f"issues/2024-07/en.po:{line}: intro/1: the link targets differ from the source" in problems.stderr
    assert run("render", "2024-07", "--lang", "en", "--out", str(out)).exit_code == 1

    # An unclosed quote is a path:line error, never text lost.
    unclosed = text.replace('msgstr "Digest July 2024"', 'msgstr "Digest July 2024')
    path.write_text(unclosed, encoding="utf-8")
    line = unclosed.splitlines().index('msgstr "Digest July 2024') + 1
    status = run("status", "2024-07")
    assert status.exit_code == 1 and f"issues/2024-07/en.po:{line}: not a valid PO file" in status.stderr
    path.write_text(text, encoding="utf-8")

    # A one-word source edit: the approved English stays in front of the translator, fuzzy, with the old source.
    (folder / "issue.md").write_text(ISSUE.replace("Новая горячая линия", "Наша новая горячая линия"), encoding="utf-8")
    assert "1 changed since approval" in run("status", "2024-07", "--lang", "en").stdout
    again = run("translate", "2024-07", "--lang", "en")
    assert "0 pieces drafted" in again.stdout and "Model calls: 0" in again.stdout
    entry = next(m for m in po(workspace, "2024-07", "en") if m.context == "section-2/1")
    assert entry.fuzzy and entry.previous_id.startswith("Новая горячая линия")
    assert entry.string == upper_links_kept("Новая горячая линия: статья 338 УК, 130 000 человек, "
                                            "счёт FI35 8146 9710 3001 03.")
    adjusted = "Our new hotline: article 338 of the Criminal Code, 130,000 people, account FI35 8146 9710 3001 03."
    session = run("review", "2024-07", "--lang", "en", "--translator", "Anna <anna@example.org>",
                  input=f"i\n{adjusted}\n")
    assert "Source changed: [-Новая-]{+Наша новая+} горячая линия" in session.stdout
    assert "1 decision saved" in session.stdout
    assert "ready" in run("status", "2024-07", "--lang", "en").stdout
    assert run("check").exit_code == 0
    final = run("render", "2024-07", "--out", str(out))
    assert "2024-07 [en]:" in final.stdout and "2024-07 [de]: skipped, not approved: 0 of 12" in final.stdout
    assert "Our new hotline" in (out / "2024-07" / "en.html").read_text(encoding="utf-8")
