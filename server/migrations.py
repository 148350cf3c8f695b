"""Versioned schema migrations, tracked in `PRAGMA user_version`.

Append new steps to MIGRATIONS; never edit a step that has shipped. A step is SQL, or a function of the
connection for one that needs Python to fill what it adds.
"""

from __future__ import annotations

from collections.abc import Callable

import apsw

from server.confusables import title_skeleton


def _add_title_skeletons(conn: apsw.Connection) -> None:
    conn.execute("ALTER TABLE pages ADD COLUMN skeleton TEXT")
    conn.execute("CREATE INDEX pages_skeleton ON pages(skeleton) WHERE skeleton IS NOT NULL")
    rows = [(title_skeleton(row["title"]), row["id"]) for row in conn.execute("SELECT id, title FROM pages")]
    conn.executemany("UPDATE pages SET skeleton = ? WHERE id = ?", rows)


MIGRATIONS: list[str | Callable[[apsw.Connection], None]] = [
    # 1: accounts, pages, append-only revisions, applied ops
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'editor',
        blocked INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        slug TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        head_id INTEGER,
        protected INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    -- Append-only: normal operation never updates or deletes a revision. Its id is the changes-feed cursor.
    CREATE TABLE revisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL UNIQUE,
        page_id INTEGER NOT NULL REFERENCES pages(id),
        parent_id INTEGER REFERENCES revisions(id),
        user_id INTEGER REFERENCES users(id),
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        summary TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        html TEXT NOT NULL,
        op_id TEXT
    );
    CREATE INDEX pages_head ON pages(head_id);
    CREATE INDEX pages_title ON pages(title COLLATE NOCASE);
    CREATE INDEX revisions_page ON revisions(page_id, id);
    CREATE INDEX revisions_user ON revisions(user_id, id);
    CREATE TRIGGER revisions_append_only_update BEFORE UPDATE ON revisions
        BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
    CREATE TRIGGER revisions_append_only_delete BEFORE DELETE ON revisions
        BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
    -- Wiki links of each page's head, to mark links to missing pages at view time.
    CREATE TABLE links (
        page_id INTEGER NOT NULL REFERENCES pages(id),
        target_slug TEXT NOT NULL,
        PRIMARY KEY (page_id, target_slug)
    ) WITHOUT ROWID;
    CREATE INDEX links_target ON links(target_slug);
    -- Every op ever applied, keyed by its client-made id: the first result is the answer to replays.
    CREATE TABLE ops (
        op_id TEXT PRIMARY KEY,
        user_id INTEGER REFERENCES users(id),
        device_id TEXT,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: the search index. Every new revision queues its page (trigger), whatever path wrote it.
    """
    CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE index_queue (
        page_id INTEGER PRIMARY KEY REFERENCES pages(id),
        enqueued_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE TRIGGER revisions_enqueue AFTER INSERT ON revisions BEGIN
        INSERT INTO index_queue (page_id, enqueued_at) VALUES (NEW.page_id, NEW.uid)
        ON CONFLICT(page_id) DO UPDATE SET enqueued_at = excluded.enqueued_at, attempts = 0, last_error = NULL;
    END;
    INSERT INTO index_queue (page_id, enqueued_at) SELECT id, uid FROM pages;
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        page_id INTEGER NOT NULL REFERENCES pages(id),
        seq INTEGER NOT NULL,
        ord INTEGER NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL,
        hash TEXT NOT NULL,
        vector BLOB
    );
    CREATE INDEX chunks_page ON chunks(page_id, ord);
    CREATE INDEX chunks_missing_vector ON chunks(id) WHERE vector IS NULL;
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, text) VALUES (NEW.id, NEW.text);
    END;
    CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    END;
    -- Vectors by chunk text and model, so unchanged or restored text is never embedded twice.
    CREATE TABLE embedding_cache (
        hash TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (hash, model)
    ) WITHOUT ROWID;
    """,
    # 3: conflicts kept for their authors (sync rule 3), and each device's changes-feed checkpoint
    """
    CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        op_id TEXT NOT NULL UNIQUE,
        user_id INTEGER REFERENCES users(id),
        device_id TEXT,
        page_id INTEGER NOT NULL REFERENCES pages(id),
        base_id INTEGER NOT NULL REFERENCES revisions(id),
        head_id INTEGER NOT NULL REFERENCES revisions(id),
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        summary TEXT NOT NULL,
        proposal TEXT NOT NULL,
        parts TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        created_at TEXT NOT NULL,
        resolved_at TEXT,
        resolved_id INTEGER REFERENCES revisions(id)
    );
    CREATE INDEX conflicts_user_status ON conflicts(user_id, status, id);
    CREATE TABLE device_checkpoints (
        user_id INTEGER NOT NULL REFERENCES users(id),
        device_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id)
    ) WITHOUT ROWID;
    """,
    # 4: the embedding cache as a rowid table. WITHOUT ROWID rows keep at most about 1 kB on their page, so
    # every 1.5 kB vector spilled onto an overflow page of its own: 4.7 kB a vector instead of 2.2 kB (issue 6).
    """
    CREATE TABLE embedding_cache_rowid (
        hash TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (hash, model)
    );
    INSERT INTO embedding_cache_rowid (hash, model, vector) SELECT hash, model, vector FROM embedding_cache;
    DROP TABLE embedding_cache;
    ALTER TABLE embedding_cache_rowid RENAME TO embedding_cache;
    """,
    # 5: a counter of changes to the set of chunk vectors, so search's in-memory copy of the sign bits
    # (search/signbits.py) knows, for the price of one row read, whether it is still current.
    """
    INSERT OR IGNORE INTO search_meta (key, value) VALUES ('vectors_version', '0');
    CREATE TRIGGER chunks_vectors_insert AFTER INSERT ON chunks WHEN new.vector IS NOT NULL BEGIN
        UPDATE search_meta SET value = value + 1 WHERE key = 'vectors_version';
    END;
    CREATE TRIGGER chunks_vectors_delete AFTER DELETE ON chunks WHEN old.vector IS NOT NULL BEGIN
        UPDATE search_meta SET value = value + 1 WHERE key = 'vectors_version';
    END;
    CREATE TRIGGER chunks_vectors_update AFTER UPDATE OF vector ON chunks BEGIN
        UPDATE search_meta SET value = value + 1 WHERE key = 'vectors_version';
    END;
    """,
    # 6: chains of one author's edits (issue 10 item 3). `after_op` is the author's earlier op this one was
    # made on top of; `text` keeps the author's own text when the revision it produced differs from it
    # (a merge), because a later op of the chain must be merged against what its author saw.
    """
    ALTER TABLE ops ADD COLUMN after_op TEXT;
    ALTER TABLE ops ADD COLUMN text TEXT;
    CREATE INDEX ops_after_op ON ops(after_op) WHERE after_op IS NOT NULL;
    """,
    # 7: each page's title skeleton (server/confusables.py), so that a new title that reads like an existing
    # page's is found by one index look-up (issue 11 item 12).
    _add_title_skeletons,
    # 8: the word index cuts runs of CJK characters into overlapping pairs (search/tokenizer.py, registered on
    # every connection by server/db.py), so a Chinese or Japanese word inside a sentence is found (issue 12 item 6).
    # Still an external-content table over chunks; the triggers of migration 2 name it and keep working.
    """
    DROP TABLE chunks_fts;
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, content='chunks', content_rowid='id', tokenize='cjk_bigrams porter unicode61 remove_diacritics 2'
    );
    INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
    """,
]


def schema_version(conn: apsw.Connection) -> int:
    return next(iter(conn.execute("PRAGMA user_version")))["user_version"]


def migrate(conn: apsw.Connection) -> int:
    """Apply every step above the file's `user_version`, each in its own transaction."""
    version = schema_version(conn)
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
            conn.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return schema_version(conn)
