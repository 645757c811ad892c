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
    # 3: village sessions and registrations. Times are UTC ISO text; a registration's place in
    # the waitlist is its id order (arrival order).
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        title_id TEXT NOT NULL,
        title_en TEXT NOT NULL,
        village TEXT NOT NULL,
        place TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        capacity INTEGER NOT NULL CHECK (capacity > 0),
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK (ends_at > starts_at)
    );
    CREATE INDEX sessions_by_start ON sessions (status, starts_at);
    CREATE TABLE registrations (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id),
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        booking_code TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL
            CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'attended')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX one_active_registration ON registrations (session_id, person_id)
        WHERE status != 'cancelled';
    CREATE INDEX registrations_by_session ON registrations (session_id, status, id);
    CREATE INDEX registrations_by_person ON registrations (person_id, status);
    """,
    # 4: what a villager gives when first signing up, and where they are in a multi-step chat
    # (flow: JSON such as {"step": "village", "session": "K7QA"}; NULL when none)
    """
    ALTER TABLE people ADD COLUMN full_name TEXT;
    ALTER TABLE people ADD COLUMN village TEXT;
    ALTER TABLE people ADD COLUMN phone TEXT;
    ALTER TABLE people ADD COLUMN consent_at TEXT;
    ALTER TABLE people ADD COLUMN flow TEXT;
    """,
    # 5: the durable outbox: everything sent later (reminders, waitlist promotions, changes to a
    # session). Written in the same transaction as the change that causes it; the text is
    # rendered at send time, in the person's language, with the session as it is then.
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        session_id INTEGER REFERENCES sessions (id),
        text_key TEXT NOT NULL,
        values_json TEXT NOT NULL DEFAULT '{}',
        due_at TEXT NOT NULL,
        expires_at TEXT,
        dedupe_key TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dropped', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, due_at);
    CREATE INDEX outbox_by_session ON outbox (session_id, status);
    """,
    # 6: announcements (broadcasts) and the officer inbox. A broadcast becomes one outbox row
    # per recipient when it is due; outbox rows may go to another chat than the person's (a
    # question forwarded to the staff group). People can stop announcements (subscribed) and
    # are inactive once they blocked the bot, until they write again.
    """
    ALTER TABLE people ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE people ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE people ADD COLUMN announcements_told INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        text_id TEXT NOT NULL,
        text_en TEXT NOT NULL DEFAULT '',
        office TEXT NOT NULL,
        audience TEXT NOT NULL,
        send_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'scheduled'
            CHECK (status IN ('scheduled', 'sending', 'done', 'cancelled')),
        recipients INTEGER,
        created_by TEXT NOT NULL,
        sender_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX broadcasts_due ON broadcasts (status, send_at);
    ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts (id);
    ALTER TABLE outbox ADD COLUMN channel TEXT;
    ALTER TABLE outbox ADD COLUMN chat TEXT;
    CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status);
    CREATE INDEX outbox_due_direct ON outbox (due_at)
        WHERE status = 'pending' AND broadcast_id IS NULL;
    CREATE INDEX outbox_due_broadcast ON outbox (due_at)
        WHERE status = 'pending' AND broadcast_id IS NOT NULL;
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        question TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('asked', 'declined')),
        asked_at TEXT NOT NULL,
        forwarded_at TEXT,  -- NULL: held back (hourly limit) or no staff group
        details TEXT NOT NULL DEFAULT '{}'  -- who asked, as shown to the staff group
    );
    CREATE INDEX inbox_by_person ON inbox (person_id, asked_at);
    CREATE TABLE inbox_answers (
        id INTEGER PRIMARY KEY,
        inbox_id INTEGER NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
        answer TEXT NOT NULL,
        answered_by TEXT NOT NULL,
        answered_at TEXT NOT NULL
    );
    CREATE INDEX inbox_answers_by_question ON inbox_answers (inbox_id);
    """,
    # 7: privacy and robustness. Who did what among staff (audit_log); the platform's id of
    # each incoming message, so one delivered twice is acted on once (messages.update_key);
    # when each periodic job last ran (jobs); when a person's data was erased on request;
    # the platform's id of a sent message and what the platform later said of it (WhatsApp
    # reports delivered, read or failed after accepting a message).
    """
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_by_time ON audit_log (at);
    ALTER TABLE messages ADD COLUMN update_key TEXT;
    CREATE UNIQUE INDEX messages_by_update ON messages (update_key) WHERE update_key IS NOT NULL;
    CREATE INDEX messages_by_time ON messages (received_at);
    CREATE TABLE jobs (
        name TEXT PRIMARY KEY,
        last_run TEXT NOT NULL
    );
    ALTER TABLE people ADD COLUMN erased_at TEXT;
    ALTER TABLE inbox_answers ADD COLUMN update_key TEXT;
    CREATE UNIQUE INDEX inbox_answers_by_update ON inbox_answers (update_key)
        WHERE update_key IS NOT NULL;
    ALTER TABLE outbox ADD COLUMN platform_id TEXT;
    ALTER TABLE outbox ADD COLUMN receipt TEXT;
    CREATE INDEX outbox_by_platform_id ON outbox (platform_id) WHERE platform_id IS NOT NULL;
    """,
    # 8: each flow names the feature that owns it ({"owner": "signup", "step": ...}), instead
    # of features telling their flows apart by their keys. Flows from before are converted, so
    # a sign-up or a draft half done at the upgrade goes on where it was.
    """
    UPDATE people SET flow = json_remove(json_set(flow, '$.owner', 'staff_broadcasts'), '$.staff')
        WHERE flow IS NOT NULL AND json_extract(flow, '$.staff') = 'announce';
    UPDATE people SET flow = json_remove(
            json_set(flow, '$.owner', 'staff_sessions', '$.mode', json_extract(flow, '$.staff')),
            '$.staff')
        WHERE flow IS NOT NULL AND json_extract(flow, '$.staff') IN ('new', 'move');
    UPDATE people SET flow = json_set(flow, '$.owner', 'officer')
        WHERE flow IS NOT NULL AND json_extract(flow, '$.owner') IS NULL
        AND json_extract(flow, '$.step') = 'officer';
    UPDATE people SET flow = json_set(flow, '$.owner', 'announcements')
        WHERE flow IS NOT NULL AND json_extract(flow, '$.owner') IS NULL
        AND json_extract(flow, '$.step') = 'set_village';
    UPDATE people SET flow = json_set(flow, '$.owner', 'signup')
        WHERE flow IS NOT NULL AND json_extract(flow, '$.owner') IS NULL;
    """,
    # 9: durable intake. Every incoming update is stored before the platform is told it
    # arrived, then handled from here, each chat in order (bot/domain/intake.py); the key
    # names the bot or phone number, so a new bot token does not collide with old ids. A
    # reply that is sent part by part remembers how many parts went out (outbox.parts_sent).
    """
    CREATE TABLE intake (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: replies are keyed on it
        update_key TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        chat TEXT NOT NULL,
        payload TEXT,
        received_at TEXT NOT NULL,
        handled_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX intake_waiting ON intake (channel, id) WHERE handled_at IS NULL;
    CREATE INDEX intake_handled ON intake (handled_at) WHERE handled_at IS NOT NULL;
    ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
    """,
    # 10: the staff console's accounts (each an office worker, admin or officer; a disabled
    # one keeps its row for the audit log) and its signed-in sessions, kept server-side so
    # they can be revoked; only a digest of a session's token is stored.
    """
    CREATE TABLE staff_accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'officer')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled_at TEXT
    );
    CREATE TABLE console_sessions (
        token_digest TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES staff_accounts (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX console_sessions_by_account ON console_sessions (account_id);
    """,
    # 11: attendance at the door: when someone was checked in, and how they came in when they
    # had no seat (admitted from the waiting list, or a walk-in with no booking before).
    """
    ALTER TABLE registrations ADD COLUMN checked_in_at TEXT;
    ALTER TABLE registrations ADD COLUMN admitted TEXT
        CHECK (admitted IS NULL OR admitted IN ('waitlist', 'walk_in'));
    """,
    # 12: staff among the people (telegram.staff_ids, kept in step by bot/domain/people.py)
    # are not villagers: left out of the figures, and sent villager announcements only once
    # they chose to (MULAI), which announcements_chosen records (BERHENTI is a choice too).
    """
    ALTER TABLE people ADD COLUMN staff INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN announcements_chosen INTEGER NOT NULL DEFAULT 0;
    -- MULAI or BERHENTI typed before: the message log says so (a tap is not told apart)
    UPDATE people SET announcements_chosen = 1 WHERE id IN
        (SELECT person_id FROM messages WHERE action IN ('subscribed', 'unsubscribed'));
    """,
    # 13: the console's officer inbox. An officer takes a question ("saya jawab") so that two
    # do not answer it: who holds it, and since when (the first answer takes it too).
    """
    ALTER TABLE inbox ADD COLUMN taken_by TEXT;
    ALTER TABLE inbox ADD COLUMN taken_at TEXT;
    CREATE INDEX inbox_by_time ON inbox (asked_at);
    """,
    # 14: teaching the bot from the console. A question the FAQ could not answer, marked by an
    # officer as meaning a topic, becomes one more example of it for the matcher (merged with
    # the FAQ's own); marked as needing a new topic (topic_id NULL), it waits for the admin.
    """
    CREATE TABLE faq_teaching (
        id INTEGER PRIMARY KEY,
        question TEXT NOT NULL UNIQUE,  -- as asked, lower case and trimmed
        topic_id TEXT,
        taught_by TEXT NOT NULL,
        taught_at TEXT NOT NULL
    );
    """,
    # 15: FAQ answers edited in the console: each change of a topic with what it was before,
    # so the previous version can be restored with one click (the file holds the current one).
    """
    CREATE TABLE faq_changes (
        id INTEGER PRIMARY KEY,
        topic_id TEXT NOT NULL,
        before TEXT NOT NULL,  -- JSON: title, answer, sources as they were
        after TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX faq_changes_by_topic ON faq_changes (topic_id, id);
    """,
    # 16: a picture with an announcement (JPEG or PNG, at most 5 MB), kept in the database so
    # that a backup holds it. Uploaded with the console's preview and joined to the broadcast
    # when it is sent; one never sent is deleted by housekeeping a day later.
    """
    CREATE TABLE pictures (
        id INTEGER PRIMARY KEY,
        media_type TEXT NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
        data BLOB NOT NULL,
        size INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        file_name TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    ALTER TABLE broadcasts ADD COLUMN picture_id INTEGER REFERENCES pictures (id);
    """,
    # 17: WhatsApp's messaging tier: a business may start conversations (a template outside
    # the 24-hour window) with only so many people in a rolling 24 hours. Each start, kept a
    # few days, so the delivery worker can count the people of the last 24 hours.
    """
    CREATE TABLE conversations_started (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        started_at TEXT NOT NULL,
        platform_id TEXT  -- the template that started it, known once it was accepted
    );
    CREATE INDEX conversations_started_by_message ON conversations_started (platform_id);
    CREATE INDEX conversations_started_by_time ON conversations_started (started_at, person_id);
    """,
    # 18: when a message was written, as its platform says (WhatsApp's timestamp): updates
    # waiting together are handled in that order, whatever order their POSTs came in.
    """
    ALTER TABLE intake ADD COLUMN written_at INTEGER;
    """,
)
