"""The audit log (admins only): who among staff did what, and when, from the chat, the
command line and the console; filtered by who, what, day and words in the detail, newest
first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bot.console.base import Console, lang_of, render
from bot.domain import audit
from bot.domain.accounts import Account
from bot.support.dates import moment_of, typed_day

PAGE = 100


def _day_start(text: str, timezone: tzinfo, days_after: int = 0) -> str:
    """The UTC start of a local day typed or picked ("2026-12-01", "1/12/2026"); "" if none."""
    day = typed_day(text)
    if day is None:
        return ""
    try:
        start = datetime.combine(day + timedelta(days=days_after), time(), timezone)
        return start.astimezone(UTC).isoformat(timespec="milliseconds")  # as stored
    except OverflowError:  # 31-12-9999 and the like: no limit
        return ""


async def audit_page(
    console: Console, templates: Jinja2Templates, request: Request, account: Account
) -> Response:
    asked = {k: request.query_params.get(k, "").strip()[:100] for k in FIELDS}
    before = request.query_params.get("sebelum", "")
    wanted = audit.Filter(
        actor=asked["siapa"], action=asked["apa"], text=asked["isi"],
        since=_day_start(asked["dari"], console.timezone),
        until=_day_start(asked["sampai"], console.timezone, days_after=1),
        before=int(before) if before.isascii() and before.isdigit() else 0,
    )  # fmt: skip
    entries = await audit.search(console.db, wanted, PAGE + 1)
    lang = lang_of(request)
    shown = [(e, moment_of(e.at, console.timezone, lang)) for e in entries[:PAGE]]
    older = urlencode({**asked, "sebelum": entries[PAGE - 1].id}) if len(entries) > PAGE else ""
    return render(templates, request, "audit.html", account=account, entries=shown,
                  asked=asked, actions=await audit.actions(console.db), older=older)  # fmt: skip


FIELDS = ("siapa", "apa", "dari", "sampai", "isi")  # who, what, from, until, words
