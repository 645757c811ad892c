"""Durable intake: every incoming update is stored before the platform is told it arrived.

A channel stores what it received (``store``) and only then acknowledges it (Telegram: the
next getUpdates offset, or the webhook's 200; WhatsApp: the webhook's 200). Handling works
from this table, oldest first, each chat in order; an update is marked handled in the same
transaction that logs it and queues its replies (``mark_handled``), so a crash at any point
either handles it again from here or has its replies waiting in the outbox. The key names the
bot (or phone number) and the platform's id, so a platform that delivers an update twice has
it acted on once, and a new bot token, whose ids start again, is not taken for a repeat.

Once handled, a row keeps only its key and times (the text and the chat are gone), for as
long as a platform may deliver it again (KEEP_KEYS), then ``forget_handled`` deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.store import Database, utc_now

KEEP_KEYS = timedelta(days=8)  # WhatsApp retries a webhook for up to 7 days, Telegram 1


@dataclass(frozen=True)
class Arrival:
    """One update as a channel received it: its key, the chat it belongs to (what must stay
    in order) and the payload to handle, as text."""

    key: str
    chat: str
    payload: str
    written_at: int | None = None  # the platform's timestamp of the message, when it has one


@dataclass(frozen=True)
class Waiting:
    id: int
    chat: str
    payload: str
    written_at: int | None = None


async def store(db: Database, channel: str, arrivals: list[Arrival]) -> int:
    """Store updates in one transaction; ones already stored (the same key) are left alone.
    Returns how many were new."""
    if not arrivals:
        return 0
    now = utc_now()
    rows = [(a.key, channel, a.chat, a.payload, now, a.written_at) for a in arrivals]

    def work(raw) -> int:
        before = raw.total_changes
        raw.executemany(
            "INSERT INTO intake (update_key, channel, chat, payload, received_at, written_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (update_key) DO NOTHING",
            rows,
        )
        return raw.total_changes - before

    return await db.in_one_trip(work)


async def waiting(db: Database, channel: str, after: int, limit: int) -> list[Waiting]:
    """Updates not handled yet, from after row ``after`` on: as they arrived, those written
    earlier (the platform's timestamps) first. Read under the write lock: on the shared
    connection a read could otherwise see a store's rows before its COMMIT, and handle an
    update whose storing then fails (and comes again)."""
    rows = await db.write_one(
        "SELECT id, chat, payload, written_at FROM (SELECT * FROM intake WHERE channel = ?"
        " AND handled_at IS NULL AND id > ? ORDER BY id LIMIT ?)"
        " ORDER BY coalesce(written_at, 0), id",
        (channel, after, limit),
    )
    return [Waiting(r["id"], r["chat"], r["payload"] or "", r["written_at"]) for r in rows]


async def count_waiting(db: Database, channel: str) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM intake WHERE handled_at IS NULL AND channel = ?", (channel,)
    )
    return int(row[0]) if row else 0


_HANDLED = "UPDATE intake SET handled_at = ?, payload = NULL, chat = '' WHERE id = ?"


def mark_handled(raw, intake_id: int) -> None:
    """Inside the transaction that logs the update and queues its replies (run in the
    database's thread, ``in_one_trip``): the text and the chat (a phone number on WhatsApp)
    go; the key stays, to know a repeat."""
    raw.execute(_HANDLED, (utc_now(), intake_id))


async def handled(db: Database, intake_id: int) -> None:
    """Marked handled on its own: an update that needed no log line or failed for good."""
    await db.write_one(_HANDLED, (utc_now(), intake_id))


async def count_attempt(db: Database, intake_id: int) -> int:
    """One more try at handling; returns how many there have been."""
    rows = await db.write_one(
        "UPDATE intake SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", (intake_id,)
    )
    return int(rows[0]["attempts"]) if rows else 0


async def forget_handled(db: Database, now: datetime) -> int:
    """Keys of updates handled longer ago than KEEP_KEYS: no platform sends those again."""
    cutoff = (now - KEEP_KEYS).isoformat(timespec="milliseconds")
    rows = await db.write_one(
        "DELETE FROM intake WHERE handled_at IS NOT NULL AND handled_at < ? RETURNING id",
        (cutoff,),
    )
    return len(rows)
