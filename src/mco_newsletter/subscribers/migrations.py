"""The subscriber database's schema, step by step: MIGRATIONS[n] takes a database of schema version n to n + 1
(PRAGMA user_version), and migrate() runs the steps a database lacks, all in one transaction.

A step is never edited once released: databases out there have run it. A change is a new step at the end.
"""

from __future__ import annotations

import sqlite3

from ..errors import NewsletterError

MIGRATIONS = [
    # 1: subscribers, their tags, and the keyed hashes of erased addresses.
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        consent_source TEXT NOT NULL,
        consent_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX subscribers_status_language ON subscribers (status, language);
    CREATE TABLE subscriber_tags (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX subscriber_tags_tag ON subscriber_tags (tag, subscriber_id);
    CREATE TABLE erased (
        hash TEXT PRIMARY KEY,
        erased_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: the delivery ledger. A campaign sends one issue to one segment; a delivery is one reader's
    # row in it. Rows name the subscriber by id only: the ledger holds no address.
    """
    CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        issue_id TEXT NOT NULL,
        segment TEXT NOT NULL,
        settings_snapshot TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (issue_id, segment)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL,
        language TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        provider_id TEXT,
        updated_at TEXT,
        UNIQUE (campaign_id, subscriber_id)
    );
    CREATE INDEX deliveries_work ON deliveries (campaign_id, language, id);
    """,
    # 3: what SendGrid's event webhook reported: each event once, and the last word per ledger row.
    """
    CREATE TABLE webhook_events (
        sg_event_id TEXT PRIMARY KEY,
        received_at TEXT NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE deliveries ADD COLUMN provider_event TEXT;
    ALTER TABLE deliveries ADD COLUMN provider_event_at TEXT;
    """,
    # 4: ids are never reused (AUTOINCREMENT): an erased reader's old link or a late event for their
    # ledger row can never reach whoever comes next. Each subscriber gets a random nonce that their
    # links' MAC covers. Deliveries gain the terminal state `refused` (the server refused the address
    # for good). The tables are rebuilt keeping every row; `meta` remembers the highest subscriber id
    # of the old schema, whose links (made without nonce) stay valid for those readers only.
    """
    CREATE TABLE subscribers_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'unsubscribed', 'bounced', 'complained')),
        consent_source TEXT NOT NULL,
        consent_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        nonce BLOB NOT NULL DEFAULT (randomblob(16))
    );
    INSERT INTO subscribers_v4 (id, email, email_key, name, language, status, consent_source, consent_at,
                                created_at, updated_at)
        SELECT id, email, email_key, name, language, status, consent_source, consent_at, created_at, updated_at
        FROM subscribers ORDER BY id;
    DELETE FROM subscriber_tags WHERE subscriber_id NOT IN (SELECT id FROM subscribers);
    DROP TABLE subscribers;
    ALTER TABLE subscribers_v4 RENAME TO subscribers;
    CREATE INDEX subscribers_status_language ON subscribers (status, language);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) SELECT 'legacy_token_max_id', coalesce(max(id), 0) FROM subscribers;
    CREATE TABLE campaigns_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        issue_id TEXT NOT NULL,
        segment TEXT NOT NULL,
        settings_snapshot TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (issue_id, segment)
    );
    INSERT INTO campaigns_v4 SELECT id, issue_id, segment, settings_snapshot, started_at, finished_at FROM campaigns;
    CREATE TABLE deliveries_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL,
        language TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'refused')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        provider_id TEXT,
        updated_at TEXT,
        provider_event TEXT,
        provider_event_at TEXT,
        UNIQUE (campaign_id, subscriber_id)
    );
    INSERT INTO deliveries_v4 SELECT id, campaign_id, subscriber_id, language, fallback, state, attempts,
        last_error, provider_id, updated_at, provider_event, provider_event_at FROM deliveries ORDER BY id;
    DROP TABLE deliveries;
    DROP TABLE campaigns;
    ALTER TABLE campaigns_v4 RENAME TO campaigns;
    ALTER TABLE deliveries_v4 RENAME TO deliveries;
    CREATE INDEX deliveries_work ON deliveries (campaign_id, language, id);
    """,
    # 5: sign-up with double opt-in. The subscribers table is rebuilt because its CHECK constraint gains
    # `pending`; ids, nonces and the AUTOINCREMENT counter are carried over, so no id is ever given twice
    # (an erased reader's old links stay dead). Each subscriber gains `consent_version`: the version of
    # the consent text they confirmed on the web.
    # - `signup_requests`: one per subscriber, what they asked for on the form (language, name, topics)
    #   until they confirm, with its own random nonce (the confirmation link's MAC covers it: a request
    #   made after an older one expired invalidates the older link) and its expiry. Deleted with the
    #   subscriber.
    # - `mail_log`: when the last sign-up or subject-access email went to an address, by the keyed hash of
    #   the address (never the address itself): at most one per address per hour, even across restarts.
    #   Rows older than an hour are purged with the expired requests; an erasure deletes the person's rows.
    """
    CREATE TABLE subscribers_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT,
        language TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'pending', 'unsubscribed', 'bounced', 'complained')),
        consent_source TEXT NOT NULL,
        consent_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        nonce BLOB NOT NULL DEFAULT (randomblob(16)),
        consent_version TEXT
    );
    INSERT INTO subscribers_v5 (id, email, email_key, name, language, status, consent_source, consent_at,
                                created_at, updated_at, nonce)
        SELECT id, email, email_key, name, language, status, consent_source, consent_at, created_at, updated_at,
               nonce
        FROM subscribers ORDER BY id;
    DELETE FROM subscriber_tags WHERE subscriber_id NOT IN (SELECT id FROM subscribers);
    DELETE FROM sqlite_sequence WHERE name = 'subscribers_v5';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'subscribers_v5', seq FROM sqlite_sequence
        WHERE name = 'subscribers';
    DROP TABLE subscribers;
    ALTER TABLE subscribers_v5 RENAME TO subscribers;
    CREATE INDEX subscribers_status_language ON subscribers (status, language);
    CREATE TABLE signup_requests (
        subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
        language TEXT NOT NULL,
        name TEXT,
        topics TEXT NOT NULL DEFAULT '[]',
        nonce BLOB NOT NULL,
        requested_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE INDEX signup_requests_expiry ON signup_requests (expires_at);
    CREATE TABLE mail_log (
        hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (hash, kind)
    ) WITHOUT ROWID
""",
    # 6: each sign-up is a request of its own. A second sign-up for a waiting address no longer rewrites the
    # first: `signup_requests` gains an id (AUTOINCREMENT), which a confirmation link names instead of the
    # subscriber, so each link confirms exactly what was asked with it. A request kept from before takes
    # its subscriber's id as its own, so the links already sent keep working; new ids start above every
    # subscriber id ever given. `signup_queue` holds a sign-up as it arrived (the answer waits for that
    # write alone, the same for every address) until it is worked through just after; `hash` is the keyed
    # hash of the address, so that an erasure finds it.
    """
    CREATE TABLE signup_requests_v6 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        language TEXT NOT NULL,
        name TEXT,
        topics TEXT NOT NULL DEFAULT '[]',
        nonce BLOB NOT NULL,
        requested_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    INSERT INTO signup_requests_v6 (id, subscriber_id, language, name, topics, nonce, requested_at, expires_at,
                                    confirmed_at)
        SELECT subscriber_id, subscriber_id, language, name, topics, nonce, requested_at, expires_at, confirmed_at
        FROM signup_requests ORDER BY subscriber_id;
    DELETE FROM sqlite_sequence WHERE name = 'signup_requests_v6';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'signup_requests_v6', coalesce(max(seq), 0) FROM sqlite_sequence
        WHERE name = 'subscribers';
    DROP TABLE signup_requests;
    ALTER TABLE signup_requests_v6 RENAME TO signup_requests;
    CREATE INDEX signup_requests_subscriber ON signup_requests (subscriber_id);
    CREATE INDEX signup_requests_expiry ON signup_requests (expires_at);
    CREATE TABLE signup_queue (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,
        language TEXT NOT NULL,
        name TEXT,
        topics TEXT NOT NULL,
        hash TEXT NOT NULL,
        received_at TEXT NOT NULL
    )
""",
    # 7: what the ledger knows of readers whose message may have been accepted without its learning so (a
    # sender killed with their request or message on the wire, a request without an answer: the row was left
    # in `sending`). `twice` marks such a row sent again: the reader may have the issue twice; kept across
    # runs, so that every kill's duplicates are counted. The state `maybe_sent` is such a row whose reader left
    # before it could be sent again: they may have had it, and are never sent it again. The table is rebuilt
    # because its CHECK constraint gains the state; ids and the AUTOINCREMENT counter are carried over (a late
    # event names its row by id: an id is never given twice).
    """
    CREATE TABLE deliveries_v6 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL,
        language TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'refused', 'maybe_sent')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        provider_id TEXT,
        updated_at TEXT,
        provider_event TEXT,
        provider_event_at TEXT,
        twice INTEGER NOT NULL DEFAULT 0,
        UNIQUE (campaign_id, subscriber_id)
    );
    INSERT INTO deliveries_v6 (id, campaign_id, subscriber_id, language, fallback, state, attempts, last_error,
                               provider_id, updated_at, provider_event, provider_event_at)
        SELECT id, campaign_id, subscriber_id, language, fallback, state, attempts, last_error, provider_id,
               updated_at, provider_event, provider_event_at
        FROM deliveries ORDER BY id;
    DELETE FROM sqlite_sequence WHERE name = 'deliveries_v6';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'deliveries_v6', seq FROM sqlite_sequence
        WHERE name = 'deliveries';
    DROP TABLE deliveries;
    ALTER TABLE deliveries_v6 RENAME TO deliveries;
    CREATE INDEX deliveries_work ON deliveries (campaign_id, language, id)
    """,
]


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the database to the newest schema (it must not be newer than this tool knows)."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise NewsletterError(f"the subscriber database has schema version {version}, newer than this tool knows",
                              hint="upgrade mco-newsletter")
    if version == len(MIGRATIONS):
        connection.execute("PRAGMA foreign_keys = ON")
        return
    # Rebuilding a table drops the old one: with foreign keys on, that would delete every row that
    # refers to it (subscriber tags). They are off during migrations (the pragma cannot change inside
    # a transaction) and checked before the commit.
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in filter(str.strip, script.split(";")):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        broken = connection.execute("PRAGMA foreign_key_check").fetchone()
        if broken:
            raise NewsletterError(f"migrating the subscriber database broke a reference in {broken[0]}",
                                  hint="nothing was changed; please report this")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    connection.execute("PRAGMA foreign_keys = ON")
