"""Reading a subscriber file, before the store: the tool's own columns against a Mailchimp audience export of as
many readers (consent times, quoted tags, languages to map). Process CPU time, best of --runs, so that other work
on the machine counts less than in wall time.

Run from the repository: python bench/import_formats.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from subscribers import LANGUAGES, make_csv, make_mailchimp  # noqa: E402

from mco_newsletter.subscribers.import_files import opened_text  # noqa: E402
from mco_newsletter.subscribers.import_shape import Choices  # noqa: E402
from mco_newsletter.subscribers.import_reading import read_header, read_rows  # noqa: E402


def read_csv(path: Path, **options):
    """Read and check every row of the file as an import does, before the store (nothing is staged)."""
    with opened_text(path) as (stream, delimiter, first_line):
        reader, report = read_header(path, stream, delimiter, first_line, choices=Choices())
        for _ in read_rows(path, reader, report, **options):
            pass
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mco-bench-"))
    try:
        own, mailchimp = folder / "readers.csv", folder / "subscribed_members_export_bench.csv"
        make_csv(own, args.rows)
        make_mailchimp(mailchimp, args.rows)
        for label, path in (("the tool's own columns", own), ("a Mailchimp audience export", mailchimp)):
            best = float("inf")
            for _ in range(args.runs):
                start = time.process_time()
                report = read_csv(path, languages=LANGUAGES, default_language="en", extra_tags=())
                best = min(best, time.process_time() - start)
            print(f"{label}: {report.rows:,} rows read and checked in {best:.2f} s of CPU (best of {args.runs})")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
