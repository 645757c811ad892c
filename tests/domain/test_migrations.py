"""Upgrading a database: flows written before each flow named its owner are converted, so a
sign-up, a draft announcement or a rescheduling half done at the upgrade goes on."""

from __future__ import annotations

import json
import sqlite3

from auxil.chat import actions, talker
from auxil.sessions import a_session
from bot.app import open_app
from bot.core.messages import Kind
from bot.domain.migrations import MIGRATIONS
from bot.domain.store import _statements

say = talker(channel="telegram", name="Budi")
STAFF = "555"
OLD_FLOWS = {
    "1": {"step": "village", "session": "SESSION", "answers": {"full_name": "Budi Santoso"}},
    "2": {"step": "set_village"},
    "3": {"step": "officer"},
    STAFF: {"staff": "announce", "step": "text_en", "draft": {"text_id": "Halo desa"}},
    "556": {"staff": "move", "step": "end", "code": "SESSION", "draft": {"start": "x"}},
}


def version_7_database(path, code: str) -> None:
    with sqlite3.connect(path) as conn:
        for script in MIGRATIONS[:7]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 7")
        for user, flow in OLD_FLOWS.items():
            text = json.dumps(flow).replace("SESSION", code)
            conn.execute(
                "INSERT INTO people (channel, channel_user_id, display_name, lang, created_at,"
                " flow, announcements_told) VALUES ('telegram', ?, 'Budi', 'id', 'x', ?, 1)",
                (user, text),
            )


async def test_flows_from_before_the_upgrade_go_on(make_config, tmp_path):
    config = make_config(telegram={"staff_ids": [555, 556]})
    async with open_app(config) as app:  # a session to sign up for, in a database of today
        code = (await a_session(app.db)).code
    old = tmp_path / "old.sqlite3"
    version_7_database(old, code)
    with sqlite3.connect(old) as target:
        target.execute("ATTACH ? AS new", (str(config.database),))
        target.execute("INSERT INTO sessions SELECT * FROM new.sessions")
    config = make_config(database=str(old), telegram={"staff_ids": [555, 556]})
    async with open_app(config) as app:
        owners = {
            r["channel_user_id"]: json.loads(r["flow"])
            for r in await app.db.fetchall("SELECT channel_user_id, flow FROM people")
        }
        assert {user: flow["owner"] for user, flow in owners.items()} == {
            "1": "signup", "2": "announcements", "3": "officer", STAFF: "staff_broadcasts",
            "556": "staff_sessions",
        }  # fmt: skip
        assert "staff" not in owners[STAFF] and owners["556"]["mode"] == "move"
        [phone] = await say(app, Kind.BUTTON, "vil:0", user="1")  # the sign-up goes on
        assert "nomor HP" in phone.text
        [screen] = await say(app, Kind.TEXT, "Tondo", user="2")
        assert "Tondo" in screen.text
        [sent] = await say(app, Kind.TEXT, "Kapan sesi berikutnya?", user="3")
        assert actions(sent)[-1] == "menu"
        [audience] = await say(app, Kind.BUTTON, "st:bc:skip_en", user=STAFF)
        assert actions(audience)[0] == "st:bc:all"


async def test_staff_who_had_typed_mulai_keep_announcements_after_the_upgrade(
    make_config, tmp_path
):
    from bot.domain.broadcasts import Audience, count_recipients

    old = tmp_path / "v11.sqlite3"
    with sqlite3.connect(old) as conn:
        for script in MIGRATIONS[:11]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 11")
        for n, user in enumerate(("555", "556", "42"), start=1):
            conn.execute(
                "INSERT INTO people (id, channel, channel_user_id, display_name, lang,"
                " created_at) VALUES (?, 'telegram', ?, 'x', 'id', 'x')",
                (n, user),
            )
        conn.execute(  # 555 typed MULAI once; 556 never chose
            "INSERT INTO messages (person_id, received_at, kind, text, lang, action)"
            " VALUES (1, 'x', 'text', 'mulai', 'id', 'subscribed')"
        )
    config = make_config(database=str(old), telegram={"staff_ids": [555, 556]})
    async with open_app(config) as app:
        rows = await app.db.fetchall(
            "SELECT p.channel_user_id FROM people p WHERE "
            + Audience("all").where(("telegram",))[0],
            ["telegram"],
        )
        assert sorted(r[0] for r in rows) == ["42", "555"]
        assert await count_recipients(app.db, Audience("all"), ("telegram",)) == 2
