"""Indicator rows in Excel: the import template, a checked import, exports of one set or a unit's sets.

The import reads the columns 类别/指标名称/考核标准/权重/评价方法 and checks every row with the
same rules as the drafting page; when any row is bad the result carries row-by-row messages
and no rows, so nothing is replaced. Common indicators (共性指标) in a file are skipped: they
always come from the office's library. Exports write every cell as text (never a formula).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Category, IndicatorSet, IndicatorSetVersion, Person, PersonStatus
from app.services import xlsx
from app.services.actor import Actor
from app.services.errors import T_, NotFound, Text
from app.services.indicators import overview, sets
from app.services.indicators.rules import CATEGORY_LABELS, CATEGORY_ORDER, DEFAULT_RULES, parse_rows

SHEET, INFO_SHEET, HELP_SHEET = "指标", "信息", "说明"
COLUMNS = (
    ("category", "类别"),
    ("name", "指标名称"),
    ("standard", "考核标准"),
    ("weight", "权重"),
    ("method", "评价方法"),
)
EXAMPLE_MARK = "（示例）"  # the template's example row starts so; the import skips it
REQUIRED = ("category", "name", "standard", "weight")
STATUS_LABELS = {
    "not_started": "未开始",
    "drafting": "拟定中",
    "in_review": "审核中",
    "returned": "已退回",
    "effective": "已生效",
    "draft": "草稿",
    "superseded": "已被替代",
}
_HEADERS = {label: key for key, label in COLUMNS} | {key: key for key, _ in COLUMNS}
_CATEGORIES = {label: c for c, label in CATEGORY_LABELS.items()} | {c.value: c for c in Category}
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass
class RowProblem:
    row: int  # the spreadsheet's row number
    messages: list[Text]


@dataclass
class ImportResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    file_error: Text | None = None
    skipped_common: int = 0

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.problems


# --- writing --------------------------------------------------------------------------------


def _put(ws: Worksheet, values: Iterable[Any], *, head: bool = False) -> None:
    ws.append([float(v) if isinstance(v, Decimal) else ("" if v is None else v) for v in values])
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # text, even when it starts with "=": never a formula
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if head:
            cell.font, cell.fill = Font(bold=True), _HEAD_FILL


def _widths(ws: Worksheet, widths: Iterable[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"


def template_workbook() -> bytes:
    """An empty import sheet with the five columns, an example row and a help sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    _put(ws, [label for _, label in COLUMNS], head=True)
    _put(
        ws,
        [
            "重点工作",
            f"{EXAMPLE_MARK}年度预算编制",
            "11月底前完成编制并报审，差错不超过2处",
            40,
            "按时间节点和差错数考核",
        ],
    )
    _widths(ws, (14, 30, 50, 8, 30))
    help_ws = wb.create_sheet(HELP_SHEET)
    for line in (
        ("类别", "重点工作、职能职责、临时性工作任务之一；共性指标由绩效办统一设置，导入时跳过。"),
        ("指标名称", "必填，不超过200字。"),
        ("考核标准", "必填：完成到什么程度、达到什么质量算完成。"),
        ("权重", "必填，大于0的数字；全部指标（含共性指标）合计100，重点工作不少于40。"),
        ("评价方法", "选填：怎样考核，依据什么数据或材料。"),
        ("起草标准", "重要性、匹配性、可比性、可考性。"),
    ):
        _put(help_ws, line)
    _widths(help_ws, (14, 80))
    return xlsx.to_bytes(wb)


def _shown(s: IndicatorSet, number: int | None) -> IndicatorSetVersion:
    if number is not None:
        found = next((v for v in s.versions if v.number == number), None)
        if found is None:
            raise NotFound(T_("Version %(n)s of this indicator set does not exist.", n=number))
        return found
    return s.effective_version or sets.latest(s)


def _person_line(person: Person) -> tuple[str, str]:
    section = person.section
    return (section.parent.name if section and section.parent else "", section.name if section else "")


def export_set(session: Session, actor: Actor, set_id: int, number: int | None = None) -> tuple[bytes, str]:
    """One set's version (the effective one unless ``number`` names another) and a suitable file name."""
    s = sets.get_set(session, actor, set_id)
    version = _shown(s, number)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    _put(ws, ["序号", *[label for _, label in COLUMNS], "关联单位任务", "审核意见"], head=True)
    for n, item in enumerate(version.items, start=1):
        task = item.unit_task.title if item.unit_task else ""
        row = [n, CATEGORY_LABELS[item.category], item.name, item.standard, item.weight, item.method, task]
        _put(ws, [*row, item.review_comment or ""])
    _widths(ws, (6, 14, 30, 50, 8, 30, 24, 30))
    info = wb.create_sheet(INFO_SHEET)
    unit, section = _person_line(s.person)
    total = sum((i.weight for i in version.items), Decimal(0))
    for line in (
        ("姓名", s.person.name),
        ("工号", s.person.staff_no),
        ("单位", unit),
        ("股室", section),
        ("年度", s.year),
        ("版本", version.number),
        ("状态", STATUS_LABELS.get(version.status.value, version.status.value)),
        ("权重合计", total),
    ):
        _put(info, line)
    _widths(info, (12, 40))
    return xlsx.to_bytes(wb), f"indicators_{s.year}_{s.person.staff_no}_v{version.number}.xlsx"


def export_unit(session: Session, actor: Actor, unit_id: int, year: int) -> tuple[bytes, str]:
    """Every visible person of the unit with their set of ``year``: one long sheet, person columns first."""
    sections = overview.visible_sections(session, actor, unit_id)
    people = session.scalars(
        select(Person)
        .where(Person.section_id.in_([s.id for s in sections]), Person.status == PersonStatus.active)
        .order_by(Person.staff_no)
    ).all()
    by_section: dict[int, list[Person]] = {}
    for p in people:
        by_section.setdefault(p.section_id or 0, []).append(p)
    found = {
        s.person_id: s
        for s in session.scalars(
            select(IndicatorSet)
            .where(IndicatorSet.person_id.in_([p.id for p in people]), IndicatorSet.year == year)
            .options(selectinload(IndicatorSet.versions).selectinload(IndicatorSetVersion.items))
        )
    }
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    head = ["股室", "工号", "姓名", "状态", "版本", "序号", *[label for _, label in COLUMNS]]
    _put(ws, head, head=True)
    for section in sections:
        for p in by_section.get(section.id, []):
            s = found.get(p.id)
            if s is None or not s.versions:
                _put(ws, [section.name, p.staff_no, p.name, STATUS_LABELS["not_started"]])
                continue
            version = _shown(s, None)
            status = STATUS_LABELS.get(s.status.value, s.status.value)
            if not version.items:
                _put(ws, [section.name, p.staff_no, p.name, status, version.number])
            for n, item in enumerate(version.items, start=1):
                cells = [CATEGORY_LABELS[item.category], item.name, item.standard, item.weight, item.method]
                _put(ws, [section.name, p.staff_no, p.name, status, version.number, n, *cells])
    _widths(ws, (18, 10, 10, 10, 6, 6, 14, 30, 50, 8, 30))
    unit = sections[0].parent if sections else None
    return xlsx.to_bytes(wb), f"indicators_{year}_{unit.code if unit and unit.code else unit_id}.xlsx"


# --- reading --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\u3000", " ").strip()


def _header_row(rows: list[tuple[Any, ...]]) -> tuple[int, dict[str, int]] | None:
    """The first of the top ten rows naming the required columns: (index, column key → position)."""
    for idx, row in enumerate(rows[:10]):
        keys = {_HEADERS.get(_cell(v).replace("*", "").strip().lower()): i for i, v in enumerate(row)}
        keys.pop(None, None)
        if all(k in keys for k in REQUIRED):
            return idx, {k: i for k, i in keys.items() if k is not None}
    return None


def read_rows(data: bytes, filename: str = "") -> ImportResult:
    """Parse and check an uploaded sheet; ``rows`` are ready for the drafting page only when ``ok``."""
    result = ImportResult()
    bad_file = T_("This is not an Excel workbook (.xlsx); download the template and fill it in.")
    if filename and not filename.lower().endswith(".xlsx"):
        result.file_error = bad_file
        return result
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
            rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except Exception:  # any unreadable upload: a bad zip, a damaged part, not a workbook at all
        result.file_error = bad_file
        return result
    found = _header_row(rows)
    if found is None:
        result.file_error = T_("The sheet needs the columns 类别, 指标名称, 考核标准 and 权重 in its first row.")
        return result
    start, columns = found
    parsed: list[dict[str, Any]] = []
    for number, row in enumerate(rows[start + 1 :], start=start + 2):
        values = {k: _cell(row[i]) if i < len(row) else "" for k, i in columns.items()}
        if not any(values.values()) or values.get("name", "").startswith(EXAMPLE_MARK):
            continue
        category = _CATEGORIES.get(values.get("category", ""))
        if category is Category.common:
            result.skipped_common += 1
            continue
        if category is None:
            result.problems.append(RowProblem(number, [T_("Category must be 重点工作, 职能职责 or 临时性工作任务.")]))
            continue
        item = {**values, "category": category.value}
        check = parse_rows([item])
        if check.field_errors:
            result.problems.append(RowProblem(number, list(check.field_errors.values())))  # type: ignore[arg-type]
            continue
        parsed.append({**item, "weight": f"{check.rows[0].weight.normalize():f}"})
    if len(parsed) + len(result.problems) > DEFAULT_RULES.max_items:
        result.file_error = T_("At most %(n)d indicators; merge related ones.", n=DEFAULT_RULES.max_items)
    elif not parsed and not result.problems:
        result.file_error = T_("The sheet has no indicator rows.")
    if result.ok:
        parsed.sort(key=lambda r: CATEGORY_ORDER.index(Category(r["category"])))
        result.rows = parsed
    return result
