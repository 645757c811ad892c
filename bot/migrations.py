"""Numbered schema migrations. Migration N brings the database to PRAGMA user_version N.

Append new migrations at the end; never edit one that has shipped.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: people and the log of every incoming message
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        channel_user_id TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        lang TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (channel, channel_user_id)
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        received_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT,
        lang TEXT NOT NULL,
        action TEXT NOT NULL,
        faq_id TEXT,
        score REAL
    );
    CREATE INDEX messages_by_person ON messages (person_id, received_at);
    CREATE INDEX messages_by_action ON messages (action, received_at);
    """,
)
