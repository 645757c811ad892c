"""Staff reports in the chat: /statistik counts people, questions, sessions and
announcements; /belum_terjawab lists what the FAQ could not answer."""

from __future__ import annotations

from auxil.chat import STAFF, talker
from auxil.sessions import a_session
from bot.core.messages import Kind

say = talker(channel="telegram", name="Budi")


async def test_staff_statistics_count_people_questions_sessions_and_announcements(staffed):
    await say(staffed, Kind.BUTTON, "sub:v:1", user="1")
    await say(staffed, Kind.BUTTON, "sub:v:1", user="2")
    await say(staffed, Kind.TEXT, "berhenti", user="2")
    await say(staffed, Kind.TEXT, "berapa biaya paspor", user="1")
    await say(staffed, Kind.TEXT, "siapa juara piala dunia tahun lalu", user="1")
    await staffed.db.write_one("UPDATE people SET active = 0 WHERE channel_user_id = '2'")
    session = await a_session(staffed.db)
    await say(staffed, Kind.COMMAND, "start", user=STAFF)
    await say(staffed, Kind.TEXT, "berapa biaya paspor", user=STAFF)  # staff trying it out
    [report] = await say(staffed, Kind.COMMAND, "statistik", user=STAFF)
    # the staff member is no villager: not among the people, nor their question
    assert "Warga: 2 (1 aktif, 1 memblokir bot, 1 berhenti pengumuman)" in report.text
    assert "• Sibowi: 2 (1 memblokir bot)" in report.text
    assert "1 dijawab FAQ, 1 tidak terjawab" in report.text
    assert f"• {session.code} " in report.text and "0/5 kursi (0%)" in report.text
    [unanswered] = await say(staffed, Kind.COMMAND, "belum_terjawab", user=STAFF)
    assert "1× siapa juara piala dunia tahun lalu" in unanswered.text
