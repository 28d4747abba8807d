"""Moving in from another tool: the exports of Mailchimp, listmonk, Keila and Buttondown in the shapes those tools
write (tests/imports/README.md cites the source of each), column mappings, spreadsheets and encodings."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

EXPORTS = Path(__file__).parent / "imports"
MAILCHIMP = "subscribed_members_export_4f1c2a9e7b.csv"


def exported(workspace, name: str) -> Path:
    """A copy of a fixture export in the workspace (as the person would have downloaded it)."""
    target = workspace / "downloads" / name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(EXPORTS / name, target)
    return target


def shown(run, email: str) -> dict:
    result = run("subscribers", "show", email, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def listed(run, status: str | None = None) -> list[str]:
    result = run("subscribers", "list", "--json", *(["--status", status] if status else []))
    assert result.exit_code == 0, result.output
    return sorted(s["email"] for s in json.loads(result.stdout))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.stores
def test_a_mailchimp_export_is_imported(run, workspace):
    """A Mailchimp audience export comes in (it was refused with "no 'email' column"), its format named."""
    result = run("subscribers", "import", str(exported(workspace, MAILCHIMP)), "--default-language", "en")
    assert "no 'email' column" not in result.output
    assert result.exit_code == 0, result.output
    assert "Mailchimp audience export" in result.stdout
    anna = shown(run, "anna.petrova@example.org")
    assert anna["name"] == "Anna Petrova" and anna["language"] == "ru" and anna["status"] == "active"


@pytest.mark.stores
def test_an_xlsx_workbook_gets_a_clear_message(run, workspace):
    """An Excel workbook, even named .csv, is refused in plain words by its content, exit 1, no traceback."""
    openpyxl = pytest.importorskip("openpyxl")

    book = openpyxl.Workbook()
    book.active.append(["email", "language"])
    book.active.append(["a@example.org", "en"])
    for name in ("people.xlsx", "people.csv"):
        book.save(workspace / name)
        result = run("subscribers", "import", str(workspace / name))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"{name} is a spreadsheet (an Excel workbook), not CSV: save it as CSV (UTF-8) first" in result.stderr


@pytest.mark.stores
def test_mailchimp_subscribed_file_keeps_consent_and_reports_languages(run, workspace):
    """OPTIN_TIME and CONFIRM_TIME become the consent record; LANGUAGE codes map (pt_BR, fr go to the default and
    are listed); names join; tags come from TAGS; the IP columns are not kept."""
    path = exported(workspace, MAILCHIMP)
    result = run("subscribers", "import", str(path), "--default-language", "en")
    assert result.exit_code == 0, result.output
    assert (f"as a Mailchimp audience export (recognised by its columns Email Address, OPTIN_TIME)"
            in result.stdout)
    assert "Read 6 rows: 6 imported (6 added)." in result.stdout
    assert ("3 rows without one of the newsletter's languages got en (--default-language): "
            "pt_BR (1), no language (1), fr (1)." in result.stdout)
    assert "OPTIN_IP" in result.stderr and "Ignored columns:" in result.stderr
    anna = shown(run, "anna.petrova@example.org")
    assert anna["consent_at"] == "2019-03-12T10:25:01+00:00"
    assert anna["consent_source"] == (f"Mailchimp import of {MAILCHIMP} "
                                      "(opted in 2019-03-12 10:22 UTC, confirmed 2019-03-12 10:25 UTC)")
    assert anna["tags"] == ["donor", "russia"]
    boris = shown(run, "boris@example.org")
    assert boris["language"] == "de" and boris["consent_at"] == "2021-06-01T08:00:00+00:00"
    assert boris["consent_source"].endswith("(confirmed 2021-06-01 08:00 UTC)")
    assert shown(run, "carla@example.net")["language"] == "en"
    assert shown(run, "dana@example.org")["name"] == "Dana O'Neil, Jr."
    everything = run("subscribers", "export").stdout
    assert "192.0.2.10" not in everything and "198.51.100.7" not in everything and "52.52" not in everything


@pytest.mark.stores
def test_mailchimp_languages_without_a_default_are_rejected_by_line(run, workspace):
    """Without --default-language, a language that is not the newsletter's rejects its row, said at its line."""
    path = exported(workspace, MAILCHIMP)
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert f"{MAILCHIMP}:4: unknown language 'pt_BR'" in result.stderr
    assert f"{MAILCHIMP}:6: no language" in result.stderr and f"{MAILCHIMP}:7: unknown language 'fr'" in result.stderr
    assert listed(run) == ["anna.petrova@example.org", "boris@example.org", "dana@example.org"]


@pytest.mark.stores
def test_people_who_left_mailchimp_never_come_back_active(run, workspace):
    """The unsubscribed and cleaned files keep those people as unsubscribed and bounced: no later import, even with
    --resubscribe, makes them active; a reader here whose consent is older than the unsubscribe is marked; one who
    consented here since stays."""
    old = write(workspace / "old.csv", "email,language,consent_at\nback.again@example.org,de,2018-04-04 04:05:00\n")
    assert run("subscribers", "import", str(old)).exit_code == 0
    assert run("subscribers", "add", "Gone@example.org", "--language", "ru").exit_code == 0  # consented here today
    result = run("subscribers", "import", str(exported(workspace, "unsubscribed_members_export_4f1c2a9e7b.csv")))
    assert result.exit_code == 0, result.output
    assert "Marked as having left (the file says so, after their consent here): 1 unsubscribed." in result.stdout
    assert "Left active: 1 reader whose consent here is newer" in result.stdout
    assert shown(run, "back.again@example.org")["status"] == "unsubscribed"
    assert shown(run, "gone@example.org")["status"] == "active"
    cleaned = run("subscribers", "import", str(exported(workspace, "cleaned_members_export_4f1c2a9e7b.csv")))
    assert "Kept as having left, so that no later import brings them back: 1 bounced." in cleaned.stdout
    nobody = shown(run, "nobody.here@example.org")
    assert nobody["status"] == "bounced" and nobody["consent_at"] == "2017-07-07T07:07:07+00:00"
    again = write(workspace / "fair.csv", "email,language\nnobody.here@example.org,en\nback.again@example.org,de\n")
    assert "2 left unsubscribed/bounced/complained" in run("subscribers", "import", str(again)).stdout
    for path in (workspace / "downloads").iterdir():
        assert run("subscribers", "import", str(path), "--resubscribe", "--default-language", "en").exit_code == 0
    assert listed(run, "bounced") == ["nobody.here@example.org"]
    assert listed(run, "unsubscribed") == ["back.again@example.org"]
    assert "nobody.here@example.org" not in listed(run, "active")


@pytest.mark.stores
def test_an_erased_person_stays_erased_whatever_the_export_says(run, workspace):
    """An erased address is not re-added, not even as a person who left."""
    assert run("subscribers", "erase", "back.again@example.org", "--yes").exit_code == 0
    result = run("subscribers", "import", str(exported(workspace, "unsubscribed_members_export_4f1c2a9e7b.csv")),
                 "--json")
    assert json.loads(result.stdout)["erased"] == 1
    assert listed(run) == ["gone@example.org"]


@pytest.mark.stores
def test_listmonk_export(run, workspace):
    """listmonk's export (uuid, email, name, attributes, status, created_at, updated_at): a blocklisted or disabled
    subscriber is kept as unsubscribed (the file was read as the tool's own columns and both came back active);
    the language comes from the attributes, the consent time from created_at."""
    path = exported(workspace, "listmonk-subscribers.csv")
    result = run("subscribers", "import", str(path), "--default-language", "en")
    assert result.exit_code == 0, result.output
    assert listed(run, "active") == ["ivan@example.org", "lena@example.org"]
    assert listed(run, "unsubscribed") == ["blocked@example.org", "paused@example.org"]
    assert "as a listmonk subscriber export (recognised by its columns uuid, email, attributes, status)" in result.stdout
    assert "Kept as having left, so that no later import brings them back: 2 unsubscribed." in result.stdout
    lena, ivan = shown(run, "lena@example.org"), shown(run, "ivan@example.org")
    assert lena["language"] == "de" and lena["name"] == "Lena Schmidt"
    assert lena["consent_at"] == "2024-03-05T10:22:33+00:00"
    assert lena["consent_source"] == "listmonk import of listmonk-subscribers.csv (added to listmonk 2024-03-05 10:22 UTC)"
    assert ivan["language"] == "ru" and ivan["name"] == "Иван Петров" and ivan["consent_at"] == "2023-11-20T15:00:00+00:00"


@pytest.mark.stores
def test_keila_export(run, workspace):
    """Keila's export (Email, First name, Last name, Data, Status, External ID; CRLF): unreachable is bounced."""
    result = run("subscribers", "import", str(exported(workspace, "keila-contacts.csv")), "--default-language", "ru")
    assert result.exit_code == 0, result.output
    assert shown(run, "left@example.org")["status"] == "unsubscribed"
    assert shown(run, "bounce@example.org")["status"] == "bounced"
    assert "as a Keila contact export" in result.stdout
    kira = shown(run, "kira@example.org")
    assert kira["name"] == "Kira Wolf" and kira["language"] == "de"
    assert kira["consent_source"] == "Keila import of keila-contacts.csv (Keila's export holds no consent time)"
    assert shown(run, "olga@example.org")["language"] == "ru"
    assert shown(run, "left@example.org")["status"] == "unsubscribed"
    assert shown(run, "bounce@example.org")["status"] == "bounced"


@pytest.mark.stores
def test_buttondown_export(run, workspace):
    """Buttondown's export: subscriber types map to statuses, unactivated people are not imported (counted), tags
    are separated by ';', the name and language come from the metadata."""
    result = run("subscribers", "import", str(exported(workspace, "buttondown-subscribers.csv")),
                 "--default-language", "en")
    assert result.exit_code == 0, result.output
    assert listed(run, "active") == ["liz@example.org", "pyotr@example.org"]
    assert "never.confirmed@example.org" not in listed(run)
    assert "as a Buttondown subscriber export" in result.stdout
    assert "Not imported: 1 never confirmed their subscription (Buttondown: unactivated)." in result.stdout
    liz = shown(run, "liz@example.org")
    assert liz["name"] == "Liz" and liz["tags"] == ["corporate", "press"] and liz["status"] == "active"
    assert liz["consent_at"] == "2024-03-13T00:03:09+00:00"
    assert shown(run, "pyotr@example.org")["consent_at"] == "2023-05-01T10:30:00+00:00"
    assert shown(run, "quit@example.org")["status"] == "unsubscribed"
    assert shown(run, "complainer@example.org")["status"] == "complained"
    assert shown(run, "gone.away@example.org")["status"] == "bounced"


@pytest.mark.stores
def test_from_names_the_format_or_says_what_is_missing(run, workspace):
    """--from reads the file as that tool's export, or refuses naming the columns it lacks."""
    path = exported(workspace, MAILCHIMP)
    wrong = run("subscribers", "import", str(path), "--from", "keila")
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output
    assert "is not" not in wrong.stderr and "not a Keila contact export: it has no column 'email' and 'data'" in wrong.stderr
    right = run("subscribers", "import", str(path), "--from", "mailchimp", "--default-language", "en", "--dry-run")
    assert right.exit_code == 0 and "as a Mailchimp audience export." in right.stdout
    bad = run("subscribers", "import", str(path), "--from", "substack")
    assert bad.exit_code == 2


GERMAN = ("E-Mail-Adresse;Vorname;Nachname;Sprache;Interessen;Notiz\n"
          "marta@example.org;Marta;Keller;Deutsch;Presse, Spende;am Stand\n"
          "oleg@example.org;Oleg;;Russisch;;\n"
          "nina@example.org;Nina;;Plattdeutsch;Presse;\n")


def test_column_mapping_dry_run_shows_mapping_and_first_rows(run, workspace):
    """--column maps any CSV; the dry run shows the mapping and the first rows as they would be imported, and
    changes nothing."""
    path = write(workspace / "liste.csv", GERMAN, encoding="utf-8-sig")
    args = ("subscribers", "import", str(path), "--column", "email=E-Mail-Adresse", "--column", "first_name=Vorname",
            "--column", "last_name=Nachname", "--column", "language=Sprache", "--column", "tags=Interessen")
    dry = run(*args, "--dry-run", "--default-language", "en")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert f"Reading {path} as CSV with columns mapped by --column." in lines or \
        any(line.endswith("as CSV with columns mapped by --column.") for line in lines)
    assert '  email       ← "E-Mail-Adresse"' in lines
    assert '  name        ← "Vorname" + "Nachname"' in lines
    assert '  language    ← "Sprache"' in lines
    assert "  tags        ← \"Interessen\" (separated by '|')" in lines
    assert ("  line 2: marta@example.org · name 'Marta Keller' · de · tags Presse, Spende · active · "
            "consent: the time of the import · source 'import of liste.csv'") in lines
    assert any(line.startswith("  line 3: oleg@example.org · name 'Oleg' · ru ·") for line in lines)
    assert "1 row without one of the newsletter's languages got en (--default-language): Plattdeutsch (1)." in lines
    assert "Ignored columns: Notiz" in dry.stderr
    assert listed(run) == []


@pytest.mark.stores
def test_mapping_file(run, workspace):
    """A mapping file names the columns, the tag separator and the file's own language values."""
    path = write(workspace / "liste.csv", GERMAN)
    mapping = write(workspace / "liste.toml", 'email = "E-Mail-Adresse"\nname = "Vorname"\nlanguage = "Sprache"\n'
                                              'tags = "Interessen"\ntag_separator = ","\n\n'
                                              '[languages]\nPlattdeutsch = "de"\n')
    result = run("subscribers", "import", str(path), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert "as CSV with columns mapped by liste.toml." in result.stdout
    assert shown(run, "marta@example.org")["tags"] == ["Presse", "Spende"]
    assert shown(run, "nina@example.org")["language"] == "de"
    assert shown(run, "oleg@example.org")["language"] == "ru"
    broken = write(workspace / "broken.toml", 'email = "Mail"\nfarbe = "blau"\n')
    refused = run("subscribers", "import", str(path), "--mapping", str(broken))
    assert refused.exit_code == 1 and "broken.toml: unknown key 'farbe'" in refused.stderr
    absent = write(workspace / "absent.toml", 'email = "Mail"\n')
    refused = run("subscribers", "import", str(path), "--mapping", str(absent))
    assert refused.exit_code == 1 and "no column 'Mail'" in refused.stderr and "E-Mail-Adresse" in refused.stderr


@pytest.mark.stores
def test_column_mapping_mistakes(run, workspace):
    """A field the tool does not have is a usage error; a header the file does not have names the ones it has."""
    path = write(workspace / "liste.csv", GERMAN)
    unknown = run("subscribers", "import", str(path), "--column", "phone=Telefon")
    assert unknown.exit_code == 2 and "FIELD one of email, name" in unknown.stderr
    missing = run("subscribers", "import", str(path), "--column", "email=Mail")
    assert missing.exit_code == 1 and "no column 'Mail' (--column email='Mail'); found: E-Mail-Adresse" in missing.stderr
    nothing = run("subscribers", "import", str(path))
    assert nothing.exit_code == 1 and "no 'email' column (found: E-Mail-Adresse, Vorname" in nothing.stderr
    assert '--column email="E-Mail-Adresse"' in nothing.stderr


@pytest.mark.stores
def test_import_json_report(run, workspace):
    """--json prints the report alone on stdout: the format, the mapping, the counts, the rejects by line."""
    path = exported(workspace, MAILCHIMP)
    dry = run("subscribers", "import", str(path), "--json", "--dry-run", "--default-language", "de")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["format"]["tool"] == "mailchimp" and report["format"]["recognised_by"] == ["Email Address", "OPTIN_TIME"]
    assert report["format"]["mapping"]["name"] == '"First Name" + "Last Name"'
    assert report["dry_run"] is True and report["rows"] == 6 and report["added"] == 6
    assert report["unmapped_languages"] == {"default_language": "de",
                                            "values": {"pt_BR": 1, "no language": 1, "fr": 1}}
    assert report["first_rows"][0]["email"] == "anna.petrova@example.org"
    assert report["first_rows"][0]["consent_at"] == "2019-03-12T10:25:01+00:00"
    assert listed(run) == []
    real = run("subscribers", "import", str(path), "--json")
    assert real.exit_code == 1
    report = json.loads(real.stdout)
    assert report["rejects"] == [{"line": 4, "reason": report["rejects"][0]["reason"]},
                                 {"line": 6, "reason": "no language (give a language column or --default-language)"},
                                 {"line": 7, "reason": report["rejects"][2]["reason"]}]
    assert report["rejects"][0]["reason"].startswith("unknown language 'pt_BR'")
    assert report["rejects_file"].endswith("private/rejects/subscribed_members_export_4f1c2a9e7b.rejects.csv")
    assert "first_rows" not in report and report["added"] == 3


@pytest.mark.stores
def test_own_export_moves_with_its_statuses(run, workspace, tmp_path):
    """The tool's own export imported elsewhere keeps who left and the consent record (everyone came back active)."""
    run("subscribers", "add", "stay@example.org", "--language", "de", "--consent", "form at the fair")
    run("subscribers", "add", "left@example.org", "--language", "ru")
    run("subscribers", "unsubscribe", "left@example.org")
    out = workspace / "everything.csv"
    assert run("subscribers", "export", "--out", str(out)).exit_code == 0
    before = shown(run, "stay@example.org")
    keys = {path.name: path.read_bytes() for path in (workspace / "private").glob("*.key")}
    shutil.rmtree(workspace / "private")
    if os.environ.get("MCO_NEWSLETTER_DB"):  # the same shared store: a host of it has its keys
        (workspace / "private").mkdir(mode=0o700)
        for name, key in keys.items():
            (workspace / "private" / name).write_bytes(key)
            (workspace / "private" / name).chmod(0o600)
    result = run("subscribers", "import", str(out))
    assert result.exit_code == 0, result.output
    assert shown(run, "left@example.org")["status"] == "unsubscribed"
    after = shown(run, "stay@example.org")
    assert after["consent_source"] == "form at the fair" and after["consent_at"] == before["consent_at"]


@pytest.mark.parametrize("library,name,kind", [
    ("openpyxl", "people.xlsx", "an Excel workbook"),
    ("odf", "people.ods", "an OpenDocument spreadsheet"),
    ("xlwt", "people.xls", "an Excel 97-2003 workbook"),
])
@pytest.mark.stores
def test_spreadsheets_written_by_spreadsheet_libraries(run, workspace, library, name, kind):
    """Workbooks as spreadsheet programs write them, recognised by their content even under a .csv name."""
    pytest.importorskip(library)
    for target in (workspace / name, workspace / "renamed.csv"):
        _spreadsheet(library, target)
        result = run("subscribers", "import", str(target))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"{target.name} is a spreadsheet ({kind}), not CSV: save it as CSV (UTF-8) first" in result.stderr
        assert "hint: in Excel: File › Save As › \"CSV UTF-8 (Comma delimited)\"" in result.stderr


def _spreadsheet(library: str, target: Path) -> None:
    rows = [["email", "language"], ["a@example.org", "en"]]
    if library == "openpyxl":
        import openpyxl

        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.save(target)
    elif library == "odf":
        from odf.opendocument import OpenDocumentSpreadsheet
        from odf.table import Table, TableCell, TableRow
        from odf.text import P

        document = OpenDocumentSpreadsheet()
        table = Table(name="Readers")
        for row in rows:
            line = TableRow()
            for value in row:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
                line.addElement(cell)
            table.addElement(line)
        document.spreadsheet.addElement(table)
        document.save(str(target))
    else:
        import xlwt

        book = xlwt.Workbook()
        sheet = book.add_sheet("Readers")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        book.save(str(target))


@pytest.mark.stores
def test_numbers_documents_and_zip_archives(run, workspace):
    """A Numbers document (a package folder, or a single-file zip) and Mailchimp's .zip are named as what they are."""
    import zipfile

    package = workspace / "people.numbers"
    (package / "Index").mkdir(parents=True)
    result = run("subscribers", "import", str(package))
    assert result.exit_code == 1 and "people.numbers is a spreadsheet (a Numbers document), not CSV" in result.stderr
    single = workspace / "single.numbers"
    with zipfile.ZipFile(single, "w") as archive:
        archive.writestr("Index/Document.iwa", b"\x00" * 16)
    assert "single.numbers is a spreadsheet (a Numbers document)" in run("subscribers", "import", str(single)).stderr
    export = workspace / "audience.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for name in (MAILCHIMP, "unsubscribed_members_export_4f1c2a9e7b.csv"):
            archive.write(EXPORTS / name, name)
    result = run("subscribers", "import", str(export))
    assert result.exit_code == 1
    assert f"audience.zip is a zip archive of CSV files ({MAILCHIMP}, unsubscribed_members_export" in result.stderr
    assert "hint: unpack it and import each file" in result.stderr


@pytest.mark.stores
def test_utf16_text_from_excel(run, workspace):
    """Excel's "Unicode Text" (UTF-16 with a byte-order mark, tab-separated) and UTF-16 without the mark come in."""
    text = "email\tname\tlanguage\nанна@пример.рф\tАнна\tru\nb@example.org\tBee\tde\n"
    write(workspace / "unicode.txt", text.replace("\n", "\r\n"), encoding="utf-16")
    result = run("subscribers", "import", str(workspace / "unicode.txt"))
    assert result.exit_code == 0, result.output
    assert shown(run, "анна@пример.рф")["name"] == "Анна"
    write(workspace / "plain.csv", "email,language\nc@example.org,en\n", encoding="utf-16-le")
    assert run("subscribers", "import", str(workspace / "plain.csv")).exit_code == 0
    assert listed(run) == ["b@example.org", "c@example.org", "анна@пример.рф"]
    write(workspace / "binary.csv", "email\x00\x00\x00\x01,language\n")
    refused = run("subscribers", "import", str(workspace / "binary.csv"))
    assert refused.exit_code == 1 and "binary.csv is not a text file" in refused.stderr


@pytest.mark.stores
def test_broken_values_in_an_export(run, workspace):
    """A time that is not one rejects its row at its line; metadata nested past reason, or too long, is set aside
    (its name and language with it), never a traceback."""
    header = (EXPORTS / MAILCHIMP).read_text(encoding="utf-8").splitlines()[0]
    bad_time = write(workspace / "subscribed_members_export_x.csv", header + "\n" +
                     'x@example.org,X,,,2,"2019-13-12 10:22:33",,"2019-03-12 10:25:01",,,,,,,,,,1,e1,,,en\n')
    result = run("subscribers", "import", str(bad_time))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "subscribed_members_export_x.csv:2: OPTIN_TIME '2019-13-12 10:22:33' is not a time" in result.stderr
    with (EXPORTS / "buttondown-subscribers.csv").open(encoding="utf-8", newline="") as handle:
        header, first, second = list(csv.reader(handle))[:3]
    first[-1], second[-1] = "[" * 60_000, "{'name': '" + "x" * 70_000 + "'}"  # deep; and longer than is read
    deep = workspace / "buttondown.csv"
    with deep.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, first, second])
    result = run("subscribers", "import", str(deep), "--default-language", "de")
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert shown(run, "liz@example.org")["language"] == "de" and shown(run, "liz@example.org")["name"] is None
    assert shown(run, "pyotr@example.org")["name"] is None
