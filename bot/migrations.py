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
    # 2: was an FAQ answer helpful? One verdict per answered message (a second tap changes it)
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
        faq_id TEXT NOT NULL,
        helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        created_at TEXT NOT NULL,
        UNIQUE (message_id)
    );
    CREATE INDEX feedback_by_topic ON feedback (faq_id, helpful);
    """,
)
