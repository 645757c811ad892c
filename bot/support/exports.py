"""Files staff open in a spreadsheet. A cell a villager could fill (a name, a village) that
starts with "=", "+", "-", "@", a tab or a carriage return would be read as a formula, e.g.
=HYPERLINK(...) carrying another villager's phone number: such a cell gets a leading "'",
which keeps it text (a phone number written "+62..." stays a phone number, not a sum)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A CSV file whose every cell opens as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()
