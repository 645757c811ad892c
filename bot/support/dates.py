"""Dates and times as villagers read them, in their language and the configured time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

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


def moment_of(stamp: str | None, timezone: tzinfo, lang: str) -> str:
    """A stored UTC timestamp as "Rabu, 2 Desember 2026, 04.48 WITA"; "" when there is none."""
    if not stamp:
        return ""
    local = datetime.fromisoformat(stamp).astimezone(timezone)
    pattern = PATTERNS.get(lang, PATTERNS["id"])[0]
    return f"{format_datetime(local, pattern, locale=lang)} {local.tzname()}"


def local_time(moment: datetime, timezone: tzinfo) -> str:
    """ "2026-12-05 09:00" in the configured time zone (as staff type it)."""
    return moment.astimezone(timezone).strftime(LOCAL_FORMAT)


def clock_of(stamp: str | None, timezone: tzinfo, pattern: str = "%H.%M") -> str:
    """A stored UTC timestamp as a local time of day ("09.12"), or "" when there is none."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(timezone).strftime(pattern)


def example_time(timezone: tzinfo, now: datetime | None = None) -> str:
    """A date a week ahead at 09.00, written the Indonesian way ("8/12/2026 09.00"); the
    chat also reads "2026-12-08 09:00" and "8 Desember 2026 jam 9" (typed_moment)."""
    week = (now or datetime.now(timezone)).astimezone(timezone) + timedelta(days=7)
    return f"{week.day}/{week.month}/{week.year} 09.00"


def zone_name(timezone: tzinfo) -> str:
    """ "WITA" for Asia/Makassar."""
    return datetime.now(timezone).tzname() or str(timezone)


# -- dates as office staff type them --------------------------------------------------------------

MONTHS = {
    "januari": 1, "jan": 1, "january": 1, "februari": 2, "pebruari": 2, "feb": 2,
    "february": 2, "maret": 3, "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5,
    "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7, "agustus": 8,
    "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10, "november": 11, "nopember": 11,
    "nov": 11, "desember": 12, "des": 12, "dec": 12, "december": 12,
}  # fmt: skip
_NUMERIC_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_NAMED_DAY = re.compile(r"(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})")
_CLOCK = re.compile(r"^(?:jam|pukul|pkl\.?|at)?\s*(\d{1,2})(?:[.:](\d{2}))?\s*(wita|wib|wit)?$")


def typed_day(text: str) -> date | None:
    """ "2026-12-14", "14/12/2026", "14-12-2026", "14.12.2026", "14 Desember 2026", "Senin,
    14 Des 2026" → the day; None when it is no day. Day first: the Indonesian order."""
    text = text.strip().lower()
    found = _NUMERIC_DAY.search(text)
    try:
        if found and found.group(1):
            return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        if found:
            return date(int(found.group(6)), int(found.group(5)), int(found.group(4)))
        named = _NAMED_DAY.search(text)
        if named and named.group(2) in MONTHS:
            return date(int(named.group(3)), MONTHS[named.group(2)], int(named.group(1)))
    except ValueError:  # 31 February
        return None
    return None


def typed_clock(text: str, zone: str = "WITA") -> time | None:
    """ "09.00", "9:30", "9", "jam 9", "pukul 13.30 WITA" → the time; None otherwise. A zone
    written with it must be ``zone`` (the configured one): "09.00 WIB" in Palu is an hour
    off, and refused rather than read as 09.00 WITA."""
    found = _CLOCK.match(text.strip().lower())
    if not found or (found.group(3) and found.group(3) != zone.lower()):
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def typed_moment(text: str, timezone: tzinfo) -> datetime | None:
    """A day and a time typed together, in the configured time zone: "14/12/2026 09.00",
    "14 Desember 2026 jam 9", "2026-12-14 09:00"; None when either part is missing."""
    text = " ".join(text.strip().split())
    found = _NUMERIC_DAY.search(text.lower()) or _NAMED_DAY.search(text.lower())
    if not found:
        return None
    day = typed_day(found.group(0))
    clock = typed_clock(text[found.end() :].strip(" ,"), zone_name(timezone))
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=timezone)
