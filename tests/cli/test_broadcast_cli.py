"""`desabot broadcast ...` and `desabot stats` as staff run them: real processes, real file."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auxil.processes import desabot
from bot.domain.people import set_subscribed, set_village, touch_person
from bot.domain.store import Database
from conftest import write_config

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def config(tmp_path):
    path = write_config(tmp_path)

    async def villagers() -> None:
        db = await Database.open(tmp_path / "desabot.sqlite3")
        try:
            for n, village in enumerate(["Sibowi", "Sibowi", "Kaleke", None]):
                person = await touch_person(db, "telegram", str(100 + n), f"Warga {n}", "id")
                if village:
                    await set_village(db, person.id, village)
            await set_subscribed(db, person.id, False)
        finally:
            await db.close()

    asyncio.run(villagers())
    return path


def test_dry_run_shows_the_message_and_the_recipients_and_queues_nothing(config):
    result = desabot(
        config, "broadcast", "send", "--text", "Sesi paspor Sabtu.", "--to", "village:sibowi",
        "--from", "imigrasi", "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "📢 Pengumuman dari Kantor Imigrasi Kelas I TPI Palu" in result.stdout
    assert "Sesi paspor Sabtu." in result.stdout
    assert "recipients now: 2 (village:Sibowi)" in result.stdout
    assert "nothing queued" in result.stdout
    assert "no announcements yet" in desabot(config, "broadcast", "list").stdout


def test_send_list_status_and_cancel(config, tmp_path):
    text_file = tmp_path / "teks.txt"
    text_file.write_text("Hati-hati calo.\nTanya petugas resmi.", encoding="utf-8")
    tomorrow = (datetime.now(WITA) + timedelta(days=1)).strftime("%Y-%m-%d 09:30")
    sent = desabot(
        config, "broadcast", "send", "--file", str(text_file), "--text-en", "Beware of brokers.",
        "--to", "all", "--at", tomorrow, "--notify", "100",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert "recipients now: 3 (all)" in sent.stdout  # the one who typed BERHENTI is left out
    assert f"announcement 1 queued for {tomorrow}" in sent.stdout
    listing = desabot(config, "broadcast", "list").stdout
    assert f"    1  {tomorrow}  scheduled" in listing and "Hati-hati calo." in listing
    status = desabot(config, "broadcast", "status", "#1").stdout
    assert "announcement 1: scheduled" in status and "recipients: not yet known" in status
    assert "summary to: telegram:100" in status
    cancelled = desabot(config, "broadcast", "cancel", "1")
    assert cancelled.returncode == 0 and "announcement 1 cancelled" in cancelled.stdout
    again = desabot(config, "broadcast", "cancel", "1")
    assert again.returncode == 1 and "already cancelled" in again.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "desabot.sqlite3") as conn:
        logged = conn.execute("SELECT actor, action, detail FROM audit_log ORDER BY id").fetchall()
    assert [(a.startswith("cli:"), b) for a, b, _ in logged] == [
        (True, "broadcast_send"),
        (True, "broadcast_cancel"),
    ]
    assert "to=all" in logged[0][2] and "Hati-hati calo." in logged[0][2]


MISTAKES = [
    (["--text", "x", "--to", "village:Sibow"], "unknown village 'Sibow'; known villages:"),
    (["--text", "x", "--to", "everyone"], 'expected "all", "village:NAME'),
    (["--text", "x", "--to", "all", "--at", "besok"], "such as 2026-12-14 09:00 or 14/12"),
    (["--text", "x", "--to", "all", "--at", "2020-01-01 09:00"], "is in the past"),
    (["--text", "y" * 3001, "--to", "all"], "3001 characters; at most 3000"),
    (["--text", "  ", "--to", "all"], "the announcement text is empty"),
    (["--file", "/nonexistent/teks.txt", "--to", "all"], "cannot read the text"),
    (["--text", "x", "--to", "session:ZZZZ"], "no scheduled session 'ZZZZ'"),
    (["--text", "x", "--to", "all", "--notify", "999"], "--notify 999: nobody with that"),
    (["--text", "x", "--to", "all", "--picture", "/nonexistent.jpg"], "cannot read it"),
    (["--text", "x", "--to", "all", "--picture", __file__], "not a picture"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES)
def test_mistakes_are_explained_in_one_line_and_nothing_is_queued(config, args, message):
    result = desabot(config, "broadcast", "send", *args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    import sqlite3

    with sqlite3.connect(config.parent / "desabot.sqlite3") as conn:  # nothing queued
        assert conn.execute("SELECT count(*) FROM broadcasts").fetchone() == (0,)


def test_an_announcement_with_a_picture_from_the_command_line(config, tmp_path):
    from auxil.pictures import picture

    poster = tmp_path / "poster.png"
    poster.write_bytes(picture("PNG", (640, 480), "P"))  # a palette: converted to RGB
    dry = desabot(config, "broadcast", "send", "--text", "Sesi paspor Sabtu.", "--to", "all",
                  "--picture", str(poster), "--dry-run")  # fmt: skip
    sent = desabot(config, "broadcast", "send", "--text", "Sesi paspor Sabtu.", "--to", "all",
                   "--picture", str(poster))  # fmt: skip
    assert "picture: poster.png, image/png, 640×480" in dry.stdout
    assert "dry run: nothing queued" in dry.stdout
    assert sent.returncode == 0, sent.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "desabot.sqlite3") as conn:
        [(picture_id, kept)] = conn.execute("SELECT id, data FROM pictures").fetchall()
        [(used,)] = conn.execute("SELECT picture_id FROM broadcasts").fetchall()
    assert used == picture_id and kept.startswith(b"\x89PNG")


def test_status_of_an_unknown_announcement(config):
    result = desabot(config, "broadcast", "status", "7")
    assert result.returncode == 1 and "no announcement 7" in result.stderr
    result = desabot(config, "broadcast", "status", "tujuh")
    assert result.returncode == 1 and "expected an announcement number" in result.stderr


def test_stats_in_either_language(config):
    result = desabot(config, "stats")
    assert result.returncode == 0, result.stderr
    assert "Warga: 4 (4 aktif, 0 memblokir bot, 1 berhenti pengumuman)" in result.stdout
    assert "• Sibowi: 2" in result.stdout and "(desa belum diisi): 1" in result.stdout
    english = desabot(config, "stats", "--lang", "en").stdout
    assert "Villagers: 4 (4 active, 0 blocked the bot, 1 stopped announcements)" in english


def add_session(config):
    """`desabot sessions add` for a session three days ahead, 20 seats."""
    start = (datetime.now(WITA) + timedelta(days=3)).strftime("%Y-%m-%d 09:00")
    end = (datetime.now(WITA) + timedelta(days=3)).strftime("%Y-%m-%d 12:00")
    return desabot(
        config, "sessions", "add", "--title", "Sosialisasi", "--village", "Sibowi",
        "--place", "Balai desa", "--start", start, "--end", end, "--capacity", "20",
    )  # fmt: skip


def test_session_changes_from_the_command_line_are_audited(config, tmp_path):
    added = add_session(config)
    assert added.returncode == 0, added.stderr
    code = added.stdout.strip()
    assert desabot(config, "sessions", "list").returncode == 0  # reading is not audited
    assert desabot(config, "sessions", "cancel", code).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "desabot.sqlite3") as conn:
        logged = conn.execute("SELECT action, detail FROM audit_log ORDER BY id").fetchall()
    assert [a for a, _ in logged] == ["sessions_add", "sessions_cancel"]
    assert "title=Sosialisasi" in logged[0][1] and f"code={code}" in logged[1][1]


def test_the_audit_line_of_a_command_holds_its_arguments_only(config, tmp_path):
    """The argument parser's own values (the command's handler) stay out of the detail."""
    added = add_session(config)
    assert added.returncode == 0, added.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "desabot.sqlite3") as conn:
        [(detail,)] = conn.execute("SELECT detail FROM audit_log").fetchall()
    assert "handler" not in detail and "function" not in detail and "0x" not in detail
    assert detail.startswith("capacity=20 command=sessions end=")
