"""The statements of a CSV import (subscribers/csv_import.py): what the store holds, read once, and the new and
changed rows written in bulk."""

from __future__ import annotations

import secrets

from .database import Database


def held(db: Database) -> tuple[set[str], dict[str, tuple], dict[int, set[str]]]:
    """The erased hashes; every subscriber by email key as (id, name, language, status); the tags by subscriber id."""
    erased = {row[0] for row in db.stream("SELECT hash FROM erased")}
    existing = {key: (sid, name, language, status) for sid, key, name, language, status in
                db.stream("SELECT id, email_key, name, language, status FROM subscribers")}
    tags: dict[int, set[str]] = {}
    for sid, tag in db.stream("SELECT subscriber_id, tag FROM subscriber_tags"):
        tags.setdefault(sid, set()).add(tag)
    return erased, existing, tags


def write(db: Database, *, new: list[tuple], changed: list[dict], new_tags: list[tuple[str, str]]) -> None:
    """Insert new active subscribers (email, key, name, language, consent source, consent at, created, updated),
    update changed ones (name, language, reactivate, source, at, id), and add (email key, tag) pairs."""
    db.executemany("INSERT INTO subscribers (email, email_key, name, language, status, consent_source,"
                   " consent_at, created_at, updated_at, nonce) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
                   [(*row, secrets.token_bytes(16)) for row in new])
    db.executemany("UPDATE subscribers SET name = :name, language = :language,"
                   " status = CASE WHEN :reactivate THEN 'active' ELSE status END,"
                   " consent_source = CASE WHEN :reactivate THEN :source ELSE consent_source END,"
                   " consent_at = CASE WHEN :reactivate THEN :at ELSE consent_at END,"
                   " consent_version = CASE WHEN :reactivate THEN NULL ELSE consent_version END,"
                   " updated_at = :at WHERE id = :id", changed)
    db.executemany("INSERT INTO subscriber_tags (subscriber_id, tag) SELECT id, ? FROM subscribers WHERE email_key = ?"
                   " ON CONFLICT DO NOTHING", [(tag, key) for key, tag in new_tags])
    if new or changed or new_tags:
        db.update_statistics("subscribers", "subscriber_tags")
