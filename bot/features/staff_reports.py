"""Figures for staff, in words: who the bot reaches, what villagers ask, how full sessions
are, how announcements went (/statistik, and `desabot stats` in the terminal); and what the
FAQ could not answer, the answers people disliked, the questions still waiting for an officer
(/belum_terjawab)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.context import Ctx, Outcome, Speaker, outcome
from bot.core.feature import Feature
from bot.core.messages import Reply
from bot.domain import broadcasts, feedback, inbox, sessions, stats
from bot.support.dates import local_time

feature = Feature(
    "staff_reports",
    staff=True,
    texts=(
        "stats_header", "stats_people", "stats_no_village", "stats_village_line",
        "stats_questions", "stats_topic_line", "stats_sessions_none", "stats_sessions_header",
        "stats_session_line", "stats_broadcasts_none", "stats_broadcasts_header",
        "stats_broadcast_line", "staff_unanswered_header", "staff_unanswered_line",
        "staff_unanswered_none", "staff_disliked_header", "staff_disliked_line",
        "staff_open_questions_header", "staff_open_question_line",
    ),
    borrows=("bc_status_scheduled", "bc_status_sending", "bc_status_done", "bc_status_cancelled"),
)  # fmt: skip

TOP_TOPICS = 10
TOP_QUESTIONS = 15
RECENT_BROADCASTS = 5


@feature.command("statistik")
async def statistics(ctx: Ctx, argument: str) -> Outcome:
    return outcome("staff_stats", Reply(await report(ctx)))


@feature.command("belum_terjawab")
async def unanswered(ctx: Ctx, argument: str) -> Outcome:
    return outcome("staff_unanswered", Reply(await unanswered_report(ctx)))


async def report(speaker: Speaker, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    zone = speaker.settings.timezone
    lines = [speaker.t("stats_header", date=local_time(now, zone))]
    lines += await _people(speaker)
    lines.append("")
    lines += await _questions(speaker, stats.week_start(now, zone))
    lines.append("")
    lines += await _sessions(speaker)
    lines.append("")
    lines += await _broadcasts(speaker)
    return "\n".join(lines).strip()


async def _people(speaker: Speaker) -> list[str]:
    reach = await stats.reach(speaker.db, speaker.settings.reachable_channels)
    lines = [
        speaker.t(
            "stats_people",
            total=str(reach.total),
            active=str(reach.active),
            inactive=str(reach.total - reach.active),
            unsubscribed=str(reach.total - reach.subscribed),
        )
    ]
    for row in reach.villages:
        village = row.village or speaker.t("stats_no_village")
        lines.append(
            speaker.t(
                "stats_village_line",
                village=village,
                count=str(row.people),
                inactive=str(row.inactive),
            )
        )
    return lines


def _title(speaker: Speaker, topic_id: str | None) -> str:
    topic = speaker.env.faq.topics.get(topic_id or "")
    return topic.title[speaker.lang] if topic else (topic_id or "")


async def _questions(speaker: Speaker, since: datetime) -> list[str]:
    figures = await stats.questions(speaker.db, since, TOP_TOPICS)
    lines = [
        speaker.t(
            "stats_questions",
            since=since.strftime("%Y-%m-%d"),
            answered=str(figures.answered),
            unanswered=str(figures.declined),
            open=str(await inbox.open_questions(speaker.db)),
        )
    ]
    for topic_id, times in figures.topics:
        lines.append(
            speaker.t("stats_topic_line", topic=_title(speaker, topic_id), count=str(times))
        )
    return lines


async def _sessions(speaker: Speaker) -> list[str]:
    upcoming = await sessions.upcoming_sessions(speaker.db)
    if not upcoming:
        return [speaker.t("stats_sessions_none")]
    lines = [speaker.t("stats_sessions_header")]
    for s in upcoming:
        lines.append(
            speaker.t(
                "stats_session_line",
                code=s.code,
                title=s.title.get(speaker.lang) or s.title["id"],
                confirmed=str(s.confirmed),
                capacity=str(s.capacity),
                percent=f"{100 * s.confirmed // s.capacity}%",
                waitlisted=str(s.waitlisted),
            )
        )
    return lines


async def _broadcasts(speaker: Speaker) -> list[str]:
    recent = await broadcasts.recent_broadcasts(speaker.db, RECENT_BROADCASTS)
    if not recent:
        return [speaker.t("stats_broadcasts_none")]
    lines = [speaker.t("stats_broadcasts_header")]
    for b in recent:
        counts = await broadcasts.summary(speaker.db, b.id)
        total = sum(counts.values())
        rate = f"{100 * counts['sent'] / total:.0f}%" if total else "–"
        lines.append(
            speaker.t(
                "stats_broadcast_line",
                id=str(b.id),
                status=speaker.t(f"bc_status_{b.status}"),
                when=local_time(b.send_at, speaker.settings.timezone),
                total=str(total),
                rate=rate,
                **{k: str(v) for k, v in counts.items()},
            )
        )
    return lines


async def unanswered_report(speaker: Speaker) -> str:
    """What the FAQ could not answer, most frequent first, the answers people disliked, and
    the questions still waiting for an officer."""
    questions = await feedback.unanswered_questions(speaker.db, TOP_QUESTIONS)
    disliked = await feedback.disliked_answers(speaker.db, TOP_QUESTIONS)
    none = speaker.t("staff_unanswered_none")
    lines = [speaker.t("staff_unanswered_header")]
    lines += [
        speaker.t("staff_unanswered_line", times=str(q.times), text=q.text[:200]) for q in questions
    ] or [none]
    lines += ["", speaker.t("staff_disliked_header")]
    lines += [
        speaker.t(
            "staff_disliked_line",
            times=str(q.times),
            text=q.text[:200],
            topic=_title(speaker, q.faq_id),
        )
        for q in disliked
    ] or [none]
    waiting = await inbox.open_question_list(speaker.db, TOP_QUESTIONS)
    lines += ["", speaker.t("staff_open_questions_header")]
    lines += [
        speaker.t(
            "staff_open_question_line",
            tag=q.tag,
            name=q.name,
            village=q.village or "–",
            asked=local_time(datetime.fromisoformat(q.asked_at), speaker.settings.timezone),
            text=q.question[:200],
        )
        for q in waiting
    ] or [none]
    return "\n".join(lines)
