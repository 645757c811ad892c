"""Figures for staff: who the bot reaches, what villagers ask, how full sessions are, how
announcements went. The same report in the chat (/statistik) and the terminal (desabot stats).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot import broadcasts, inbox, sessions
from bot.broadcasts import DELIVERY_CHANNELS
from bot.feedback import disliked_answers, unanswered_questions
from bot.store import Database
from bot.texts import Texts

if TYPE_CHECKING:
    from bot.conversation import Conversation

TOP_TOPICS = 10
TOP_QUESTIONS = 15
RECENT_BROADCASTS = 5
_ANSWERED = "('faq_answer', 'faq_button')"


def week_start(now: datetime, timezone) -> datetime:
    """Monday 00:00 local time of the week ``now`` is in."""
    local = now.astimezone(timezone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), timezone)


def _since(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def report(
    db: Database, texts: Texts, lang: str, c: Conversation, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    t = texts.get
    since = week_start(now, c.timezone)
    lines = [t(lang, "stats_header", date=broadcasts.local_time(now, c.timezone))]
    lines += await _people(db, texts, lang)
    lines.append("")
    lines += await _questions(db, texts, lang, c, since)
    lines.append("")
    lines += await _sessions(db, texts, lang)
    lines.append("")
    lines += await _broadcasts(db, texts, lang, c)
    return "\n".join(lines).strip()


async def _people(db: Database, texts: Texts, lang: str) -> list[str]:
    marks = ", ".join("?" for _ in DELIVERY_CHANNELS)
    rows = await db.fetchall(
        "SELECT coalesce(nullif(village, ''), '') AS village, count(*) AS n,"
        " sum(active) AS active, sum(subscribed) AS subscribed FROM people"
        f" WHERE channel IN ({marks}) GROUP BY 1 ORDER BY n DESC, village",
        DELIVERY_CHANNELS,
    )
    total = sum(r["n"] for r in rows)
    active = sum(r["active"] for r in rows)
    subscribed = sum(r["subscribed"] for r in rows)
    lines = [
        texts.get(
            lang,
            "stats_people",
            total=str(total),
            active=str(active),
            inactive=str(total - active),
            unsubscribed=str(total - subscribed),
        )
    ]
    for row in rows:
        village = row["village"] or texts.get(lang, "stats_no_village")
        lines.append(
            texts.get(
                lang,
                "stats_village_line",
                village=village,
                count=str(row["n"]),
                inactive=str(row["n"] - row["active"]),
            )
        )
    return lines


async def _questions(
    db: Database, texts: Texts, lang: str, c: Conversation, since: datetime
) -> list[str]:
    rows = await db.fetchall(
        f"SELECT faq_id, count(*) AS n FROM messages WHERE action IN {_ANSWERED}"
        " AND received_at >= ? GROUP BY faq_id ORDER BY n DESC, faq_id LIMIT ?",
        (_since(since), TOP_TOPICS),
    )
    [declined] = await db.fetchall(
        "SELECT count(*) AS n FROM messages WHERE action = 'faq_declined' AND received_at >= ?",
        (_since(since),),
    )
    [answered] = await db.fetchall(
        f"SELECT count(*) AS n FROM messages WHERE action IN {_ANSWERED} AND received_at >= ?",
        (_since(since),),
    )
    lines = [
        texts.get(
            lang,
            "stats_questions",
            since=since.strftime("%Y-%m-%d"),
            answered=str(answered["n"]),
            unanswered=str(declined["n"]),
            open=str(await inbox.open_questions(db)),
        )
    ]
    for row in rows:
        topic = c.faq.topics.get(row["faq_id"])
        title = topic.title[lang] if topic else row["faq_id"]
        lines.append(texts.get(lang, "stats_topic_line", topic=title, count=str(row["n"])))
    return lines


async def _sessions(db: Database, texts: Texts, lang: str) -> list[str]:
    upcoming = await sessions.upcoming_sessions(db)
    if not upcoming:
        return [texts.get(lang, "stats_sessions_none")]
    lines = [texts.get(lang, "stats_sessions_header")]
    for s in upcoming:
        lines.append(
            texts.get(
                lang,
                "stats_session_line",
                code=s.code,
                title=s.title.get(lang) or s.title["id"],
                confirmed=str(s.confirmed),
                capacity=str(s.capacity),
                percent=f"{100 * s.confirmed // s.capacity}%",
                waitlisted=str(s.waitlisted),
            )
        )
    return lines


async def _broadcasts(db: Database, texts: Texts, lang: str, c: Conversation) -> list[str]:
    recent = await broadcasts.recent_broadcasts(db, RECENT_BROADCASTS)
    if not recent:
        return [texts.get(lang, "stats_broadcasts_none")]
    lines = [texts.get(lang, "stats_broadcasts_header")]
    for b in recent:
        counts = await broadcasts.summary(db, b.id)
        total = sum(counts.values())
        rate = f"{100 * counts['sent'] / total:.0f}%" if total else "–"
        lines.append(
            texts.get(
                lang,
                "stats_broadcast_line",
                id=str(b.id),
                status=texts.get(lang, f"bc_status_{b.status}"),
                when=broadcasts.local_time(b.send_at, c.timezone),
                total=str(total),
                rate=rate,
                **{k: str(v) for k, v in counts.items()},
            )
        )
    return lines


async def unanswered_report(db: Database, texts: Texts, lang: str, c: Conversation) -> str:
    """What the FAQ could not answer, most frequent first, and the answers people disliked."""
    questions = await unanswered_questions(db, TOP_QUESTIONS)
    disliked = await disliked_answers(db, TOP_QUESTIONS)
    lines = [texts.get(lang, "staff_unanswered_header")]
    lines += [
        texts.get(lang, "staff_unanswered_line", times=str(q.times), text=q.text[:200])
        for q in questions
    ] or [texts.get(lang, "staff_unanswered_none")]
    lines += ["", texts.get(lang, "staff_disliked_header")]
    for q in disliked:
        topic = c.faq.topics.get(q.faq_id or "")
        title = topic.title[lang] if topic else (q.faq_id or "")
        lines.append(
            texts.get(
                lang, "staff_disliked_line", times=str(q.times), text=q.text[:200], topic=title
            )
        )
    if not disliked:
        lines.append(texts.get(lang, "staff_unanswered_none"))
    waiting = await inbox.open_question_list(db, TOP_QUESTIONS)
    lines += ["", texts.get(lang, "staff_open_questions_header")]
    for q in waiting:
        lines.append(
            texts.get(
                lang,
                "staff_open_question_line",
                tag=q.tag,
                name=q.name,
                village=q.village or "–",
                asked=broadcasts.local_time(datetime.fromisoformat(q.asked_at), c.timezone),
                text=q.question[:200],
            )
        )
    if not waiting:
        lines.append(texts.get(lang, "staff_unanswered_none"))
    return "\n".join(lines)
