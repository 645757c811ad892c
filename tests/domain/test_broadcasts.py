"""Announcements in the database: audiences, release into the outbox (one row a recipient),
quiet hours, cancelling, the text's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auxil.broadcasts import NEVER_QUIET, NIGHT, REACHABLE, WITA, announce, villager
from bot.domain import broadcasts, stats
from bot.domain.broadcasts import Audience, BroadcastError, QuietHours
from bot.domain.people import mark_staff, set_subscribed
from bot.domain.privacy import erase_person
from bot.domain.registrations import register
from bot.domain.sessions import DEFAULT_POLICY, create_session


async def outbox(db, broadcast_id: int) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT person_id, status, due_at FROM outbox WHERE broadcast_id = ? ORDER BY person_id",
        (broadcast_id,),
    )
    return [tuple(r) for r in rows]


def wita(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WITA)


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        (wita(2026, 12, 1, 22, 30), wita(2026, 12, 2, 7)),
        (wita(2026, 12, 2, 3, 0), wita(2026, 12, 2, 7)),
        (wita(2026, 12, 2, 21, 0), wita(2026, 12, 3, 7)),
        (wita(2026, 12, 2, 7, 0), None),
        (wita(2026, 12, 2, 20, 59), None),
    ],
)
def test_quiet_hours_wrap_midnight_and_end_in_the_morning(moment, until):
    assert NIGHT.until(moment) == until
    assert NEVER_QUIET.until(moment) is None


def test_quiet_hours_within_one_day():
    lunch = QuietHours(WITA, 12, 13)
    assert lunch.until(wita(2026, 12, 2, 12, 30)) == wita(2026, 12, 2, 13)
    assert lunch.until(wita(2026, 12, 2, 13, 0)) is None


async def test_audiences_are_parsed_and_unknown_villages_are_named(db):
    await villager(db, 1, "Kaleke")
    configured = ("Langaleso", "Sibowi")
    assert await broadcasts.parse_audience(db, "all", configured) == Audience("all")
    chosen = await broadcasts.parse_audience(db, "village: sibowi , KALEKE", configured)
    assert chosen.villages == ("Sibowi", "Kaleke")  # written as known, case ignored
    with pytest.raises(BroadcastError, match=r"unknown village 'Sibow'.*Langaleso, Sibowi, Kaleke"):
        await broadcasts.parse_audience(db, "village:Sibow", configured)
    for bad in ("", "everyone", "village:", "session:"):
        with pytest.raises(BroadcastError, match="expected"):
            await broadcasts.parse_audience(db, bad, configured)
    with pytest.raises(BroadcastError, match="no scheduled session"):
        await broadcasts.parse_audience(db, "session:ZZZZ", configured)


async def test_a_due_broadcast_reaches_each_subscribed_reachable_member_once(db):
    in_sibowi = await villager(db, 1, "Sibowi")
    also_sibowi = await villager(db, 2, "sibowi")
    elsewhere = await villager(db, 3, "Kaleke")
    stopped = await villager(db, 4, "Sibowi")
    await set_subscribed(db, stopped, False)
    blocked = await villager(db, 5, "Sibowi")
    await db.write_one("UPDATE people SET active = 0 WHERE id = ?", (blocked,))
    await villager(db, 6, "Sibowi", channel="console")  # no way to deliver to a terminal user
    village = await announce(db, Audience("village", ("Sibowi",)))
    everyone = await announce(db, Audience("all"))
    now = datetime.now(UTC)
    assert await broadcasts.release_due(db, now, NEVER_QUIET, REACHABLE) == [
        village.id,
        everyone.id,
    ]
    assert [r[0] for r in await outbox(db, village.id)] == [in_sibowi, also_sibowi]
    assert [r[0] for r in await outbox(db, everyone.id)] == [in_sibowi, also_sibowi, elsewhere]
    assert await broadcasts.release_due(db, now, NEVER_QUIET, REACHABLE) == []  # never twice
    assert (await broadcasts.get_broadcast(db, village.id)).recipients == 2


async def test_a_session_broadcast_goes_to_its_registrants_only(db):
    starts = datetime.now(UTC) + timedelta(days=3)
    session = await create_session(
        db, title_id="Sosialisasi", title_en="Talk", village="Pesaku", place="Balai",
        starts=starts, ends=starts + timedelta(hours=2), capacity=1,
    )  # fmt: skip
    confirmed, waiting = await villager(db, 1), await villager(db, 2)
    await villager(db, 3)
    await register(db, session.code, confirmed)
    await register(db, session.code, waiting)
    audience = await broadcasts.parse_audience(db, f"session:{session.code.lower()}", ())
    assert await broadcasts.count_recipients(db, audience, REACHABLE) == 2
    broadcast = await announce(db, audience)
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    assert [r[0] for r in await outbox(db, broadcast.id)] == [confirmed, waiting]


async def test_a_scheduled_broadcast_waits_for_its_time_and_its_audience_is_taken_then(db):
    later = datetime.now(UTC) + timedelta(hours=5)
    broadcast = await announce(db, Audience("all"), send_at=later)
    assert await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE) == []
    joined_meanwhile = await villager(db, 1)
    assert await broadcasts.release_due(db, later, NEVER_QUIET, REACHABLE) == [broadcast.id]
    assert [r[0] for r in await outbox(db, broadcast.id)] == [joined_meanwhile]


async def test_at_night_announcements_wait_for_the_morning_but_reminders_do_not(db):
    someone = await villager(db, 1)
    night = wita(2026, 12, 1, 23, 15)
    broadcast = await announce(db, Audience("all"), send_at=night - timedelta(hours=3))
    await broadcasts.release_due(db, night, NIGHT, REACHABLE)
    [(_, status, due_at)] = await outbox(db, broadcast.id)
    assert status == "pending" and datetime.fromisoformat(due_at) == wita(2026, 12, 2, 7)

    # released in the evening, still queued at 21:00: held until the morning
    evening = await announce(db, Audience("all"), send_at=wita(2026, 12, 2, 20, 0))
    await broadcasts.release_due(db, wita(2026, 12, 2, 20, 0), NIGHT, REACHABLE)
    async with db.write() as conn:
        from bot.domain.outbox import enqueue

        await enqueue(
            conn, person_id=someone, text_key="notice_promoted", dedupe_key="r",
            due=wita(2026, 12, 2, 21, 30),
        )  # fmt: skip
    await broadcasts.hold_for_quiet_hours(db, wita(2026, 12, 2, 21, 30), NIGHT)
    [(_, _, due_at)] = await outbox(db, evening.id)
    assert datetime.fromisoformat(due_at) == wita(2026, 12, 3, 7)
    reminder = await db.fetchone("SELECT due_at FROM outbox WHERE dedupe_key = 'r'")
    assert datetime.fromisoformat(reminder[0]) == wita(2026, 12, 2, 21, 30)


async def test_cancelling_withdraws_what_is_still_queued(db):
    for n in range(3):
        await villager(db, n)
    broadcast = await announce(db, Audience("all"))
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    first = (await outbox(db, broadcast.id))[0][0]
    await db.write_one(
        "UPDATE outbox SET status = 'sent' WHERE broadcast_id = ? AND person_id = ?",
        (broadcast.id, first),
    )
    assert await broadcasts.cancel_broadcast(db, broadcast.id) == 2
    assert await broadcasts.summary(db, broadcast.id) == {
        "queued": 0, "sent": 1, "failed": 0, "skipped": 2, "parked": 0,
    }  # fmt: skip
    with pytest.raises(BroadcastError, match="already cancelled"):
        await broadcasts.cancel_broadcast(db, broadcast.id)
    with pytest.raises(BroadcastError, match="no broadcast 99"):
        await broadcasts.cancel_broadcast(db, 99)


async def test_a_scheduled_broadcast_cancelled_before_its_time_reaches_nobody(db):
    await villager(db, 1)
    broadcast = await announce(db, Audience("all"), send_at=datetime.now(UTC) + timedelta(1))
    assert await broadcasts.cancel_broadcast(db, broadcast.id) == 0
    assert (
        await broadcasts.release_due(db, datetime.now(UTC) + timedelta(2), NEVER_QUIET, REACHABLE)
        == []
    )
    assert await outbox(db, broadcast.id) == []


async def test_text_is_checked(db):
    with pytest.raises(BroadcastError, match="empty"):
        await announce_text(db, "   \n")
    with pytest.raises(BroadcastError, match="3001 characters; at most 3000"):
        await announce_text(db, "x" * 3001)


async def announce_text(db, text: str):
    return await broadcasts.create_broadcast(
        db, text_id=text, office="bp3mi", audience=Audience("all"),
        send_at=datetime.now(UTC), created_by="test",
    )  # fmt: skip


async def test_staff_get_villager_announcements_only_once_they_ask_and_are_not_counted(db):
    """Staff (telegram.staff_ids) are not villagers: no announcement until they choose MULAI,
    and no place in the figures; taken off the list, they count again."""
    villager_id = await villager(db, 1, "Sibowi")
    officer = await villager(db, 2, "Sibowi", channel="telegram")
    await mark_staff(db, [("telegram", "2")])
    everyone = Audience("all")
    assert await broadcasts.count_recipients(db, everyone, REACHABLE) == 1
    assert (await stats.reach(db, REACHABLE)).total == 1
    await set_subscribed(db, officer, True)  # typed MULAI
    assert await broadcasts.count_recipients(db, everyone, REACHABLE) == 2
    assert (await stats.reach(db, REACHABLE)).total == 1  # still no villager
    first = await announce(db, everyone)
    await broadcasts.release_due(db, datetime.now(UTC), NEVER_QUIET, REACHABLE)
    assert [r[0] for r in await outbox(db, first.id)] == [villager_id, officer]
    await mark_staff(db, [])  # no longer staff
    assert (await stats.reach(db, REACHABLE)).total == 2


async def test_a_staff_member_who_erased_their_data_never_counts_as_a_villager(db):
    officer = await villager(db, 2, "Sibowi", channel="telegram")
    await mark_staff(db, [("telegram", "2")])
    await erase_person(db, officer, DEFAULT_POLICY)
    await mark_staff(db, [("telegram", "2")])  # the next start: the row lost its user id
    assert (await stats.reach(db, REACHABLE)).total == 0
