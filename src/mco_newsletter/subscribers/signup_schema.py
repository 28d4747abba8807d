"""The tables of web sign-up: a status for readers who have not yet confirmed, their requests, and the mail log.

Migration 5 (appended to store.MIGRATIONS). The subscribers table is rebuilt because its CHECK
constraint gains `pending`; ids, nonces and the AUTOINCREMENT counter are carried over, so no id is
ever given twice (an erased reader's old links stay dead). Each subscriber gains `consent_version`:
the version of the consent text they confirmed on the web.

- `signup_requests`: one per subscriber, what they asked for on the form (language, name, topics) until
  they confirm, with its own random nonce (the confirmation link's MAC covers it: a request made after
  an older one expired invalidates the older link) and its expiry. Deleted with the subscriber.
- `mail_log`: when the last sign-up or subject-access email went to an address, by the keyed hash of
  the address (never the address itself): at most one per address per hour, even across restarts.
  Rows older than an hour are purged with the expired requests; an erasure deletes the person's rows.
"""

SIGNUP_MIGRATION = """
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
"""
