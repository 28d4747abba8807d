"""Subscriber store figures: import of a 100,000-row CSV (1% bad rows), the same readers as a Mailchimp audience
export, segment query, peak memory.

Run from the repository: python bench/subscribers.py [--rows N]
Targets (issue 4): import under 5 s; segment query over 100,000 active subscribers under 0.3 s.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from mco_newsletter.subscribers.importing import import_csv  # noqa: E402
from mco_newsletter.subscribers.segments import Segment  # noqa: E402
from mco_newsletter.subscribers.store import open_store  # noqa: E402

LANGUAGES = ("en", "de", "ru")
TAGS = ("russia", "donor", "partner", "press", "exile", "lawyer")
DOMAINS = [f"mail{i}.example.org" for i in range(200)] + ["gmail.com", "yandex.ru", "mail.ru", "web.de"]


def make_csv(path: Path, rows: int, seed: int = 1) -> int:
    """Write the CSV; return how many rows are deliberately bad."""
    rng = random.Random(seed)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email,name,language,tags\r\n")
        for number in range(rows):
            email = f"reader.{number}@{rng.choice(DOMAINS)}"
            language = rng.choice(LANGUAGES)
            if rng.random() < 0.01:
                bad += 1
                kind = rng.randrange(3)
                if kind == 0:
                    email = email.replace("@", " at ")
                elif kind == 1:
                    language = "fr"
                else:
                    email = f"reader.{max(number - 1, 0)}@dup.example.org"
                    out.write(f"{email},Dup,en,\r\n")
            tags = "|".join(rng.sample(TAGS, rng.randrange(0, 3)))
            out.write(f"{email},Reader {number},{language},{tags}\r\n")
    return bad


def make_mailchimp(path: Path, rows: int, seed: int = 1) -> None:
    """The same kind of readers as a Mailchimp audience export writes them (tests/imports/README.md)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write('"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,'
                  "LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS,LANGUAGE\n")
        for number in range(rows):
            tags = ",".join(f'""{tag}""' for tag in rng.sample(TAGS, rng.randrange(0, 3)))
            out.write(f'reader.{number}@{rng.choice(DOMAINS)},Reader,{number},2,"2019-03-12 10:22:33",192.0.2.1,'
                      f'"2019-03-12 10:25:01",192.0.2.1,,,,,,,,"2023-01-02 03:04:05",{number},e{number},,'
                      f'"{tags}",{rng.choice(("en", "de", "ru", "pt_BR"))}\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} · Python {platform.python_version()} · "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    folder = Path(tempfile.mkdtemp(prefix="mco-bench-"))
    try:
        csv_path = folder / "readers.csv"
        bad = make_csv(csv_path, args.rows)
        store = open_store(folder / "private" / "subscribers.sqlite3")
        start = time.perf_counter()
        report = import_csv(store, csv_path, languages=LANGUAGES, default_language=None, extra_tags=(),
                            erasure_key=b"k" * 32, resubscribe=False, dry_run=False)
        elapsed = time.perf_counter() - start
        import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"import of {report.rows:,} rows ({bad:,} made bad): {elapsed:.2f} s, {report.added:,} added, "
              f"{report.rejected:,} rejected; target 5 s → {elapsed / 5:.2f}× of target; "
              f"peak resident memory so far {import_rss:.0f} MiB")
        start = time.perf_counter()
        report = import_csv(store, csv_path, languages=LANGUAGES, default_language=None, extra_tags=(),
                            erasure_key=b"k" * 32, resubscribe=False, dry_run=False)
        print(f"re-import of the same file: {time.perf_counter() - start:.2f} s, {report.unchanged:,} unchanged, "
              f"{report.added} added, {report.updated} updated")
        mailchimp = folder / "subscribed_members_export_bench.csv"
        make_mailchimp(mailchimp, args.rows)
        other = open_store(folder / "other" / "subscribers.sqlite3")
        start = time.perf_counter()
        report = import_csv(other, mailchimp, languages=LANGUAGES, default_language="en", extra_tags=(),
                            erasure_key=b"k" * 32, resubscribe=False, dry_run=False)
        other.close()
        print(f"import of the same number of readers as a Mailchimp export ({report.rows:,} rows, consent times, "
              f"quoted tags, a quarter pt_BR): {time.perf_counter() - start:.2f} s, {report.added:,} added")
        for segment in (Segment("all"), Segment("russia-donors", languages=("ru",), tags_any=("russia", "donor"),
                                                exclude_tags=("press",))):
            start = time.perf_counter()
            count = sum(1 for _ in store.recipients(segment))
            elapsed = time.perf_counter() - start
            start = time.perf_counter()
            full = sum(1 for _ in store.subscribers(segment))
            full_elapsed = time.perf_counter() - start
            print(f"segment {segment.name!r}: {count:,} recipients (id, email, language) in {elapsed:.3f} s, "
                  f"target 0.3 s → {elapsed / 0.3:.2f}× of target; as full records with tags "
                  f"({full:,}, for `subscribers list`): {full_elapsed:.3f} s")
        start = time.perf_counter()
        counts = store.count_by_language(Segment("all"))
        print(f"count by language of 'all' {counts}: {time.perf_counter() - start:.3f} s")
        store.close()
        print(f"peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
