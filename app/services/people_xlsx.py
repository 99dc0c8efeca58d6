"""Workbooks the people import/export writes: the import template and the people export.

The export uses the template's columns, so an exported file imports again unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy.orm import Session

from app.services import xlsx
from app.services.actor import Actor
from app.services.org import search_people, visible_units
from app.services.people_columns import (
    _CHUNK,
    _STATUS_TEXT,
    COLUMNS,
    DATA_SHEET,
    EXPORT_COLUMNS,
    HELP_SHEET,
    MAX_ROWS,
    ORG_SHEET,
    Column,
    require_importer,
)


def _data_sheet(wb: Workbook, columns: Iterable[Column]) -> Any:
    ws = wb.create_sheet(DATA_SHEET)
    columns = list(columns)
    for idx, col in enumerate(columns):
        ws.column_dimensions[get_column_letter(idx + 1)].width = 28 if col.key in {"unit", "section"} else 14
    ws.freeze_panes = "A2"
    ws.append([xlsx.header_cell(ws, c.header, c.required) for c in columns])
    return ws


def template_workbook(session: Session | None = None, actor: Actor | None = None) -> bytes:
    """The import template: header row, 说明 sheet and (given an actor) the units and sections to use."""
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    ws = _data_sheet(wb, COLUMNS)
    ws.column_dimensions["A"].number_format = "@"  # staff numbers keep their leading zeros
    status = DataValidation(type="list", formula1='"在职,离职"', allow_blank=True)
    letter = get_column_letter([c.key for c in COLUMNS].index("status") + 1)
    status.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    ws.add_data_validation(status)
    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.column_dimensions["C"].width = 90
    help_ws.append([xlsx.header_cell(help_ws, h) for h in ("列名", "是否必填", "说明")])
    for col in COLUMNS:
        help_ws.append([col.header, "必填" if col.required else "选填", col.help])
    for line in (
        "",
        "1. 第一行为表头，请勿修改列名；列的顺序可以调整，选填列可以删除。",
        "2. 导入前系统会逐行检查；只要有一行有误，就不会写入任何数据，请按导入结果逐行修改后重新导入。",
        "3. 对已存在的人员，岗位、用户名、状态留空表示保持原值不变；同一文件重复导入不会产生任何变化。",
        f"4. 单位管理员只能导入本单位的人员；每个文件最多 {MAX_ROWS} 行。",
    ):
        help_ws.append([line])
    if session is not None and actor is not None:
        require_importer(actor)  # the sheet lists only the units the actor may import into
        org_ws = wb.create_sheet(ORG_SHEET)
        org_ws.column_dimensions["A"].width = org_ws.column_dimensions["B"].width = 30
        org_ws.append([xlsx.header_cell(org_ws, "单位"), xlsx.header_cell(org_ws, "股室")])
        for unit in visible_units(session, actor):
            for section in unit.children:
                org_ws.append([unit.name, section.name])
    return xlsx.to_bytes(wb)


def export_people(
    session: Session,
    actor: Actor,
    *,
    q: str = "",
    unit_id: int | None = None,
    section_id: int | None = None,
    include_left: bool = False,
) -> bytes:
    """The people the actor administers, in the template's columns, so the file re-imports as is."""
    require_importer(actor)
    wb = Workbook(write_only=True)
    ws = _data_sheet(wb, EXPORT_COLUMNS)
    page_no = 1
    while True:
        page = search_people(
            session,
            actor,
            q=q,
            unit_id=unit_id,
            section_id=section_id,
            include_left=include_left,
            page=page_no,
            per_page=_CHUNK,
        )
        for p in page.items:
            values = {
                "staff_no": p.staff_no,
                "name": p.name,
                "unit": p.unit.name if p.unit else "",
                "section": p.section.name if p.section else "",
                "post": p.post or "",
                "username": p.account.username if p.account else "",
                "status": _STATUS_TEXT[p.status],
            }
            ws.append([xlsx.text_cell(ws, values[c.key]) for c in EXPORT_COLUMNS])
        if page_no >= page.pages:
            break
        page_no += 1
    return xlsx.to_bytes(wb)


# ---------------------------------------------------------------- reading an upload
