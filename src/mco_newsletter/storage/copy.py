"""`database copy`: an organisation's SQLite store carried whole into an empty PostgreSQL database, in one
transaction, and verified before it is committed.

Every row of every table goes over with its id (subscribers keep their nonces, so every link a reader holds stays
valid); each table's id counter is set past the highest id the SQLite file ever gave, so no id is given twice.
Before the commit, each table is compared: its row count and a SHA-256 of every value in key order, read back from
the new store inside the same transaction and from the SQLite file in the same snapshot the copy was read from.
A difference rolls everything back.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NewsletterError
from .database import Database
from .inventory import Table, digest, id_counter, rows, tables


@dataclass(frozen=True)
class Copied:
    """One table as copied and verified: its rows, its digest on both stores, and where its ids go on."""

    table: str
    rows: int
    digest: str
    next_id: int | None


def copy_store(source: Database, target: Database) -> list[Copied]:
    """Copy every table of `source` (SQLite) into `target` (an empty PostgreSQL store of the same schema)."""
    from .migrate import version_of

    if source.kind != "sqlite" or target.kind != "postgresql":
        raise NewsletterError(
            "database copy carries an SQLite store into PostgreSQL",
            hint="give --to postgresql://… and run it in the workspace of the SQLite store",
        )
    if version_of(source) != version_of(target):
        raise NewsletterError(
            f"the two stores have schema versions {version_of(source)} and {version_of(target)}",
            hint="run the copy with the same version of mco-newsletter that opened both",
        )
    plan = tables(source)
    theirs = {table.name: table for table in tables(target)}
    for table in plan:
        if table.name not in theirs or set(theirs[table.name].columns) != set(table.columns):
            raise NewsletterError(
                f"the table {table.name} differs between the two stores",
                hint="both are migrated by this version: please report this",
            )
    held = [table.name for table in plan if table.name != "meta" and target.one(f"SELECT 1 FROM {table.name} LIMIT 1")]
    if held:
        raise NewsletterError(
            f"{target.location.shown} is not empty: {', '.join(held)} hold rows",
            hint="copy into a new, empty database (createdb), so that nothing is mixed or lost",
        )
    source.connection.execute("BEGIN")  # one snapshot of the file for the copy and its check
    try:
        with target.transaction():
            copied = [_copy_table(source, target, table) for table in plan]
            target.update_statistics(*(table.name for table in plan))
    finally:
        source.connection.execute("ROLLBACK")
    return copied


def _copy_table(source: Database, target: Database, table: Table) -> Copied:
    columns = ", ".join(table.columns)
    if table.name == "meta":  # the new store's own meta rows give way to the organisation's
        target.execute("DELETE FROM meta")
    with target.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copying:
            for row in rows(source, table):
                copying.write_row(row)
    next_id = None
    if "id" in table.columns and table.key == ("id",):
        counter = id_counter(source, table.name)
        target.dialect.ids_past(target, table.name, counter)
        next_id = counter + 1
    expected, theirs = digest(source, table), digest(target, table)
    if expected != theirs:
        raise NewsletterError(
            f"the copy of {table.name} differs from the SQLite store ({expected[0]:,} rows there, "
            f"{theirs[0]:,} here): nothing was copied",
            hint="please report this",
        )
    return Copied(table.name, expected[0], expected[1], next_id)
