"""The exports of other mailing tools, in the shapes those tools write them (tests/imports/README.md cites the
source of each), and the tool's own columns; a file is recognised by its header, or named with --from.

Mailchimp: one file per status in the audience export's .zip: subscribed (OPTIN_TIME, CONFIRM_TIME), unsubscribed
(UNSUB_TIME) and cleaned (CLEAN_TIME, hard bounces); listmonk: the subscribers page's export, knadh/listmonk
cmd/subscribers.go; Keila: a project's contact export, pentacent/keila lib/keila_web/helpers/contacts_csv_export.ex;
Buttondown: the subscriber export, docs.buttondown.com/data-exports-subscriber.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import NewsletterError
from .import_shape import Cells, Choices, Format, Shape
from .incoming import (
    ACTIVE,
    Incoming,
    RowProblem,
    blob,
    blob_text,
    full_name,
    quoted_tags,
    shown_time,
    split_tags,
    utc_time,
)

TOOLS = ("mailchimp", "listmonk", "keila", "buttondown")
TAG_SEPARATORS = {"buttondown": ";"}
LABELS = {"mailchimp": "Mailchimp", "listmonk": "listmonk", "keila": "Keila", "buttondown": "Buttondown"}
LANGUAGE_KEYS = ("language", "lang", "locale")


def _mailchimp(cells: Cells, shape: Shape) -> Incoming:
    optin = utc_time(cells.raw("optin_time"), "OPTIN_TIME")
    confirm = utc_time(cells.raw("confirm_time"), "CONFIRM_TIME")
    left = utc_time(cells.raw(shape.left_column), shape.left_column.upper()) if shape.left_column else None
    # Double opt-in: consent is given when the address is confirmed; an address an admin added has only CONFIRM_TIME.
    notes = (f"opted in {shown_time(optin)}" if optin else "", f"confirmed {shown_time(confirm)}" if confirm else "")
    return Incoming(
        email=cells("email"),
        name=cells.name(),
        language=cells("language"),
        tags=quoted_tags(cells("tags")),
        consent_at=confirm or optin,
        consent_source=shape.noted(*notes),
        left_at=left,
    )


# listmonk's subscriber statuses (schema.sql subscriber_status): a blocklisted subscriber gets nothing, and
# `disabled` is set through the API only; neither is someone to write to.
LISTMONK_STATUS = {"enabled": ACTIVE, "blocklisted": "unsubscribed", "disabled": "unsubscribed"}


def _listmonk(cells: Cells, shape: Shape) -> Incoming:
    written = cells.raw("status").lower()
    if written not in LISTMONK_STATUS:
        raise RowProblem(f"unknown listmonk status {written[:40]!r} (expected enabled, disabled or blocklisted)")
    attributes = blob(cells.raw("attributes"))
    created = utc_time(cells.raw("created_at"), "created_at")
    status = LISTMONK_STATUS[written]
    return Incoming(
        email=cells("email"),
        name=cells.name(),
        language=cells("language") or blob_text(attributes, *LANGUAGE_KEYS),
        tags=split_tags(cells("tags"), shape.tag_separator),
        status=status,
        consent_at=created,
        consent_source=shape.noted(f"added to listmonk {shown_time(created)}" if created else ""),
        left_at=utc_time(cells.raw("updated_at"), "updated_at") if status != ACTIVE else None,
    )


KEILA_STATUS = {"": ACTIVE, "active": ACTIVE, "unsubscribed": "unsubscribed", "unreachable": "bounced"}


def _keila(cells: Cells, shape: Shape) -> Incoming:
    written = cells.raw("status").lower()
    if written not in KEILA_STATUS:
        raise RowProblem(f"unknown Keila status {written[:40]!r} (expected active, unsubscribed or unreachable)")
    data = blob(cells.raw("data"))
    return Incoming(
        email=cells("email"),
        name=cells.name(),
        language=cells("language") or blob_text(data, *LANGUAGE_KEYS),
        tags=split_tags(cells("tags"), shape.tag_separator),
        status=KEILA_STATUS[written],
        consent_source=shape.noted("Keila's export holds no consent time"),
    )


# Buttondown's subscriber types (its OpenAPI enums, SubscriberType): the paid states all receive the newsletter.
BUTTONDOWN_ACTIVE = {
    "regular",
    "premium",
    "trialed",
    "gifted",
    "churning",
    "churned",
    "past_due",
    "paused",
    "unpaid",
    "upcoming",
}
BUTTONDOWN_LEFT = {
    "unsubscribed": "unsubscribed",
    "removed": "unsubscribed",
    "undeliverable": "bounced",
    "complained": "complained",
}
BUTTONDOWN_SKIPPED = {
    "unactivated": "never confirmed their subscription (Buttondown: unactivated)",
    "blocked": "blocked by Buttondown's sign-up checks, never subscribed",
}


def _buttondown(cells: Cells, shape: Shape) -> Incoming:
    kind = (cells.raw("subscriber_type") or cells.raw("type")).lower()
    if kind in BUTTONDOWN_SKIPPED:
        return Incoming(email=cells("email"), skip=BUTTONDOWN_SKIPPED[kind])
    if kind not in BUTTONDOWN_ACTIVE and kind not in BUTTONDOWN_LEFT:
        raise RowProblem(f"unknown Buttondown subscriber type {kind[:40]!r}")
    metadata = blob(cells.raw("metadata"))
    subscribed = utc_time(cells.raw("subscription_date"), "subscription_date") or utc_time(
        cells.raw("creation_date"), "creation_date"
    )
    name = (
        cells.name()
        or blob_text(metadata, "name")
        or full_name(blob_text(metadata, "first_name"), blob_text(metadata, "last_name"))
    )
    return Incoming(
        email=cells("email"),
        name=name,
        language=cells("language") or blob_text(metadata, *LANGUAGE_KEYS),
        tags=split_tags(cells("tags"), shape.tag_separator),
        status=BUTTONDOWN_LEFT.get(kind, ACTIVE),
        consent_at=subscribed,
        consent_source=shape.noted(f"subscribed {shown_time(subscribed)}" if subscribed else ""),
        left_at=utc_time(cells.raw("unsubscription_date"), "unsubscription_date"),
    )


def _own(cells: Cells, shape: Shape) -> Incoming:
    # consent_source and consent_at: a file this tool exported (`subscribers export`) keeps its consent record.
    return Incoming(
        email=cells("email"),
        name=cells.name(),
        language=cells("language"),
        tags=split_tags(cells("tags"), shape.tag_separator),
        consent_source=cells.raw("consent_source") or shape.source,
    )


FORMATS = {
    format.tool: format
    for format in (
        Format(
            "mailchimp",
            "a Mailchimp audience export",
            markers=(
                ("email address",),
                (
                    "optin_time",
                    "confirm_time",
                    "member_rating",
                    "leid",
                    "euid",
                    "last_changed",
                    "unsub_time",
                    "clean_time",
                ),
            ),
            columns={
                "email": ("email address",),
                "first_name": ("first name",),
                "last_name": ("last name",),
                "language": ("language",),
                "tags": ("tags",),
            },
            reads=("optin_time", "confirm_time", "unsub_time", "clean_time"),
            explained={"consent_at": "CONFIRM_TIME, else OPTIN_TIME"},
            read=_mailchimp,
            tag_style='quoted, separated by commas: "donor","russia"',
        ),
        Format(
            "listmonk",
            "a listmonk subscriber export",
            markers=(("uuid",), ("email",), ("attributes",), ("status",)),
            columns={"email": ("email",), "name": ("name",)},
            reads=("status", "attributes", "created_at", "updated_at"),
            explained={
                "language": "attributes: language",
                "status": "status (enabled: active; blocklisted, disabled: unsubscribed)",
                "consent_at": "created_at",
            },
            read=_listmonk,
        ),
        Format(
            "keila",
            "a Keila contact export",
            markers=(("email",), ("first name",), ("last name",), ("data",)),
            columns={"email": ("email",), "first_name": ("first name",), "last_name": ("last name",)},
            reads=("data", "status"),
            explained={
                "language": "Data: language",
                "status": "Status (unreachable: bounced)",
                "consent_at": "none in Keila's export: the time of this import",
            },
            read=_keila,
        ),
        Format(
            "buttondown",
            "a Buttondown subscriber export",
            markers=(("email", "email_address"), ("subscriber_type", "type"), ("secondary_id", "creation_date")),
            columns={"email": ("email", "email_address"), "tags": ("tags",)},
            reads=("subscriber_type", "type", "metadata", "creation_date", "subscription_date", "unsubscription_date"),
            explained={
                "name": "metadata: name or first_name, last_name",
                "language": "metadata: language",
                "status": "subscriber_type (unsubscribed, removed: unsubscribed; undeliverable: bounced; "
                "complained; unactivated and blocked are not imported)",
                "consent_at": "subscription_date, else creation_date",
            },
            read=_buttondown,
        ),
    )
}
OWN = Format(
    "",
    "a subscriber CSV",
    markers=(("email",),),
    columns={
        "email": ("email",),
        "name": ("name",),
        "language": ("language",),
        "tags": ("tags",),
        "status": ("status",),
        "consent_at": ("consent_at",),
    },
    reads=("consent_source",),
    explained={},
    read=_own,
)


def file_status(chosen: Format, path: Path, lowered: list[str]) -> tuple[str | None, str | None]:
    """A status every row of the file has, and the column saying when they left: Mailchimp writes one file per
    status. Its name is a second witness (an unsubscribed file whose columns were cut is still one); a file of
    contacts who never subscribed is refused."""
    if chosen.tool != "mailchimp":
        return None, None
    name = path.name.lower()
    if name.startswith(("nonsubscribed", "non_subscribed", "non-subscribed", "transactional")):
        raise NewsletterError(
            f"{path} holds Mailchimp's non-subscribed contacts: people who never subscribed, so nobody to import",
            hint="import the subscribed, unsubscribed and cleaned files",
        )
    if "unsub_time" in lowered or name.startswith("unsubscribed"):
        return "unsubscribed", "unsub_time" if "unsub_time" in lowered else None
    if "clean_time" in lowered or name.startswith("cleaned"):
        return "bounced", "clean_time" if "clean_time" in lowered else None
    return None, None


def recognise(path: Path, header: list[str], choices: Choices) -> Shape:
    """The shape of a file with this header, or an error naming the columns found and what would read them."""
    lowered = [name.strip().lower() for name in header]
    found = ", ".join(name.strip() for name in header[:20]) or "nothing"
    if choices.tool:
        chosen = FORMATS[choices.tool]
        missing = [group for group in chosen.markers if not set(group) & set(lowered)]
        if missing:
            names = " and ".join(" or ".join(repr(name) for name in group) for group in missing)
            raise NewsletterError(
                f"{path}:1: not {chosen.title}: it has no column {names} (found: {found})",
                hint="leave out --from to have the format recognised, or map the columns with "
                "--column (docs/subscribers.md)",
            )
        recognised_by: tuple[str, ...] = ()
    else:
        chosen, recognised_by = OWN, ()
        for candidate in FORMATS.values():
            matched = [
                next(name for name in group if name in lowered)
                for group in candidate.markers
                if set(group) & set(lowered)
            ]
            if len(matched) == len(candidate.markers):
                chosen, recognised_by = candidate, tuple(header[lowered.index(name)].strip() for name in matched)
                break
    columns = {name: lowered.index(name) for name in dict.fromkeys(lowered) if name}
    fields = {
        name: columns[next(c for c in options if c in columns)]
        for name, options in chosen.columns.items()
        if any(c in columns for c in options)
    }
    for name, written in choices.columns:
        if not written:
            fields.pop(name, None)
            continue
        if written.strip().lower() not in columns:
            where = (
                f"{choices.mapping_file}: {name} = {written!r}"
                if choices.mapping_file
                else f"--column {name}={written!r}"
            )
            raise NewsletterError(
                f"{path}:1: no column {written!r} ({where}); found: {found}",
                hint="give the column's name as the first line writes it",
            )
        fields[name] = columns[written.strip().lower()]
    if "email" not in fields:
        raise _no_email(path, header, found)
    for index in sorted(set(fields.values()) | {columns[c] for c in chosen.reads if c in columns}):
        if lowered.count(lowered[index]) > 1:
            raise NewsletterError(f"{path}:1: column {lowered[index]!r} appears twice")
    title = chosen.title
    if choices.columns:
        how = f"mapped by {choices.mapping_file.name}" if choices.mapping_file else "mapped by --column"
        title = f"{title}, columns {how}" if chosen is not OWN else f"CSV with columns {how}"
    every_row, left_column = file_status(chosen, path, lowered)
    return Shape(
        chosen,
        title,
        tuple(header),
        fields,
        columns,
        recognised_by,
        source=f"{LABELS[chosen.tool] + ' import' if chosen.tool else 'import'} of {path.name}",
        every_row=choices.status or every_row,
        left_column=left_column,
        tag_separator=choices.tag_separator or TAG_SEPARATORS.get(chosen.tool, "|"),
        language_names=dict(choices.language_names),
        mapped=bool(choices.columns),
    )


def _no_email(path: Path, header: list[str], found: str) -> NewsletterError:
    guess = next((name.strip() for name in header if "mail" in name.lower()), header[0].strip() if header else "")
    return NewsletterError(
        f"{path}:1: no 'email' column (found: {found}), and the columns are not those of a Mailchimp, listmonk, "
        "Keila or Buttondown export",
        hint=f'say which column holds the address: --column email="{guess}" (more with --column name=…, '
        "language=…, tags=…, or a --mapping file: docs/subscribers.md); or name the columns email, name, "
        "language, tags in the first line",
    )
