"""Dates and times as villagers read them, in their language and the configured time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from babel.dates import format_datetime

LOCAL_FORMAT = "%Y-%m-%d %H:%M"  # what staff type, in the configured time zone

PATTERNS = {
    # "Sabtu, 5 Desember 2026, 09.00" — Indonesian writes hours with a dot
    "id": ("EEEE, d MMMM y, HH.mm", "HH.mm"),
    "en": ("EEEE, d MMMM y, HH:mm", "HH:mm"),
}


def when(starts: datetime, ends: datetime, timezone: tzinfo, lang: str) -> str:
    """ "Sabtu, 5 Desember 2026, 09.00–12.00 WITA" (one day) in the person's language."""
    start_pattern, time_pattern = PATTERNS.get(lang, PATTERNS["id"])
    local_start, local_end = starts.astimezone(timezone), ends.astimezone(timezone)
    text = format_datetime(local_start, start_pattern, locale=lang)
    if local_end.date() == local_start.date():
        text += "–" + format_datetime(local_end, time_pattern, locale=lang)
    else:
        text += " – " + format_datetime(local_end, start_pattern, locale=lang)
    return f"{text} {local_start.tzname()}"


def local_time(moment: datetime, timezone: tzinfo) -> str:
    """ "2026-12-05 09:00" in the configured time zone (as staff type it)."""
    return moment.astimezone(timezone).strftime(LOCAL_FORMAT)


def example_time(timezone: tzinfo, now: datetime | None = None) -> str:
    """A date a week ahead at 09:00, in the format staff must type."""
    week = (now or datetime.now(timezone)).astimezone(timezone) + timedelta(days=7)
    return week.strftime("%Y-%m-%d 09:00")


def zone_name(timezone: tzinfo) -> str:
    """ "WITA" for Asia/Makassar."""
    return datetime.now(timezone).tzname() or str(timezone)
