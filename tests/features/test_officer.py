"""The officer inbox in the core: questions go to the staff group through the outbox, a reply
there comes back to the villager's own chat, and the exchange is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from auxil.chat import actions, talker
from bot.app import App, open_app
from bot.core.messages import Incoming, Kind, Reply
from bot.domain.inbox import MAX_FORWARDS_PER_HOUR
from bot.domain.outbox import Due

say = talker(channel="telegram", name="Budi")

GROUP = -1001234567890


@pytest.fixture
async def with_group(make_config):
    bp3mi = {"name": "BP3MI Sulawesi Tengah", "hours": "Senin–Jumat 08.00–16.00"}
    config = make_config(
        telegram={"staff_group_id": GROUP, "staff_ids": [777]}, offices={"bp3mi": bp3mi}
    )
    async with open_app(config) as app:
        yield app


async def in_group(app, text: str, reply_to: str, user: str = "777") -> list[Reply]:
    incoming = Incoming(
        "telegram", user, Kind.TEXT, text, display_name="Ibu Sari",
        group=str(GROUP), reply_to=reply_to,
    )  # fmt: skip
    return await app.handle(incoming)


async def queued(app: App) -> list[dict]:
    rows = await app.db.fetchall(
        "SELECT o.id, o.person_id, o.text_key, o.values_json, o.channel, o.chat,"
        " p.channel_user_id, p.lang FROM outbox o JOIN people p ON p.id = o.person_id"
        " ORDER BY o.id"
    )
    return [dict(r) for r in rows]


async def rendered(app: App, row: dict) -> Reply:
    due = Due(
        id=row["id"], person_id=row["person_id"],
        channel_user_id=row["chat"] or row["channel_user_id"], lang=row["lang"],
        session_id=None, text_key=row["text_key"], values=json.loads(row["values_json"]),
        attempts=0, to_person=row["chat"] is None,
    )  # fmt: skip
    reply = await app.render_due(due)
    assert reply is not None
    return reply


async def test_tanya_petugas_forwards_the_question_with_who_asked(with_group):
    c = with_group
    await say(c, Kind.BUTTON, "sub:v:1")  # village Sibowi
    [menu] = await say(c, Kind.COMMAND, "menu")
    assert "officer" in actions(menu)
    [prompt] = await say(c, Kind.BUTTON, "officer")
    assert "Tulis pertanyaan Anda untuk petugas" in prompt.text
    [told] = await say(c, Kind.TEXT, "Agen minta uang 5 juta untuk kerja di Taiwan, aman?")
    assert "sudah diteruskan ke petugas" in told.text
    assert "🕘 BP3MI Sulawesi Tengah: Senin–Jumat 08.00–16.00" in told.text  # office hours
    [row] = await queued(c)
    assert (row["channel"], row["chat"], row["text_key"]) == (
        "telegram",
        str(GROUP),
        "inbox_forward",
    )
    forward = await rendered(c, row)
    assert forward.text.startswith("📨 Pertanyaan #T1 dari warga (lewat tombol Tanya petugas)")
    assert "👤 Budi" in forward.text and "🏡 Desa Sibowi" in forward.text
    assert "Agen minta uang 5 juta untuk kerja di Taiwan, aman?" in forward.text
    assert forward.buttons == ()  # nothing for staff to press in the group


async def test_a_declined_question_goes_to_an_officer_with_one_tap_and_chatter_stays(
    with_group,
):
    c = with_group
    [thanks] = await say(c, Kind.TEXT, "terima kasih banyak kak")
    assert actions(thanks)[0] == "fwd" and "Kirim ke petugas" in thanks.text
    [declined] = await say(c, Kind.TEXT, "siapa juara piala dunia tahun lalu")
    assert actions(declined)[0] == "fwd"
    assert await queued(c) == []  # nothing goes to officers unless the villager asks
    [told] = await say(c, Kind.BUTTON, "fwd")
    assert "sudah diteruskan ke petugas" in told.text
    [row] = await queued(c)
    forward = (await rendered(c, row)).text
    assert "(FAQ tidak bisa menjawab)" in forward
    assert "siapa juara piala dunia tahun lalu" in forward  # the last declined question
    assert "terima kasih" not in forward


async def test_tapping_send_to_an_officer_again_and_again_stores_the_question_once(with_group):
    c = with_group
    await say(c, Kind.TEXT, "siapa juara piala dunia tahun lalu")
    for _ in range(10):
        [told] = await say(c, Kind.BUTTON, "fwd")
        assert "sudah diteruskan ke petugas" in told.text
    assert len(await queued(c)) == 1
    [(stored,)] = await c.db.fetchall("SELECT count(*) FROM inbox")
    assert stored == 1
    await say(c, Kind.TEXT, "bagaimana resep rendang yang enak")  # another one: goes too
    await say(c, Kind.BUTTON, "fwd")
    assert len(await queued(c)) == 2


async def test_without_a_staff_group_nothing_is_promised(app):
    [menu] = await say(app, Kind.COMMAND, "menu")
    assert "officer" not in actions(menu)
    [reply] = await say(app, Kind.TEXT, "siapa juara piala dunia tahun lalu")
    assert "petugas akan menjawab" not in reply.text and "fwd" not in actions(reply)
    assert "contact" in actions(reply)
    assert await queued(app) == []


async def test_the_staff_group_cannot_be_flooded_by_one_villager(with_group):
    c = with_group
    for n in range(MAX_FORWARDS_PER_HOUR):
        await say(c, Kind.BUTTON, "officer")
        await say(c, Kind.TEXT, f"pertanyaan nomor {n} untuk petugas")
    await say(c, Kind.BUTTON, "officer")
    [limited] = await say(c, Kind.TEXT, "satu lagi pertanyaan")
    assert "banyak pertanyaan dalam satu jam" in limited.text
    assert len(await queued(c)) == MAX_FORWARDS_PER_HOUR
    stored = await c.db.fetchall("SELECT forwarded_at IS NOT NULL FROM inbox ORDER BY id")
    assert [r[0] for r in stored] == [1] * MAX_FORWARDS_PER_HOUR + [0]  # kept, held back
    await c.housekeeping(datetime.now(UTC))
    assert len(await queued(c)) == MAX_FORWARDS_PER_HOUR  # still within the hour
    await c.db.write_one(
        "UPDATE inbox SET forwarded_at = '2000-01-01T00:00:00' WHERE forwarded_at IS NOT NULL"
    )  # an hour later
    await c.housekeeping(datetime.now(UTC))
    rows = await queued(c)
    assert len(rows) == MAX_FORWARDS_PER_HOUR + 1
    assert "satu lagi pertanyaan" in (await rendered(c, rows[-1])).text
    [listing] = await say(c, Kind.COMMAND, "belum_terjawab", user="555")
    assert "tidak saya kenal" in listing.text  # not staff: no such command


async def test_a_reply_in_the_staff_group_reaches_the_villager_and_is_stored(with_group):
    c = with_group
    await say(c, Kind.BUTTON, "officer")
    await say(c, Kind.TEXT, "Apakah LPK di Palu ini resmi?")
    forward = await rendered(c, (await queued(c))[0])
    [ack] = await in_group(c, "Cek di siskop2mi, atau datang ke kantor kami.", forward.text)
    assert ack.text == "✅ Jawaban #T1 akan dikirim ke Budi."
    answer_row = (await queued(c))[1]
    assert answer_row["chat"] is None and answer_row["channel_user_id"] == "42"
    answer = await rendered(c, answer_row)
    assert answer.text.startswith("💬 Jawaban petugas untuk pertanyaan Anda:")
    assert "“Apakah LPK di Palu ini resmi?”" in answer.text
    assert answer.text.endswith("Cek di siskop2mi, atau datang ke kantor kami.")
    assert actions(answer) == ["officer", "menu"]
    stored = await c.db.fetchone("SELECT answer, answered_by FROM inbox_answers")
    assert stored[0] == "Cek di siskop2mi, atau datang ke kantor kami."
    assert stored[1] == "Ibu Sari (telegram:777)"
    people = await c.db.fetchall("SELECT channel_user_id FROM people")
    assert [p[0] for p in people] == ["42"]  # the officer is no villager
    audit = await c.db.fetchone("SELECT actor, action, detail FROM audit_log")
    assert tuple(audit) == ("Ibu Sari (telegram:777)", "officer_reply", "#T1")


async def test_replies_that_answer_no_question_are_explained_and_other_groups_ignored(with_group):
    c = with_group
    [unknown] = await in_group(c, "ok siap", reply_to="✅ Sesi dibuat")
    assert "bertanda #T" in unknown.text
    [missing] = await in_group(c, "jawaban", reply_to="📨 Pertanyaan #T99 dari warga")
    assert "bertanda #T" in missing.text
    other = Incoming(
        "telegram", "777", Kind.TEXT, "halo", group="-100999", reply_to="📨 Pertanyaan #T1"
    )
    assert await c.handle(other) == []
    assert await queued(c) == []


async def test_staff_see_questions_still_waiting_for_an_officer(make_config):
    bp3mi = {"name": "BP3MI Sulawesi Tengah"}
    config = make_config(
        telegram={"staff_group_id": GROUP, "staff_ids": [555]}, offices={"bp3mi": bp3mi}
    )
    async with open_app(config) as c:
        await say(c, Kind.BUTTON, "sub:v:0")
        await say(c, Kind.BUTTON, "officer")
        await say(c, Kind.TEXT, "Berapa gaji di Malaysia sekarang?")
        [listing] = await say(c, Kind.COMMAND, "belum_terjawab", user="555")
        assert "#T1 · Budi (Langaleso)" in listing.text
        assert "Berapa gaji di Malaysia sekarang?" in listing.text


async def test_after_hapusdata_questions_are_neither_forwarded_nor_answered(with_group):
    c = with_group
    for n in range(MAX_FORWARDS_PER_HOUR + 2):  # two held back by the hourly limit
        await say(c, Kind.BUTTON, "officer")
        await say(c, Kind.TEXT, f"pertanyaan nomor {n} untuk petugas")
    forward = await rendered(c, (await queued(c))[0])
    await say(c, Kind.BUTTON, "erase:yes")
    await c.db.write_one(
        "UPDATE inbox SET forwarded_at = '2000-01-01' WHERE forwarded_at IS NOT NULL"
    )
    await c.housekeeping(datetime.now(UTC))
    forwards = await c.db.fetchall("SELECT count(*) FROM outbox WHERE text_key = 'inbox_forward'")
    assert forwards[0][0] == MAX_FORWARDS_PER_HOUR  # the held ones stayed held
    [note] = await in_group(c, "Jawabannya begini.", forward.text)
    assert "sudah menghapus datanya" in note.text
    assert (await c.db.fetchone("SELECT count(*) FROM inbox_answers"))[0] == 0


async def test_an_officer_reply_delivered_twice_is_acted_on_once(with_group):
    c = with_group
    await say(c, Kind.BUTTON, "officer")
    await say(c, Kind.TEXT, "Apakah LPK di Palu ini resmi?")
    forward = await rendered(c, (await queued(c))[0])
    reply = Incoming(
        "telegram", "777", Kind.TEXT, "Ya, resmi.", display_name="Ibu Sari",
        group=str(GROUP), reply_to=forward.text, update_id="555",
    )  # fmt: skip
    assert await c.handle(reply)
    assert await c.handle(reply) == []
    assert (await c.db.fetchone("SELECT count(*) FROM inbox_answers"))[0] == 1
    answers = await c.db.fetchall("SELECT id FROM outbox WHERE text_key = 'officer_answer'")
    assert len(answers) == 1


async def test_an_officer_answer_keeps_the_phone_number_it_gives(with_group):
    """Villagers' numbers stay out of what is kept; an office's callback number typed by an
    officer is the answer itself (an identity number is still masked)."""
    c = with_group
    await say(c, Kind.BUTTON, "officer")
    await say(c, Kind.TEXT, "Nomor kantor berapa?")
    forward = await rendered(c, (await queued(c))[0])
    typed = "Telepon kantor di 0451-421234 atau WA 0812-3456-7890. NIK 7271012345678901 jangan."
    await in_group(c, typed, forward.text)
    answer = await rendered(c, (await queued(c))[1])
    assert "0451-421234" in answer.text and "0812-3456-7890" in answer.text
    assert "7271012345678901" not in answer.text and "[NIK]" in answer.text


async def test_with_the_console_and_no_staff_group_questions_wait_in_the_console(make_config):
    from bot.domain import accounts

    config = make_config(offices={"bp3mi": {"name": "BP3MI", "hours": "Senin–Jumat"}})
    async with open_app(config) as first:  # an office with console accounts, no group
        await accounts.add_account(first.db, "budi", "officer", "x")
    async with open_app(config) as c:
        assert c.settings.officer_inbox and c.settings.staff_group is None
        [menu] = await say(c, Kind.COMMAND, "menu")
        assert "officer" in actions(menu)
        await say(c, Kind.BUTTON, "officer")
        [sent] = await say(c, Kind.TEXT, "Apakah LPK ini resmi?")
        assert "sudah diteruskan ke petugas" in sent.text
        assert await queued(c) == []  # no group to forward to: the console lists it
        [stored] = await c.db.fetchall("SELECT question FROM inbox")
        assert stored[0] == "Apakah LPK ini resmi?"


async def test_a_group_reply_to_a_question_taken_in_the_console_is_not_sent(with_group):
    from bot.domain import inbox

    c = with_group
    await say(c, Kind.BUTTON, "officer")
    await say(c, Kind.TEXT, "Apakah LPK di Palu ini resmi?")
    forward = await rendered(c, (await queued(c))[0])
    assert await inbox.take(c.db, 1, "budi (konsol)") == "budi (konsol)"
    [refused] = await in_group(c, "Resmi kok.", forward.text)
    assert refused.text == "#T1 sedang dijawab oleh budi (konsol); jawaban ini tidak dikirim."
    assert [r["text_key"] for r in await queued(c)] == ["inbox_forward"]  # no answer queued


async def test_an_officer_who_renamed_themselves_still_answers_their_own_question(with_group):
    c = with_group
    await say(c, Kind.BUTTON, "officer")
    await say(c, Kind.TEXT, "Apakah LPK di Palu ini resmi?")
    forward = await rendered(c, (await queued(c))[0])
    await in_group(c, "Saya cek dulu ya.", forward.text)  # the first answer holds it
    renamed = Incoming(
        "telegram", "777", Kind.TEXT, "Resmi, terdaftar di SISKOP2MI.", display_name="Sari BP3MI",
        group=str(GROUP), reply_to=forward.text,
    )  # fmt: skip
    [ack] = await c.handle(renamed)
    assert ack.text.startswith("✅ Jawaban #T1 akan dikirim")
    other = Incoming(
        "telegram", "778", Kind.TEXT, "Tidak resmi.", display_name="Sari BP3MI",
        group=str(GROUP), reply_to=forward.text,
    )  # fmt: skip
    c.settings.staff_ids = c.settings.staff_ids | {("telegram", "778")}
    [refused] = await c.handle(other)  # the same name, another person: not the holder
    assert "sedang dijawab oleh Ibu Sari (telegram:777)" in refused.text
