"""The organisation's settings: newsletter.toml (plus environment) → frozen Settings.

config knows the keys every room shares (name, languages, sender, donation …) and composes each room's
own settings, a frozen dataclass the room defines beside its schema, checks and builder (SECTIONS): the
rooms' settings modules sit below config and import nothing above the ground floor, so every other room
may import config.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .bounces import settings as bounce_settings
from .bounces.settings import BounceSettings
from .delivery import dkim_keys, send_time
from .delivery import settings as sending_settings
from .delivery.dkim_keys import DkimSettings
from .delivery.settings import SendingSettings
from .errors import Problem, ProblemsError, WorkspaceError
from .localized import Localized
from .render import privacy
from .render.privacy import PrivacySettings
from .schema import Finding, Table, locate_key, validate
from .storage.location import DATABASE_ENV, StoreLocation, database_path, looks_like_url, url_problem
from .subscribers import segments as segment_settings
from .subscribers import signup_settings
from .subscribers.segments import Segment
from .subscribers.signup_settings import SignupSettings
from .translation import settings as translation_settings
from .translation.settings import EngineSettings
from .web import settings as web_settings
from .web.settings import WebSettings

SETTINGS_FILE = "newsletter.toml"
WORKSPACE_ENV = "MCO_NEWSLETTER_WORKSPACE"


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
    segments: dict[str, Segment]
    sending: SendingSettings
    translation: EngineSettings
    privacy: PrivacySettings
    signup: SignupSettings
    dkim: DkimSettings | None  # None when [dkim] is absent (mail goes unsigned)
    bounces: BounceSettings | None  # None when [bounces] is absent (no return paths)
    web: WebSettings  # what `serve` believes of a reverse proxy
    fallback_language: str = ""
    webhook_public_key: str | None = None
    webhook_max_age_seconds: float = 300.0
    webhook_retention_days: int = 30  # applied webhook event ids (and bounce mail digests) are kept this long
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
    def store(self) -> StoreLocation:
        """Where the subscriber store is: a URL, or the SQLite file."""
        if self.database_url:
            return StoreLocation(url=self.database_url)
        return StoreLocation(path=self.database_path)

    def name_for(self, language: str) -> str:
        """The newsletter's name in a language, falling back to the source language's."""
        return self.names.get(language) or self.names[self.source_language]


def find_workspace(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> Path:
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
        return None, [Problem(path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})", "save the file as UTF-8")]
    except OSError as exc:
        return None, [Problem(path, 0, f"cannot read: {exc.strerror}")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        return None, [
            Problem(
                path, line, f"not valid TOML: {exc.args[0] if exc.args else exc}", "see https://toml.io for the syntax"
            )
        ]
    problems = [
        Problem(path, locate_key(text, key_path), message, hint)
        for key_path, message, hint in validate(data, settings_schema())
    ]
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

    findings = list(check_settings_values(data))
    for section in SECTIONS:
        if section.checks is not None:
            findings += section.checks(data)
    findings += sending_settings.check_sending_files(data, path.parent)  # files named relative to the workspace
    return [Problem(path, locate_key(text, key_path), message, hint) for key_path, message, hint in findings]


def _build(root: Path, data: dict) -> Settings:
    source = data["source_language"]
    names = data["name"]
    if isinstance(names, str):
        names = {source: names}
    sender = data["sender"]
    donation = data["donation"]

    def localized(value: str | dict[str, str] | None) -> Localized | None:
        return None if value is None else Localized(value, source)

    return Settings(
        root=root,
        names=dict(names),
        languages=tuple(data["languages"]),
        source_language=source,
        base_url=data["base_url"].rstrip("/"),
        identity=Localized(data["identity"], source),
        sender=Sender(Localized(sender["name"], source), sender["address"], sender.get("reply_to", sender["address"])),
        donation=Donation(
            iban=donation["iban"],
            bic=donation["bic"],
            holder=donation["holder"],
            bank=donation["bank"],
            purpose=donation["purpose"],
            currency=donation["currency"],
            note=localized(donation.get("note")),
        ),
        database_path=database_path(root, data),
        database_url=_database_url(data),
        segments=segment_settings.build(root, data),
        sending=sending_settings.sending_settings(root, data),
        translation=translation_settings.build(root, data),
        privacy=privacy.build(root, data),
        signup=signup_settings.build(root, data),
        dkim=dkim_keys.build(root, data),
        bounces=bounce_settings.build(root, data),
        web=web_settings.build(root, data),
        time_zone=send_time.build(root, data),
        fallback_language=data.get("fallback_language", source),
        webhook_public_key=os.environ.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or data.get("webhook", {}).get("public_key"),
        webhook_max_age_seconds=data.get("webhook", {}).get("max_age_seconds", 300.0),
        webhook_retention_days=data.get("webhook", {}).get("retention_days", 30),
        postal_address=localized(data.get("postal_address")),
        raw=data,
    )


def _database_url(data: dict) -> str | None:
    """The PostgreSQL URL of the store, from the environment or the file; None: the store is an SQLite file."""
    given = os.environ.get(DATABASE_ENV)
    if given:
        if not looks_like_url(given):
            return None  # a path in the environment keeps SQLite, whatever the file says
        problem = url_problem(given)
        if problem:
            raise WorkspaceError(
                f"{DATABASE_ENV}: {problem}",
                hint="a path keeps SQLite; a PostgreSQL store is postgresql://USER@HOST:PORT/DATABASE",
                exit_code=2,
            )
        return given
    return data.get("database", {}).get("url") or None


@dataclass(frozen=True)
class Section:
    """A room's part of newsletter.toml: its tables, and the checks on their values (its builder makes the room's
    field of Settings, in _build)."""

    # Its keys of newsletter.toml: mostly tables, or a plain value (send_time's top-level time_zone, a str).
    schema: Mapping[str, Table | type | tuple[type, ...]]
    checks: Callable[[dict], Iterable[Finding]] | None


SECTIONS = (
    Section(sending_settings.SENDING_SCHEMA, sending_settings.check_sending),
    Section(translation_settings.SCHEMA, None),
    Section(segment_settings.SCHEMA, segment_settings.check),
    Section(privacy.SCHEMA, privacy.check),
    Section(signup_settings.SCHEMA, signup_settings.check),
    Section(dkim_keys.SCHEMA, dkim_keys.check),
    Section(bounce_settings.SCHEMA, bounce_settings.check),
    Section(web_settings.SCHEMA, web_settings.check),
    Section(send_time.SCHEMA, send_time.check),
)


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
        "donation": Table(
            required={
                # The bank's own values take one string; a table is refused by check with the reason.
                "iban": LOCALIZED,
                "bic": LOCALIZED,
                "holder": LOCALIZED,
                "bank": str,
                "purpose": LOCALIZED,
                "currency": LOCALIZED,
            },
            optional={"note": LOCALIZED},
        ),
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
    for section in SECTIONS:
        optional.update(section.schema)
    return Table(required=CORE_SCHEMA.required, optional=optional)
