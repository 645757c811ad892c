"""Dates and times as office staff type them: the console accepts them as people write."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.support.dates import typed_clock, typed_day, typed_moment

WITA = ZoneInfo("Asia/Makassar")


@pytest.mark.parametrize(
    "typed",
    ["14/12/2026 09.00", "14-12-2026 9:00", "2026-12-14 09:00", "14 Desember 2026 jam 9",
     "Senin, 14 Des 2026 pukul 09.00 WITA", "14.12.2026 09.00", "14 december 2026 9"],
)  # fmt: skip
def test_a_moment_typed_the_ways_people_write_it(typed):
    assert typed_moment(typed, WITA) == datetime(2026, 12, 14, 9, 0, tzinfo=WITA)


@pytest.mark.parametrize(
    "typed", ["", "besok pagi", "14/12/2026", "31/02/2026 09.00", "14/12/2026 25.00", "jam 9"]
)
def test_what_is_no_moment_is_refused_not_guessed(typed):
    assert typed_moment(typed, WITA) is None


def test_a_day_and_a_clock_alone():
    assert typed_day("5 Mei 2027") == date(2027, 5, 5)
    assert typed_day("05/11/2027") == date(2027, 11, 5)  # day first, as in Indonesia
    assert typed_clock("13.30") == time(13, 30) and typed_clock("pukul 7") == time(7, 0)
    assert typed_clock("7 pagi") is None and typed_day("5 Mai 2027") is None


def test_a_time_in_another_zone_is_refused_not_read_as_local():
    assert typed_moment("14/12/2026 09.00 WIB", WITA) is None  # an hour off in Palu
    assert typed_clock("09.00 wib") is None and typed_clock("09.00 WITA") == time(9, 0)
    assert typed_clock("09.00 WIB", zone="WIB") == time(9, 0)  # where WIB is the zone
