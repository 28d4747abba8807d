"""The organisation's settings: newsletter.toml (plus environment) → frozen Settings.

config sits on the ground floor. It knows the keys every room shares (name, languages, sender,
donation …); each room's own tables are registered in SECTIONS as the room's schema, checks and
builder, imported only when settings are read, so that no room has to be imported to import config.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import Problem, ProblemsError, WorkspaceError
from .localized import Localized
from .schema import Table, locate_key, validate

SETTINGS_FILE = "newsletter.toml"
WORKSPACE_ENV = "MCO_NEWSLETTER_WORKSPACE"
DATABASE_ENV = "MCO_NEWSLETTER_DB"
# Inside /private/, which the workspace's .gitignore keeps out of the content repository.
DEFAULT_DATABASE = "private/subscribers.sqlite3"


@dataclass(frozen=True)
class Sender:
    """Who the email comes from and where replies go."""

    name: Localized  # the From display name; `.of(language)` in the reader's language
    address: str
    reply_to: str


@dataclass(frozen=True)
class Donation:
    """Bank details printed in every edition's donation box."""

    iban: str
    bic: str
    holder: str
    bank: str
    purpose: str  # the bank reference: exactly what the bank matches, the same in every language
    currency: str
    note: Localized | None = None  # the organisation's own words under the bank details


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline needs to know about the organisation."""

    root: Path
    names: dict[str, str]
    languages: tuple[str, ...]
    source_language: str
    base_url: str
    identity: Localized
    sender: Sender
    donation: Donation
    database_path: Path  # the SQLite file; with a database URL, the folder it would be in is still the private folder
    fallback_language: str = ""
    segments: dict = field(default_factory=dict)
    sending: object = None  # delivery.settings.SendingSettings
    webhook_public_key: str | None = None
    webhook_max_age_seconds: float = 300.0
    webhook_retention_days: int = 30  # applied webhook event ids (and bounce mail digests) are kept this long
    translation: object = None  # translation.engine.EngineSettings
    privacy: object = None  # render.privacy.PrivacySettings
    signup: object = None  # subscribers.signup_settings.SignupSettings
    dkim: object = None  # delivery.dkim_keys.DkimSettings, None when [dkim] is absent (mail goes unsigned)
    bounces: object = None  # bounces.settings.BounceSettings, None when [bounces] is absent (no return paths)
    web: object = None  # web.settings.WebSettings: what `serve` believes of a reverse proxy
    postal_address: Localized | None = None  # where the sender can be reached by post, in every footer
    database_url: str | None = None  # a PostgreSQL store (postgresql://…); None: SQLite at database_path
    time_zone: str | None = None  # the organisation's (IANA name): `send --at` is read in it (delivery/send_time.py)
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
        """The folder of the subscriber database (or where it would be, with a database URL): the keys are kept here."""
        return self.database_path.parent

    @property
    def store(self):
        """Where the subscriber store is: storage.location.StoreLocation (a URL, or the SQLite file)."""
        from .storage.location import StoreLocation

        if self.database_url:
            return StoreLocation(url=self.database_url)
        return StoreLocation(path=self.database_path)

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
                for key_path, message, hint in validate(data, settings_schema())]
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
    from .delivery.settings import check_sending_files
    from .settings_checks import check_settings_values

    findings = list(check_settings_values(data))
    for section in sections():
        if section.checks is not None:
            findings += section.checks(data)
    findings += check_sending_files(data, path.parent)  # files named relative to the workspace
    return [Problem(path, locate_key(text, key_path), message, hint) for key_path, message, hint in findings]


def _build(root: Path, data: dict) -> Settings:
    source = data["source_language"]
    names = data["name"]
    if isinstance(names, str):
        names = {source: names}
    sender = data["sender"]
    donation = data["donation"]

    def localized(value) -> Localized | None:
        return None if value is None else Localized(value, source)

    return Settings(
        root=root,
        names=dict(names),
        languages=tuple(data["languages"]),
        source_language=source,
        base_url=data["base_url"].rstrip("/"),
        identity=localized(data["identity"]),
        sender=Sender(localized(sender["name"]), sender["address"], sender.get("reply_to", sender["address"])),
        donation=Donation(
            iban=donation["iban"], bic=donation["bic"], holder=donation["holder"],
            bank=donation["bank"], purpose=donation["purpose"], currency=donation["currency"],
            note=localized(donation.get("note")),
        ),
        database_path=_database_path(root, data),
        database_url=_database_url(data),
        fallback_language=data.get("fallback_language", source),
        webhook_public_key=os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or data.get("webhook", {}).get("public_key"),
        webhook_max_age_seconds=data.get("webhook", {}).get("max_age_seconds", 300.0),
        webhook_retention_days=data.get("webhook", {}).get("retention_days", 30),
        postal_address=localized(data.get("postal_address")),
        raw=data,
        **{section.field: section.build(root, data) for section in sections()},
    )


def _database_path(root: Path, data: dict) -> Path:
    # Environment over file over default: one merge, in this order. A URL in the environment names the store,
    # and the file's path (or the default) still says where the private folder is.
    from .storage.location import looks_like_url

    given = os.environ.get(DATABASE_ENV)
    if not given or looks_like_url(given):
        given = data.get("database", {}).get("path") or DEFAULT_DATABASE
    path = Path(given).expanduser()
    return path if path.is_absolute() else root / path


def _database_url(data: dict) -> str | None:
    """The PostgreSQL URL of the store, from the environment or the file; None: the store is an SQLite file."""
    from .storage.location import looks_like_url, url_problem

    given = os.environ.get(DATABASE_ENV)
    if given:
        if not looks_like_url(given):
            return None  # a path in the environment keeps SQLite, whatever the file says
        problem = url_problem(given)
        if problem:
            raise WorkspaceError(f"{DATABASE_ENV}: {problem}",
                                 hint="a path keeps SQLite; a PostgreSQL store is postgresql://USER@HOST:PORT/DATABASE",
                                 exit_code=2)
        return given
    return data.get("database", {}).get("url") or None


@dataclass(frozen=True)
class Section:
    """A room's part of newsletter.toml: its tables, the checks on their values, the Settings field it builds."""

    field: str
    schema: dict
    checks: object  # (data) -> findings, or None
    build: object  # (root, data) -> the field's value


# Each room's tables: (Settings field, module, its schema, checks and builder). The modules are
# imported when settings are first read, never when config is imported.
REGISTERED = (
    ("sending", ".delivery.settings", "SENDING_SCHEMA", "check_sending", "sending_settings"),
    ("translation", ".settings_sections", "TRANSLATION_SCHEMA", None, "translation_settings"),
    ("segments", ".settings_sections", "SEGMENTS_SCHEMA", "check_segments", "segments"),
    ("privacy", ".render.privacy", "SCHEMA", "check", "build"),
    ("signup", ".subscribers.signup_settings", "SCHEMA", "check", "build"),
    ("dkim", ".delivery.dkim_keys", "SCHEMA", "check", "build"),
    ("bounces", ".bounces.settings", "SCHEMA", "check", "build"),
    ("web", ".web.settings", "SCHEMA", "check", "build"),
    ("time_zone", ".delivery.send_time", "SCHEMA", "check", "build"),
)


@lru_cache(maxsize=1)
def sections() -> tuple[Section, ...]:
    """The registered rooms' sections, their modules imported once."""
    found = []
    for name, module_name, schema, checks, build in REGISTERED:
        module = importlib.import_module(module_name, __package__)
        found.append(Section(name, getattr(module, schema), getattr(module, checks) if checks else None,
                             getattr(module, build)))
    return tuple(found)


# A reader-visible text: one string for every language, or a table of one string per language.
LOCALIZED = (str, dict)
CORE_SCHEMA = Table(
    required={
        "name": LOCALIZED,
        "languages": list,
        "source_language": str,
        "base_url": str,
        "identity": LOCALIZED,
        "sender": Table(required={"name": LOCALIZED, "address": str}, optional={"reply_to": str}),
        "donation": Table(required={
            # The bank's own values take one string; a table is refused by check with the reason.
            "iban": LOCALIZED, "bic": LOCALIZED, "holder": LOCALIZED, "bank": str, "purpose": LOCALIZED,
            "currency": LOCALIZED,
        }, optional={"note": LOCALIZED}),
    },
    optional={
        "fallback_language": str,
        "postal_address": LOCALIZED,
        "database": Table(optional={"path": str, "url": str}),
    },
)


def settings_schema() -> Table:
    """The whole file's schema: the shared keys plus every registered room's tables."""
    optional = dict(CORE_SCHEMA.optional)
    for section in sections():
        optional.update(section.schema)
    return Table(required=CORE_SCHEMA.required, optional=optional)
