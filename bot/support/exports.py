"""Files staff open in a spreadsheet, and the printable attendance sheet. A cell a villager
could fill (a name, a village) that starts with "=", "+", "-", "@", a tab or a carriage return
would be read as a formula, e.g. =HYPERLINK(...) carrying another villager's phone number: in
a CSV such a cell gets a leading "'", which keeps it text (a phone number written "+62..."
stays a phone number, not a sum); in an Excel file every cell is written as text."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

# fpdf2 and openpyxl are imported where a file is made: together they are a third of a
# second of every command's start, and most commands make no file

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


BOM = "\ufeff"  # without it a spreadsheet reads UTF-8 as Latin-1: "SÃ¼" instead of "Sü"


def csv_for_spreadsheet(
    preamble: Sequence[Sequence[object]], header: Sequence[str], rows: Iterable[Sequence[object]]
) -> bytes:
    """A CSV a spreadsheet opens right: UTF-8 with a BOM, a few lines saying what it is
    (the session, its time and place), then the table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in preamble:
        writer.writerow([safe_cell(v) for v in line])
    writer.writerow([])
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def xlsx(
    sheet: str,
    preamble: Sequence[Sequence[object]],
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> bytes:
    """An Excel file: what it is on top, then the table; every cell text, never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    page = book.active
    page.title = sheet[:31]  # Excel's limit for a sheet name
    lines = [*preamble, (), header, *rows]
    widths = [0] * max((len(line) for line in lines), default=0)
    for number, line in enumerate(lines, start=1):
        for column, value in enumerate(line, start=1):
            cell = page.cell(row=number, column=column)
            cell.value = "" if value is None else str(value)
            cell.data_type = "s"  # text, even "=HYPERLINK(...)" or "+62812..."
            if number == len(preamble) + 2:  # the table's header
                cell.font = Font(bold=True)
            if number > len(preamble):
                widths[column - 1] = max(widths[column - 1], len(cell.value))
    for index, width in enumerate(widths):
        page.column_dimensions[chr(ord("A") + index)].width = min(max(width + 2, 6), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def latin1(text: str) -> str:
    """What the PDF's built-in fonts can print: accents kept where Latin-1 has them, other
    letters without their marks, anything else as "?" (no font file to ship or to find)."""
    text = unicodedata.normalize("NFC", text)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
        else:
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


SIGN_WIDTHS = (9, 48, 30, 30, 24, 39)  # mm: No, name, village, phone, booking, signature
ROW_HEIGHT = 9  # mm: room to sign


def attendance_sheet(
    heading: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    blank_rows: int,
) -> bytes:
    """The printable "Daftar Hadir" (A4): the office and the session on top, then one line
    per registered person with room to sign, and ``blank_rows`` empty ones for walk-ins.
    ``columns``: the six column titles (number, name, village, phone, booking, signature)."""
    from fpdf import FPDF

    widths = list(zip(columns, SIGN_WIDTHS, strict=True))
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, latin1(heading[0]), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "", 11)
    for line in heading[1:]:
        pdf.cell(0, 6, latin1(line), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    _sheet_header(pdf, widths)
    for number, row in enumerate([*rows, *([("",) * 4] * blank_rows)], start=1):
        if pdf.will_page_break(ROW_HEIGHT):
            pdf.add_page()
            _sheet_header(pdf, widths)
        values = (str(number), *row, "")
        for (_, width), value in zip(widths, values, strict=True):
            pdf.cell(width, ROW_HEIGHT, latin1(_fit(pdf, value, width)), border=1)
        pdf.ln(ROW_HEIGHT)
    return bytes(pdf.output())


def _sheet_header(pdf: FPDF, widths: Sequence[tuple[str, int]]) -> None:
    pdf.set_font("Helvetica", "B", 10)
    for title, width in widths:
        pdf.cell(width, 8, latin1(title), border=1, align="C")
    pdf.ln(8)
    pdf.set_font("Helvetica", "", 10)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Cut to the column's width, so a long name does not run into the next column."""
    text = latin1(text)
    while text and pdf.get_string_width(text) > width - 2:
        text = text[:-1]
    return text
