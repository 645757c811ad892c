"""Announcements from the console: the recent ones with their delivery figures; a composer
(Indonesian text, optional English text, an optional picture, the audience: everyone, villages
chosen from the list, or a session's registrants; the office it is from) whose preview is the
message as villagers will get it on Telegram and on WhatsApp (inside the 24-hour window, and
outside it as the template that will be used), with the recipients per channel and the
quiet-hours note; send now or at a time; then the delivery report (sent, failed with the
reason, waiting; per recipient, filtered, as CSV), updating itself, and cancel. The same domain
calls as the chat's /umumkan and `desabot broadcast` (bot/domain/broadcasts.py).

A picture is checked and kept when the preview is asked for (bot/domain/pictures.py), so it
need not be chosen again for sending: the form carries its number."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, not_found, render
from bot.console.words import words
from bot.domain import audit, broadcasts, conversations, pictures, sessions
from bot.domain.accounts import Account
from bot.domain.broadcasts import Audience, BroadcastError
from bot.domain.pictures import Picture, PictureError
from bot.support.dates import moment_of, typed_clock, typed_day
from bot.support.exports import csv_for_spreadsheet

LISTED = 20
SHOWN_RECIPIENTS = 500  # on the page; the CSV has them all
WINDOW = timedelta(hours=24)  # WhatsApp: free-form only this long after a person wrote
FIELDS = ("text_id", "text_en", "kind", "session", "office", "when", "day", "time")


# what the delivery worker and the channels store (bot/delivery/worker.py), in words
SKIPPED = {
    "stopped announcements": "bc_why_stopped", "inactive: blocked the bot": "bc_why_blocked",
    "cancelled by staff": "bc_why_cancelled", "data erased": "bc_why_erased",
    "session cancelled": "bc_why_cancelled", "withdrawn": "bc_why_withdrawn",
    "nothing to send any more": "bc_why_withdrawn",
}  # fmt: skip
WHATSAPP_CODES = {131026: "bc_why_not_on_whatsapp", 131047: "bc_why_window",
                  131049: "bc_why_meta_limit", 131050: "bc_why_stopped_marketing",
                  131051: "bc_why_unsupported", 131056: "bc_why_too_fast",
                  130429: "bc_why_too_fast"}  # fmt: skip


def reason_words(status: str, detail: str, lang: str) -> str:
    """Why a recipient has not got it (yet), as staff read it; the platform's own words
    after it when there is nothing plainer to say."""
    w, detail = words(lang), detail.strip()
    if not detail or status == "sent":
        return ""
    if detail in SKIPPED:
        return w[SKIPPED[detail]]
    if detail.startswith("expired"):
        return w["bc_why_expired"]
    if detail.startswith(conversations.TIER_WAIT):
        return w["bc_why_tier"]
    if detail.startswith("blocked"):
        return w["bc_why_blocked"]
    code = re.search(r"\b(1[0-9]{5})\b", detail)
    if code and int(code.group(1)) in WHATSAPP_CODES:
        return w[WHATSAPP_CODES[int(code.group(1))]]
    if status == "queued":
        return w["bc_why_retrying"].format(detail=detail[:120])
    return w["bc_why_refused"].format(detail=detail[:200])


def audience_words(audience: Audience, lang: str) -> str:
    """Who it is for, as staff read it: "Desa Sibowi, Kaleke", "Peserta sesi K7QA"."""
    w = words(lang)
    if audience.kind == "village":
        return w["bc_to_villages"].format(villages=", ".join(audience.villages))
    if audience.kind == "session":
        return w["bc_to_session"].format(code=audience.session_code)
    return w["bc_to_all"]


async def list_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    lang = lang_of(request)
    rows = []
    for broadcast in await broadcasts.recent_broadcasts(console.db, LISTED):
        counts = await broadcasts.summary(console.db, broadcast.id)
        rows.append((broadcast, counts, moment_of(broadcast.send_at.isoformat(),
                                                  console.timezone, lang)))  # fmt: skip
    return render(templates, request, "announcements.html", account=account, rows=rows,
                  audience=lambda a: audience_words(a, lang))  # fmt: skip


async def _audience(console: Console, form: FormData) -> Audience:
    kind = str(form.get("kind", "all"))
    if kind == "village":
        chosen = tuple(str(v) for v in form.getlist("village") if str(v).strip())
        if not chosen:
            raise BroadcastError("no_village", "no village chosen")
        return await broadcasts.parse_audience(
            console.db, "village:" + ",".join(chosen), console.villages
        )
    if kind == "session":
        return await broadcasts.parse_audience(
            console.db, f"session:{form.get('session', '')}", console.villages
        )
    return Audience("all")


def _send_at(console: Console, form: FormData) -> datetime | None:
    """None: now. A day and a time as people write them, in the bot's time zone."""
    if form.get("when") != "later":
        return None
    day, clock = typed_day(str(form.get("day", ""))), typed_clock(str(form.get("time", "")))
    if day is None or clock is None:
        raise BroadcastError("bad_time", "no day or time")
    moment = datetime.combine(day, clock, tzinfo=console.timezone)
    if moment <= datetime.now(UTC):
        raise BroadcastError("in_past", "in the past")
    return moment


async def compose_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    return await _composer(console, templates, request, account, {})


async def _composer(console, templates, request, account, form, problem="", preview=None,
                    status=200) -> Response:  # fmt: skip
    villages = await broadcasts.villages_in_use(console.db, console.villages)
    upcoming = await sessions.upcoming_sessions(console.db)
    return render(templates, request, "announce_form.html", status, account=account,
                  form=form, villages=villages, upcoming=upcoming, offices=console.offices,
                  problem=problem, preview=preview, quiet=console.quiet)  # fmt: skip


async def compose(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """ "Pratinjau" shows the message and who gets it; "Kirim" queues it."""
    form = await request.form(max_files=1, max_fields=200, max_part_size=64 * 1024)
    values: dict = {key: str(form.get(key, "")) for key in FIELDS}
    values["villages"] = [str(v) for v in form.getlist("village")]
    w = words(lang_of(request))
    office = values["office"] if values["office"] in console.offices else ""
    try:
        picture = await _picture(console, form, account)
        values["picture"] = picture
        text_id = broadcasts.check_text(values["text_id"])
        text_en = broadcasts.check_text(values["text_en"]) if values["text_en"].strip() else ""
        audience = await _audience(console, form)
        send_at = _send_at(console, form)
        if not office:
            raise BroadcastError("no_office", "no office")
    except (BroadcastError, PictureError) as exc:
        problem = w.get(f"bc_problem_{exc.reason}", str(exc))
        return await _composer(console, templates, request, account, values, problem,
                               status=400)  # fmt: skip
    if form.get("step") != "send":
        preview = await _preview(console, audience, office, picture, text_id, text_en)
        return await _composer(console, templates, request, account, values, preview=preview)
    made = await broadcasts.create_broadcast(
        console.db, text_id=text_id, text_en=text_en, office=office, audience=audience,
        send_at=send_at or datetime.now(UTC), created_by=f"console:{account.name}",
        picture_id=picture.id if picture else None,
    )  # fmt: skip
    detail = f"#{made.id} {audience.describe()}" + (f" picture={picture.id}" if picture else "")
    await audit.record(console.db, f"console:{account.name}", "console_broadcast_send", detail)
    return RedirectResponse(f"/pengumuman/{made.id}", status_code=303)


async def _picture(console: Console, form: FormData, account: Account) -> Picture | None:
    """A picture chosen now, else the one kept at the preview (unless it was taken off)."""
    upload = form.get("picture")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(pictures.MAX_BYTES + 1)
        return await pictures.save(console.db, data, upload.filename, f"console:{account.name}")
    kept = str(form.get("picture_id", ""))
    if form.get("no_picture") or not kept:
        return None
    found = None
    if kept.isascii() and kept.isdigit() and len(kept) <= 12:
        found = await pictures.get(console.db, int(kept))
    if found is None:  # deleted a day after its preview: say so, never send without it
        raise PictureError("picture_gone", f"no picture {kept[:20]!r}")
    return found


async def _preview(console: Console, audience: Audience, office: str, picture: Picture | None,
                   text_id: str, text_en: str) -> dict:  # fmt: skip
    """What the preview shows: the message per language as villagers will see it, who gets
    it per channel, and on WhatsApp how many are inside the 24-hour window and the template
    the others get (None: there is none, and they will not get it)."""
    per_channel = {
        channel: await broadcasts.count_recipients(console.db, audience, (channel,))
        for channel in console.channels
    }
    texts = {"id": text_id, "en": text_en or text_id}
    shown = {lang: console.preview(text, office, lang) if console.preview else None
             for lang, text in texts.items()}  # fmt: skip
    preview = {"texts": texts, "shown": shown, "per_channel": per_channel,
               "total": sum(per_channel.values()), "picture": picture}  # fmt: skip
    if "whatsapp" in per_channel:
        since = datetime.now(UTC) - WINDOW
        inside = await broadcasts.count_written_since(console.db, audience, "whatsapp", since)
        # filled in with the text in each person's language, as the delivery worker does
        template = {lang: console.template(text, office, lang, picture is not None)
                    if console.template else None for lang, text in texts.items()}  # fmt: skip
        outside = per_channel["whatsapp"] - inside
        preview["whatsapp"] = {"inside": inside, "outside": outside, "template": template,
                               "tier": await _tier_note(console, outside)}  # fmt: skip
    return preview


async def _tier_note(console: Console, outside: int) -> dict | None:
    """How WhatsApp's daily limit of new conversations holds those outside the window back:
    None when it does not."""
    if console.tier is None or not outside:
        return None
    room = await conversations.room(console.db, console.tier)
    waiting = max(0, outside - (room.left or 0))
    days = conversations.days_to_send(waiting, console.tier)
    return {"limit": console.tier, "left": room.left, "waiting": waiting, "days": days}


async def picture_file(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    """A picture as staff uploaded it (for the preview and the report)."""
    picture_id = request.path_params["id"]
    found, data = await pictures.get(console.db, picture_id), None
    if found is not None:
        data = await pictures.data_of(console.db, picture_id)
    if found is None or data is None:
        return not_found(templates, request, account)
    headers = {"Cache-Control": "private, max-age=86400"}  # a picture never changes
    return Response(data, media_type=found.media_type, headers=headers)


async def report_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    broadcast = await broadcasts.get_broadcast(console.db, request.path_params["id"])
    if broadcast is None:
        return not_found(templates, request, account)
    lang, wanted = lang_of(request), request.query_params.get("status", "")
    everyone = await broadcasts.recipients(console.db, broadcast.id)
    shown = [r for r in everyone if not wanted or r.status == wanted][:SHOWN_RECIPIENTS]
    held = await conversations.held_for_tier(console.db, broadcast.id)
    values = dict(account=account, b=broadcast, counts=await broadcasts.summary(
        console.db, broadcast.id), recipients=shown, wanted=wanted, total=len(everyone),
        held=held, held_days=conversations.days_to_send(held, console.tier) if console.tier else 0,
        statuses=broadcasts.STATUS_NAMES, audience=audience_words(broadcast.audience, lang),
        why=lambda r: reason_words(r.status, r.detail, lang),
        when=lambda s: moment_of(s, console.timezone, lang) if s else "",
        send_at=moment_of(broadcast.send_at.isoformat(), console.timezone, lang))  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(templates, request, "announcement_rows.html", **values)
    return render(templates, request, "announcement.html", **values)


async def report_csv(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    broadcast = await broadcasts.get_broadcast(console.db, request.path_params["id"])
    if broadcast is None:
        return not_found(templates, request, account)
    w, lang = words(lang_of(request)), lang_of(request)
    rows = [
        (r.name, r.village, r.channel, w.get(f"bc_status_{r.status}", r.status),
         reason_words(r.status, r.detail, lang),
         moment_of(r.sent_at, console.timezone, lang) if r.sent_at else "")
        for r in await broadcasts.recipients(console.db, broadcast.id)
    ]  # fmt: skip
    header = [w["export_name"], w["village"], w["inbox_channel"], w["export_status"],
              w["bc_reason"], w["bc_sent_at"]]  # fmt: skip
    content = csv_for_spreadsheet([(w["bc_report"], f"#{broadcast.id}")], header, rows)
    await audit.record(console.db, f"console:{account.name}", "console_export_csv",
                       f"broadcast #{broadcast.id}")  # fmt: skip
    name = f"pengumuman-{broadcast.id}-penerima.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def cancel(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    broadcast_id = request.path_params["id"]
    try:
        withdrawn = await broadcasts.cancel_broadcast(console.db, broadcast_id)
    except BroadcastError:
        return RedirectResponse(f"/pengumuman/{broadcast_id}", status_code=303)
    await audit.record(console.db, f"console:{account.name}", "console_broadcast_cancel",
                       f"#{broadcast_id} withdrawn={withdrawn}")  # fmt: skip
    return RedirectResponse(f"/pengumuman/{broadcast_id}", status_code=303)
