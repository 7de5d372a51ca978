"""The catalog database's schema: numbered migrations and the code that applies them.

Each migration takes the database from version i to i+1; they run in order, each in its
own transaction together with the PRAGMA user_version that records how far a file has come.
They are SQL scripts because SQLite's executescript() is the only way to run trigger
bodies, and it would commit any transaction opened around it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class CatalogError(Exception):
    """A catalog cannot be opened or used; the message says why."""


_MIGRATION_1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            external_id TEXT NOT NULL DEFAULT '',
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '',
            price REAL,
            currency TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '',
            url TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX items_category ON items(category);
        CREATE INDEX items_external_id ON items(external_id);
        CREATE TABLE embeddings (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            content_hash TEXT NOT NULL,
            PRIMARY KEY (item_id, model)
        );
        CREATE TABLE purchases (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            timestamp REAL NOT NULL,
            quantity INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX purchases_item ON purchases(item_id);
        CREATE TABLE quarantine (
            path TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            at REAL NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0
        );
"""

# External-content FTS5 table kept in sync by triggers, so keyword search never lags.
_MIGRATION_2 = """
        CREATE VIRTUAL TABLE items_fts USING fts5(
            title, tags, category, content='items', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts(rowid, title, tags, category)
            VALUES (new.id, new.title, new.tags, new.category);
        END;
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts(items_fts, rowid, title, tags, category)
            VALUES ('delete', old.id, old.title, old.tags, old.category);
        END;
        CREATE TRIGGER items_au AFTER UPDATE OF title, tags, category ON items BEGIN
            INSERT INTO items_fts(items_fts, rowid, title, tags, category)
            VALUES ('delete', old.id, old.title, old.tags, old.category);
            INSERT INTO items_fts(rowid, title, tags, category)
            VALUES (new.id, new.title, new.tags, new.category);
        END;
        INSERT INTO items_fts(items_fts) VALUES ('rebuild');
"""

# The generation is bumped with every embedding write: the vector-index cache compares it
# to know whether it is stale without reading the vectors.
_MIGRATION_3 = """
        INSERT OR IGNORE INTO meta(key, value) VALUES ('embeddings_generation', '0');
        CREATE INDEX embeddings_model ON embeddings(model);
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1, _MIGRATION_2, _MIGRATION_3)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database on `conn` up to SCHEMA_VERSION; CatalogError if it cannot be."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{path} is not a catalog database: {exc}") from exc
    if version > SCHEMA_VERSION:
        raise CatalogError(
            f"{path} was written by a newer version (schema {version} > {SCHEMA_VERSION})."
        )
    for i in range(version, SCHEMA_VERSION):
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[i]}\n"
                               f"PRAGMA user_version = {i + 1};\nCOMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise CatalogError(f"Cannot upgrade catalog {path} to schema {i + 1}: "
                               f"{exc}") from exc
