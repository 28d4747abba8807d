"""The subscriber store's storage: where it is (location.py), one connection with the dialect of SQLite or
PostgreSQL (database.py, dialect.py, sqlite.py, postgresql.py), the schema's steps (migrations.py, migrate.py),
errors in words (failures.py), and the statements of the domains that are not the store's or the ledger's own
(signup_rows.py, translator_rows.py, import_rows.py). Every SQL statement of the tool lives here, in
subscribers/store.py or in delivery/ledger.py.
"""
