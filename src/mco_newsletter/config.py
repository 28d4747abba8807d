"""The organisation's settings: newsletter.toml (plus environment) → frozen Settings."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem, ProblemsError, WorkspaceError
from .delivery.settings import SENDING_SCHEMA, SendingSettings
from .translation.engine import EngineSettings
from .schema import Table, locate_key, validate

SETTINGS_FILE = "newsletter.toml"
WORKSPACE_ENV = "MCO_NEWSLETTER_WORKSPACE"
DATABASE_ENV = "MCO_NEWSLETTER_DB"
# Inside /private/, which the workspace's .gitignore keeps out of the content repository.
DEFAULT_DATABASE = "private/subscribers.sqlite3"


@dataclass(frozen=True)
class Sender:
    """Who the email comes from and where replies go."""

    name: str
    address: str
    reply_to: str


@dataclass(frozen=True)
class Donation:
    """Bank details printed in every edition's donation box."""

    iban: str
    bic: str
    holder: str
    bank: str
    purpose: str
    currency: str


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs to know about the organisation."""

    root: Path
    names: dict[str, str]
    languages: tuple[str, ...]
    source_language: str
    base_url: str
    identity: str
    sender: Sender
    donation: Donation
    database_path: Path
    fallback_language: str = ""
    segments: dict = field(default_factory=dict)
    sending: "SendingSettings | None" = None
    webhook_public_key: str | None = None
    webhook_max_age_seconds: float = 300.0
    translation: object = None
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def locales_dir(self) -> Path:
        return self.root / "locales"

    @property
    def private_dir(self) -> Path:
        """The folder of the subscriber database, where the keys are kept too."""
        return self.database_path.parent

    def name_for(self, language: str) -> str:
        """The newsletter's name in a language, falling back to the source language's."""
        return self.names.get(language) or self.names[self.source_language]


def find_workspace(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Path:
    """The folder holding newsletter.toml: given, from the environment, or found upward."""
    given = explicit or os.environ.get(WORKSPACE_ENV)
    if given:
        root = Path(given).expanduser()
        if not (root / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"{root}: no {SETTINGS_FILE} in this folder",
                hint=f"--workspace and {WORKSPACE_ENV} name the folder that holds {SETTINGS_FILE}",
            )
        return root.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise WorkspaceError(
        f"no {SETTINGS_FILE} in {here} or any folder above it",
        hint=f"run inside a workspace, or pass --workspace DIR (or set {WORKSPACE_ENV})",
    )


def read_settings(root: Path) -> tuple[Settings | None, list[Problem]]:
    """Read and validate newsletter.toml; return the settings (None if unusable) and every problem."""
    path = root / SETTINGS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                              "save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(path, 0, f"cannot read: {exc.strerror}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        return None, [Problem(path, line, f"not valid TOML: {exc.args[0] if exc.args else exc}",
                              "see https://toml.io for the syntax")]
    problems = [Problem(path, locate_key(text, key_path), message, hint)
                for key_path, message, hint in validate(data, SETTINGS_SCHEMA)]
    if problems:
        return None, problems
    problems += _cross_checks(data, text, path)
    if problems:
        return None, problems
    return _build(root, data), []


def load_settings(root: Path) -> Settings:
    """Settings of the workspace at root, or ProblemsError listing everything wrong."""
    settings, problems = read_settings(root)
    if problems:
        raise ProblemsError(problems)
    assert settings is not None
    return settings


def _line_from_message(message: str) -> int:
    # Python 3.11's TOMLDecodeError carries the line only in its text: "... (at line 3, column 5)".
    marker = "at line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(",", 1)[0].strip(") ")
        if digits.isdigit():
            return int(digits)
    return 0


def _cross_checks(data: dict, text: str, path: Path) -> list[Problem]:
    from .settings_checks import check_settings_values

    return [Problem(path, locate_key(text, key_path), message, hint)
            for key_path, message, hint in check_settings_values(data)]


def _build(root: Path, data: dict) -> Settings:
    from .delivery.settings import sending_settings
    from .subscribers.segments import segment_from_table

    names = data["name"]
    if isinstance(names, str):
        names = {data["source_language"]: names}
    sender = data["sender"]
    donation = data["donation"]
    return Settings(
        root=root,
        names=dict(names),
        languages=tuple(data["languages"]),
        source_language=data["source_language"],
        base_url=data["base_url"].rstrip("/"),
        identity=data["identity"],
        sender=Sender(sender["name"], sender["address"], sender.get("reply_to", sender["address"])),
        donation=Donation(
            iban=donation["iban"], bic=donation["bic"], holder=donation["holder"],
            bank=donation["bank"], purpose=donation["purpose"], currency=donation["currency"],
        ),
        database_path=_database_path(root, data),
        fallback_language=data.get("fallback_language", data["source_language"]),
        sending=sending_settings(root, data),
        webhook_public_key=os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or data.get("webhook", {}).get("public_key"),
        webhook_max_age_seconds=data.get("webhook", {}).get("max_age_seconds", 300.0),
        # translator (who approves in review) is read by the review command, not the engine.
        translation=EngineSettings(**{k: v for k, v in data.get("translation", {}).items() if k != "translator"}),
        segments={name: segment_from_table(name, table) for name, table in data.get("segments", {}).items()},
        raw=data,
    )


def _database_path(root: Path, data: dict) -> Path:
    # Environment over file over default: one merge, in this order.
    given = os.environ.get(DATABASE_ENV) or data.get("database", {}).get("path") or DEFAULT_DATABASE
    path = Path(given).expanduser()
    return path if path.is_absolute() else root / path


SETTINGS_SCHEMA = Table(
    required={
        "name": (str, dict),
        "languages": list,
        "source_language": str,
        "base_url": str,
        "identity": str,
        "sender": Table(required={"name": str, "address": str}, optional={"reply_to": str}),
        "donation": Table(required={
            "iban": str, "bic": str, "holder": str, "bank": str, "purpose": str, "currency": str,
        }),
    },
    optional={
        "fallback_language": str,
        "translation": Table(optional={"beam_size": int, "threads": int, "batch_size": int,
                                       "max_length_factor": (int, float), "max_length": int,
                                       "compute_type": str, "max_input_tokens": int, "translator": str}),
        **SENDING_SCHEMA,
        "database": Table(optional={"path": str}),
        "segments": Table(each=Table(optional={
            "languages": list, "tags_any": list, "tags_all": list, "exclude_tags": list, "description": str,
        })),
    },
)
