"""What the bot keeps about a person, shown and forgotten on request (UU 27/2022).

/datasaya shows a person everything kept about them (and sends it as a file). /hapusdata,
after a confirm button, erases it (bot/domain/privacy.py): their bookings are cancelled (the
waitlist moves up), they leave every audience, and no text of theirs stays in the log.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.core.actions import Action, MainMenu
from bot.core.context import Ctx, Outcome, outcome
from bot.core.feature import Feature
from bot.core.messages import Reply
from bot.domain import privacy, registrations
from bot.domain.people import Person
from bot.domain.privacy import Kept

feature = Feature(
    "privacy",
    texts=(
        "mydata", "mydata_booking", "mydata_on", "mydata_off", "button_erase", "erase_confirm",
        "button_erase_yes", "erased", "mydata_file", "mydata_file_bookings",
        "mydata_file_questions", "mydata_file_ratings", "mydata_file_messages",
    ),
    borrows=(
        "status_confirmed", "status_waitlisted", "status_attended", "status_cancelled",
        "button_language_id", "button_language_en", "button_no",
    ),
)  # fmt: skip
DASH = "–"


class AskErase(Action, prefix="erase:ask"):
    pass


class Erase(Action, prefix="erase:yes"):
    pass


def _local_date(stamp: str | None, timezone: tzinfo) -> str:
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(timezone).strftime("%Y-%m-%d")


@feature.command("datasaya", "mydata")
async def my_data(ctx: Ctx, argument: str) -> Outcome:
    person = ctx.person
    kept = await privacy.collect(ctx.db, person.id)
    positions = {
        booking.booking_code: str(booking.waitlist_position or "")
        for _, booking in await registrations.bookings_of(ctx.db, person.id)
    }
    bookings = [
        ctx.t(
            "mydata_booking",
            code=b.booking_code,
            title=b.title,
            status=ctx.t(f"status_{b.status}", position=positions.get(b.booking_code) or "?"),
        )
        for b in kept.bookings
    ]
    text = ctx.t(
        "mydata",
        full_name=person.full_name or DASH,
        display_name=person.display_name or DASH,
        village=person.village or DASH,
        phone=person.phone or DASH,
        consent=_local_date(person.consent_at, ctx.settings.timezone) or DASH,
        language=ctx.t(f"button_language_{person.lang}"),
        announcements=ctx.t("mydata_on" if person.gets_announcements else "mydata_off"),
        bookings="\n".join(bookings) or DASH,
        messages=str(len(kept.messages)),
        texts=str(kept.message_texts),
        questions=str(len(kept.questions)),
        days=str(ctx.settings.retention_days),
    )
    document = (f"data-saya-{person.id}.txt", render_document(ctx, person, kept).encode("utf-8"))
    buttons = (ctx.row("button_erase", AskErase()), ctx.back())
    return outcome("mydata", Reply(text, buttons, document=document))


def render_document(ctx: Ctx, person: Person, kept: Kept) -> str:
    """The plain-text file /datasaya sends: every field and every stored text (times UTC)."""
    fields = ctx.t(
        "mydata_file",
        channel=person.channel,
        id=person.channel_user_id,
        full_name=person.full_name or "-",
        display_name=person.display_name or "-",
        village=person.village or "-",
        phone=person.phone or "-",
        consent=person.consent_at or "-",
        language=person.lang,
        announcements=ctx.t("mydata_on" if person.gets_announcements else "mydata_off"),
    )
    lines = [fields, "", ctx.t("mydata_file_bookings")]
    lines += [f"  {b.booking_code}  {b.status}  {b.title}  {b.starts_at}" for b in kept.bookings]
    lines += ["", ctx.t("mydata_file_questions")]
    lines += [f"  {q.tag}  {q.asked_at}  {q.question}  → {q.answers}" for q in kept.questions]
    lines += ["", ctx.t("mydata_file_ratings")]
    lines += [f"  {r.created_at}  {r.faq_id}  {'👍' if r.helpful else '👎'}" for r in kept.ratings]
    lines += ["", ctx.t("mydata_file_messages")]
    lines += [f"  {m.received_at}  {m.kind}  {m.text or ''}" for m in kept.messages]
    return "\n".join(lines) + "\n"


@feature.command("hapusdata", "deletedata")
async def erase_command(ctx: Ctx, argument: str) -> Outcome:
    return ask_erase(ctx)


@feature.action(AskErase)
async def erase_button(ctx: Ctx, action: AskErase) -> Outcome:
    return ask_erase(ctx)


def ask_erase(ctx: Ctx) -> Outcome:
    buttons = (ctx.row("button_erase_yes", Erase()), ctx.row("button_no", MainMenu()))
    return outcome("erase_ask", Reply(ctx.t("erase_confirm"), buttons))


@feature.action(Erase)
async def erase(ctx: Ctx, action: Erase) -> Outcome:
    await privacy.erase_person(ctx.db, ctx.person.id, ctx.settings.policy)
    # said in their language, with no menu and nothing added: all they had here is gone
    return outcome("erased", Reply(ctx.t("erased")), standalone=True)
