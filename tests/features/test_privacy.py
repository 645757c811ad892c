"""Privacy: a person sees everything kept about them and can erase it; old texts are erased by
a daily job; an identity number (NIK) is never stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auxil.chat import STAFF, actions, talker
from auxil.sessions import a_session
from bot.app import App
from bot.core.messages import Kind
from bot.domain import privacy
from bot.domain.registrations import register
from bot.domain.sessions import get_session

say = talker(channel="telegram", name="Siti")


async def signed_up(c: App, user: str = "42", capacity: int = 1):
    """A villager with a profile and a confirmed seat; returns the session."""
    session = await a_session(c.db, capacity=capacity)
    await say(c, Kind.BUTTON, f"reg:{session.code}", user=user)
    await say(c, Kind.TEXT, "Siti Aminah", user=user)
    await say(c, Kind.BUTTON, "vil:1", user=user)
    await say(c, Kind.TEXT, "0812 3456 7890", user=user)
    [registered] = await say(c, Kind.BUTTON, "consent:yes", user=user)
    assert "Kode booking" in registered.text
    return session


async def test_consent_says_what_is_kept_for_how_long_and_how_to_delete(app):
    session = await a_session(app.db)
    await say(app, Kind.BUTTON, f"reg:{session.code}")
    await say(app, Kind.TEXT, "Siti Aminah")
    await say(app, Kind.BUTTON, "vil:1")
    [_, consent] = await say(app, Kind.TEXT, "lewati")
    assert "Tidak pernah NIK" in consent.text
    assert "paling lama 180 hari" in consent.text
    assert "/datasaya" in consent.text and "/hapusdata" in consent.text


async def test_datasaya_shows_everything_kept_and_sends_it_as_a_file(app):
    c = app
    await signed_up(c)
    await say(c, Kind.TEXT, "berapa biaya paspor")
    [reply] = await say(c, Kind.COMMAND, "datasaya")
    assert "• Nama: Siti Aminah" in reply.text and "• Desa: Sibowi" in reply.text
    assert "+6281234567890" in reply.text and "Pengumuman: menerima" in reply.text
    assert "terdaftar" in reply.text  # the booking with its status
    assert actions(reply) == ["erase:ask", "menu"]
    name, content = reply.document
    assert name.endswith(".txt")
    document = content.decode("utf-8")
    assert "berapa biaya paspor" in document and "Siti Aminah" in document


async def test_hapusdata_erases_the_person_and_gives_their_seat_to_the_next(app):
    c = app
    session = await signed_up(c, capacity=1)
    waiting = (await c.db.fetchone("SELECT id FROM people WHERE channel_user_id = '42'"))[0]
    from bot.domain.people import touch_person

    other = await touch_person(c.db, "telegram", "77", "Budi", "id")
    await register(c.db, session.code, other.id)  # waitlisted behind Siti
    await say(c, Kind.TEXT, "umur saya 25 tahun, bisa kerja di Taiwan?")
    [ask] = await say(c, Kind.COMMAND, "hapusdata")
    assert actions(ask) == ["erase:yes", "menu"] and "tidak bisa dibatalkan" in ask.text
    [done] = await say(c, Kind.BUTTON, "erase:yes")
    assert "sudah dihapus" in done.text
    row = await c.db.fetchone(
        "SELECT channel_user_id, full_name, village, phone, subscribed, display_name"
        " FROM people WHERE id = ?",
        (waiting,),
    )
    assert tuple(row) == (f"erased:{waiting}", None, None, None, 0, "")
    texts = await c.db.fetchall(
        "SELECT text FROM messages WHERE person_id = ? AND text IS NOT NULL", (waiting,)
    )
    assert [t[0] for t in texts] == ["erase:yes"]  # only the button just pressed; no words
    counted = await c.db.fetchone("SELECT count(*) FROM messages WHERE person_id = ?", (waiting,))
    assert counted[0] >= 7  # the counts behind the statistics stay
    assert (await get_session(c.db, session.code)).confirmed == 1  # Budi moved up
    promoted = await c.db.fetchone(
        "SELECT status FROM registrations WHERE person_id = ?", (other.id,)
    )
    assert promoted[0] == "confirmed"
    [again] = await say(c, Kind.COMMAND, "start")  # writing again: someone new
    assert "Halo Siti" in again.text
    assert (await c.db.fetchone("SELECT count(*) FROM people WHERE channel_user_id = '42'"))[0] == 1


async def test_an_identity_number_is_never_stored(app):
    await say(app, Kind.TEXT, "NIK saya 7271012345678901 bisa bikin paspor?")
    row = await app.db.fetchone("SELECT text FROM messages")
    assert "7271012345678901" not in row[0] and "[NIK]" in row[0]


async def test_the_daily_job_erases_old_texts_but_keeps_the_counts(app):
    c = app
    await say(c, Kind.TEXT, "berapa biaya paspor")
    await say(c, Kind.TEXT, "syarat paspor apa saja")
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat(timespec="milliseconds")
    await c.db.write_one("UPDATE messages SET received_at = ? WHERE id = 1", (old,))
    now = datetime.now(UTC)
    assert await privacy.run_retention_if_due(c.db, now, 180)
    rows = await c.db.fetchall("SELECT text FROM messages ORDER BY id")
    assert [r[0] for r in rows] == [None, "syarat paspor apa saja"]
    assert not await privacy.run_retention_if_due(c.db, now + timedelta(hours=23), 180)
    assert await privacy.run_retention_if_due(c.db, now + timedelta(hours=25), 180)


@pytest.mark.parametrize("days", [0, 3651, "lama"])
def test_retention_days_is_checked(make_config, days):
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"privacy\.retention_days: expected a whole number"):
        make_config(privacy={"retention_days": days})


@pytest.mark.parametrize(
    "typed",
    ["7271012345678901", "7271 0123 4567 8901", "7271.0123.4567.8901", "7271-0123-45678901"],
)
async def test_an_identity_number_is_never_stored_however_written(app, typed):
    await say(app, Kind.TEXT, f"NIK saya {typed} bisa bikin paspor?")
    row = await app.db.fetchone("SELECT text FROM messages")
    assert "[NIK]" in row[0] and "4567" not in row[0]


async def test_sign_up_answers_are_kept_only_with_consent(app):
    c = app
    session = await a_session(c.db)
    await say(c, Kind.BUTTON, f"reg:{session.code}")
    [refused] = await say(c, Kind.TEXT, "Siti 7271012345678901")
    assert "7271012345678901" not in refused.text  # a name has no digits
    await say(c, Kind.TEXT, "Siti Aminah")
    await say(c, Kind.BUTTON, "vil:1")
    await say(c, Kind.TEXT, "0812 3456 7890")
    profile = await c.db.fetchone("SELECT full_name, village, phone FROM people")
    assert tuple(profile) == (None, None, None)  # nothing kept before consent
    await say(c, Kind.BUTTON, "consent:no")
    profile = await c.db.fetchone("SELECT full_name, village, phone, flow FROM people")
    assert tuple(profile) == (None, None, None, None)
    logged = [r[0] for r in await c.db.fetchall("SELECT text FROM messages")]
    assert not any("Siti" in (t or "") or "3456" in (t or "") for t in logged), logged


async def test_a_sign_up_left_half_done_is_forgotten_after_a_week(app):
    c = app
    session = await a_session(c.db)
    await say(c, Kind.BUTTON, f"reg:{session.code}")
    await say(c, Kind.TEXT, "Siti Aminah")
    assert "Siti Aminah" in (await c.db.fetchone("SELECT flow FROM people"))[0]
    await privacy.run_retention_if_due(c.db, datetime.now(UTC) + timedelta(days=6), 180)
    assert (await c.db.fetchone("SELECT flow FROM people"))[0] is not None
    await c.db.write_one("DELETE FROM jobs")
    await privacy.run_retention_if_due(c.db, datetime.now(UTC) + timedelta(days=8), 180)
    assert (await c.db.fetchone("SELECT flow FROM people"))[0] is None


async def test_audit_details_keep_no_identity_or_phone_numbers(app):
    from bot.domain import audit

    await audit.record(app.db, "cli:x", "test", "HP 0812-3456-7890 NIK 7271012345678901")
    row = await app.db.fetchone("SELECT detail FROM audit_log")
    assert row[0] == "HP [phone] NIK [NIK]"


@pytest.mark.parametrize(
    "typed",
    [
        "7271  0123  4567  8901",  # two spaces between groups
        "7271 – 0123 – 4567 – 8901",  # an en dash
        "7271/0123/4567/8901",
        "7271_0123_4567_8901",
        "72.71.01.23.45.67.89.01",
    ],
)
async def test_an_identity_number_in_any_grouping_is_never_stored(app, typed):
    await say(app, Kind.TEXT, f"NIK saya {typed} bisa bikin paspor?")
    row = await app.db.fetchone("SELECT text FROM messages")
    assert "[NIK]" in row[0] and "4567" not in row[0] and "45.67" not in row[0]


async def test_after_hapusdata_neither_the_file_nor_its_wal_holds_what_was_erased(staffed):
    """grep the bytes: the name, the phone number and what they typed are gone from the
    database file and from its -wal, the audit log included, while the bot still runs."""
    c = staffed
    await signed_up(c)  # Siti Aminah, 0812 3456 7890, a confirmed seat
    await say(c, Kind.TEXT, "kalimat rahasia unik tentang agen gelap")
    booking = (await c.db.fetchone("SELECT booking_code FROM registrations"))[0]
    [checked] = await say(c, Kind.COMMAND, f"hadir {booking}", user=STAFF, name="Petugas")
    assert "Siti Aminah" in checked.text
    audit = await c.db.fetchone("SELECT detail FROM audit_log WHERE action = 'staff_checkin'")
    assert "Siti Aminah" in audit[0]  # says who came, until she erases her data
    await say(c, Kind.BUTTON, "erase:yes")
    database = c.db.path
    for path in (database, database.with_name(database.name + "-wal")):
        data = path.read_bytes() if path.exists() else b""
        for erased in (b"Siti", b"Aminah", b"6281234567890", b"agen gelap", b"rahasia"):
            assert erased not in data, f"{path.name} still holds {erased!r}"
    [detail] = await c.db.fetchone("SELECT detail FROM audit_log WHERE action = 'staff_checkin'")
    assert booking in detail and "[erased]" in detail  # who acted and on what booking stay
