"""A session's files for the office: the registrants as Excel and CSV (headers, statuses in
words, the check-in time, what session it is on top), and the printable Daftar Hadir."""

from __future__ import annotations

from datetime import tzinfo

from bot.domain.registrations import Attendee, VillageRegistrant
from bot.domain.sessions import Session
from bot.reports.words import words
from bot.support.dates import clock_of, when
from bot.support.exports import attendance_sheet, csv_for_spreadsheet, xlsx

BLANK_ROWS = 10  # for walk-ins at the door
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def status_words(attendee: Attendee, lang: str) -> str:
    w = words(lang)
    if attendee.status == "waitlisted":
        return w["status_waitlisted"].format(n=attendee.waitlist_position or "")
    if attendee.status == "attended":
        how = {"waitlist": w["came_from_waitlist"], "walk_in": w["came_walk_in"]}
        came = how.get(attendee.admitted or "")
        return w["export_attended"] + (f" ({came})" if came else "")
    return w.get(f"export_{attendee.status}", attendee.status)


DAY_AND_CLOCK = "%d-%m-%Y %H.%M"  # in a spreadsheet cell


def listed(people: list[Attendee]) -> list[Attendee]:
    """Who a session's files list: everyone but cancelled bookings."""
    return [a for a in people if a.status != "cancelled"]


def _table(session: Session, people: list[Attendee], lang: str, timezone: tzinfo):
    w, people = words(lang), listed(people)
    title = session.title.get(lang) or session.title["id"]
    preamble = [
        (w["export_session"], title),
        (w["when"], when(session.starts_at, session.ends_at, timezone, lang)),
        (w["place"], f"{session.place}, {session.village}"),
        (w["code"], session.code),
    ]
    header = [w[k] for k in ("export_no", "export_name", "village", "export_phone", "booking")]
    header += [w["export_status"], w["export_checked_in_at"]]
    rows = [
        (n, a.name, a.village, a.phone, a.booking_code, status_words(a, lang),
         clock_of(a.checked_in_at, timezone, DAY_AND_CLOCK))
        for n, a in enumerate(people, start=1)
    ]  # fmt: skip
    return preamble, header, rows


def registrants_xlsx(session: Session, people: list[Attendee], lang: str, tz: tzinfo) -> bytes:
    preamble, header, rows = _table(session, people, lang, tz)
    return xlsx(words(lang)["export_sheet"], preamble, header, rows)


def registrants_csv(session: Session, people: list[Attendee], lang: str, tz: tzinfo) -> bytes:
    return csv_for_spreadsheet(*_table(session, people, lang, tz))


def daftar_hadir(session: Session, people: list[Attendee], office: str, tz: tzinfo) -> bytes:
    """In Indonesian: the sheet goes with the office's activity and budget reports."""
    w = words("id")
    heading = [
        w["sheet_title"],
        office,
        session.title["id"],
        when(session.starts_at, session.ends_at, tz, "id"),
        f"{session.place}, {session.village}",
    ]
    signing = [a for a in people if a.status in ("confirmed", "attended", "waitlisted")]
    rows = [(a.name, a.village, a.phone, a.booking_code) for a in signing]
    keys = ("sheet_no", "sheet_name", "sheet_village", "sheet_phone", "sheet_booking", "sheet_sign")
    return attendance_sheet(heading, [w[k] for k in keys], rows, BLANK_ROWS)


def file_name(session: Session, what: str, extension: str, timezone: tzinfo) -> str:
    """ "peserta-K7QA-2026-12-14.xlsx": the session's day where it takes place."""
    day = session.starts_at.astimezone(timezone).strftime("%Y-%m-%d")
    return f"{what}-{session.code}-{day}.{extension}"


def _by_village_table(rows: list[VillageRegistrant], lang: str, tz: tzinfo):
    w = words(lang)
    preamble = [(w["by_village_title"],)]
    header = [w["village"], w["export_name"], w["export_phone"], w["export_session"],
              w["when"], w["export_status"], w["export_checked_in_at"]]  # fmt: skip
    table = [
        (r.village, r.name, r.phone, r.session_title,
         clock_of(r.starts_at, tz, DAY_AND_CLOCK), status_words(r.attendee, lang),
         clock_of(r.attendee.checked_in_at, tz, DAY_AND_CLOCK))
        for r in rows
    ]  # fmt: skip
    return preamble, header, table


def by_village_xlsx(rows: list[VillageRegistrant], lang: str, tz: tzinfo) -> bytes:
    preamble, header, table = _by_village_table(rows, lang, tz)
    return xlsx(words(lang)["by_village_sheet"], preamble, header, table)


def by_village_csv(rows: list[VillageRegistrant], lang: str, tz: tzinfo) -> bytes:
    return csv_for_spreadsheet(*_by_village_table(rows, lang, tz))
