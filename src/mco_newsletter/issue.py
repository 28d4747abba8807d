"""One digest as written by the advocacy manager: issues/<id>/issue.md → Issue, with file:line problems."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from .control_characters import CONTROL_RE, control_in_value, control_problems
from .errors import Problem, ProblemsError
from .issue_blocks import Block, Section

ISSUE_FILE = "issue.md"
ISSUE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FRONT_MATTER_KEYS = {
    "title": "the issue's title, e.g. Digest May 2024",
    "date": "the publication date as YYYY-MM-DD",
    "language": "the language the issue is written in, e.g. en",
    "preheader": "one line that mail clients show after the subject",
    "keywords": "a list, e.g. [Conscription, Russia]",
    "closing": "optional: a last paragraph before the donation box",
    "status": "optional: draft (not sent, not in the archive) or published (the default)",
}
STATUSES = ("draft", "published")
REQUIRED_KEYS = ("title", "date", "language", "preheader", "keywords")
# Far past any digest (the longest seed is 12 KB); a 50 MB file would cost minutes and gigabytes to check.
MAX_ISSUE_BYTES = 2_000_000


@dataclass(frozen=True)
class Issue:
    """A digest in its source language, as parsed from issue.md."""

    id: str
    path: Path
    title: str
    date: dt.date
    language: str
    preheader: str
    keywords: tuple[str, ...]
    closing: str | None
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    lines: dict[str, int]
    status: str = "published"  # Pelican's convention: a draft is neither sent nor archived

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def published(self) -> bool:
        return self.status == "published"


def issue_path(issues_dir: Path, issue_id: str) -> Path:
    """Where the issue with this id lives."""
    return issues_dir / issue_id / ISSUE_FILE


def read_issue(path: Path, *, languages: tuple[str, ...] | None = None) -> tuple[Issue | None, list[Problem]]:
    """Parse issue.md; return the Issue (None when unusable) and every problem found."""
    from .front_matter import split_front_matter
    from .issue_body import parse_body

    try:
        data = _read_bytes(path)
    except FileNotFoundError:
        return None, [Problem(path, 0, "no such issue file", "create it with `mco-newsletter new <id>`")]
    except OSError as exc:
        return None, [Problem(path, 0, f"cannot read: {exc.strerror}")]
    if isinstance(data, Problem):
        return None, [data]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Problem(path, line, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")]
    text = text.replace("\r\n", "\n")
    problems: list[Problem] = control_problems(text, path)
    if problems:  # replaced, not removed, so that the parsers below count the same lines and report the rest
        text = CONTROL_RE.sub("\ufffd", text)
    meta, lines, body, offset = split_front_matter(text, path, problems)
    if meta is not None:
        _check_meta(meta, lines, path, languages, problems)
    intro, sections = parse_body(body, offset, path, problems)
    if problems or meta is None:
        return None, problems
    issue = Issue(
        id=path.parent.name,
        path=path,
        title=meta["title"].strip(),
        date=meta["date"],
        language=meta["language"],
        preheader=meta["preheader"].strip(),
        keywords=tuple(k.strip() for k in meta["keywords"]),
        closing=(meta.get("closing") or "").strip() or None,
        intro=intro,
        sections=sections,
        lines=lines,
        status=meta.get("status") or "published",
    )
    return issue, []


def _read_bytes(path: Path) -> bytes | Problem:
    """The file's bytes, or the problem with it: not a regular file, or past the size any digest reaches."""
    import os
    import stat

    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        return Problem(path, 0, "not a regular file", "issue.md is a text file written in an editor")
    if info.st_size > MAX_ISSUE_BYTES:
        return Problem(
            path,
            0,
            f"the issue is {info.st_size / 1e6:.1f} MB; an issue may be at most {MAX_ISSUE_BYTES // 1_000_000} MB",
            "a monthly digest is far shorter: split it, or link to the long texts on the web",
        )
    with path.open("rb") as handle:
        data = handle.read(MAX_ISSUE_BYTES + 1)
    if len(data) > MAX_ISSUE_BYTES:  # it grew while being read
        return Problem(path, 0, f"the issue is larger than {MAX_ISSUE_BYTES // 1_000_000} MB")
    return data


def parse_issue(path: Path, *, languages: tuple[str, ...] | None = None) -> Issue:
    """The Issue at path, or ProblemsError with every problem in it."""
    issue, problems = read_issue(path, languages=languages)
    if problems:
        raise ProblemsError(problems)
    assert issue is not None
    return issue


def _check_meta(
    meta: dict, lines: dict[str, int], path: Path, languages: tuple[str, ...] | None, problems: list[Problem]
) -> None:
    from difflib import get_close_matches

    first = lines.get("", 1)
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            close = get_close_matches(str(key), FRONT_MATTER_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(FRONT_MATTER_KEYS)}"
            problems.append(Problem(path, lines.get(str(key), first), f"unknown front matter key '{key}'", hint))
    for key in REQUIRED_KEYS:
        if key not in meta or meta[key] is None:
            problems.append(
                Problem(
                    path,
                    lines.get(key, first),
                    f"front matter has no '{key}'",
                    f"add `{key}:` — {FRONT_MATTER_KEYS[key]}",
                )
            )
    for key in ("title", "preheader", "closing", "language"):
        value = meta.get(key)
        if value is not None and (not isinstance(value, str) or (key != "closing" and not value.strip())):
            problems.append(
                Problem(path, lines.get(key, first), f"'{key}' must be non-empty text", FRONT_MATTER_KEYS[key])
            )
        elif key in ("title", "preheader") and isinstance(value, str) and "\n" in value.strip():
            # The title becomes the Subject header, which is one line.
            problems.append(Problem(path, lines.get(key, first), f"'{key}' must be one line", None))
        elif isinstance(value, str) and CONTROL_RE.search(value):
            problems.append(control_in_value(path, lines.get(key, first), key, value))
    _check_date(meta, lines, path, first, problems)
    status = meta.get("status")
    if status is not None and status not in STATUSES:
        problems.append(
            Problem(
                path,
                lines.get("status", first),
                f"'status' must be draft or published, not {status!r}",
                FRONT_MATTER_KEYS["status"],
            )
        )
    keywords = meta.get("keywords")
    if keywords is not None and (
        not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords)
    ):
        problems.append(
            Problem(
                path, lines.get("keywords", first), "'keywords' must be a list of words", FRONT_MATTER_KEYS["keywords"]
            )
        )
    elif keywords is not None and any(CONTROL_RE.search(k) or "\n" in k for k in keywords):
        bad = next(k for k in keywords if CONTROL_RE.search(k) or "\n" in k)
        problems.append(control_in_value(path, lines.get("keywords", first), "keywords", bad))
    language = meta.get("language")
    if languages is not None and isinstance(language, str) and language not in languages:
        problems.append(
            Problem(
                path,
                lines.get("language", first),
                f"language {language!r} is not one of the newsletter's languages",
                f"use one of {', '.join(languages)} (set in newsletter.toml)",
            )
        )


def _check_date(meta: dict, lines: dict[str, int], path: Path, first: int, problems: list[Problem]) -> None:
    value = meta.get("date")
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return
    if isinstance(value, str):
        try:
            meta["date"] = dt.date.fromisoformat(value.strip())
            return
        except ValueError:
            pass
    problems.append(
        Problem(
            path, lines.get("date", first), f"'date' {value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2024-07-09"
        )
    )
