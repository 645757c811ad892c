"""The office's documents as files: named for the day the session takes place, listing
everyone but cancelled bookings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.registrations import Attendee
from bot.domain.sessions import Session
from bot.reports import files

WITA = ZoneInfo("Asia/Makassar")


def a_session(starts: datetime) -> Session:
    return Session(1, "K7QA", {"id": "Sosialisasi", "en": "Talk"}, "Pesaku", "Balai", starts,
                   starts.replace(hour=10), 30, "", "scheduled", 0, 0)  # fmt: skip


def test_a_file_is_named_for_the_local_day_of_an_early_session():
    early = a_session(datetime(2026, 12, 14, 7, 0, tzinfo=WITA))  # 13 December in UTC
    assert files.file_name(early, "peserta", "xlsx", WITA) == "peserta-K7QA-2026-12-14.xlsx"


def test_cancelled_bookings_are_left_out_of_every_session_file():
    people = [
        Attendee("Siti", "Pesaku", "", "AAA333", "confirmed", None),
        Attendee("Budi", "Pesaku", "", "CCC444", "cancelled", None),
    ]
    session = a_session(datetime(2026, 12, 14, 9, 0, tzinfo=WITA))
    content = files.registrants_csv(session, people, "id", WITA).decode("utf-8-sig")
    assert "Siti" in content and "Budi" not in content
