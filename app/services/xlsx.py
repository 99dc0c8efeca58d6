"""Small helpers every Excel export shares (openpyxl).

Every text cell is written as text (``data_type = "s"``): a name or comment that starts with
"=" must never become a formula in the spreadsheet someone opens (CSV/formula injection).
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font, PatternFill

REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def text_cell(ws: Any, value: str) -> Cell:
    """A cell of a write-only sheet that holds ``value`` as text, never as a formula."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def header_cell(ws: Any, value: str, highlight: bool = False) -> Cell:
    """A bold header cell; ``highlight`` marks a required column."""
    cell = WriteOnlyCell(ws, value=value)
    cell.font = Font(bold=True)
    if highlight:
        cell.fill = REQUIRED_FILL
    return cell
