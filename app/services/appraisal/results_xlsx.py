"""Excel export of a unit's results of a quarter or a year (the formula of each person included)."""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy.orm import Session

from app.models import Person
from app.services import audit, xlsx
from app.services.actor import Actor
from app.services.appraisal.results import check_may_read, get_unit, period_results

HEADS = (
    "staff_no",
    "name",
    "section",
    "indicator_score",
    "evaluation_score",
    "bonus_points",
    "deduction_points",
    "total",
    "computed_grade",
    "grade",
    "rule",
    "formula",
    "status",
)


def _num(value: Decimal | None) -> float | str:
    return "" if value is None else float(value)


def export_workbook(session: Session, actor: Actor, unit_id: int, period: str, labels: dict[str, str]) -> bytes:
    """The results sheet; ``labels`` word the headers, grades (``grade.<key>``), rules and statuses."""
    unit = get_unit(session, unit_id)
    check_may_read(actor, unit_id)
    rows = period_results(session, unit_id, period)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(period)
    ws.append([xlsx.header_cell(ws, labels.get(h, h)) for h in HEADS])
    for r in rows:
        person = session.get(Person, r.person_id)
        assert person is not None
        ws.append(
            [
                xlsx.text_cell(ws, person.staff_no),
                xlsx.text_cell(ws, person.name),
                xlsx.text_cell(ws, person.section.name if person.section else ""),
                _num(r.indicator_score),
                _num(r.evaluation_score),
                _num(r.bonus_points),
                _num(r.deduction_points),
                float(r.total),
                xlsx.text_cell(ws, labels.get(f"grade.{r.computed_grade}", r.computed_grade)),
                xlsx.text_cell(ws, labels.get(f"grade.{r.grade}", r.grade)),
                xlsx.text_cell(ws, labels.get(f"rule.{r.rule}", r.rule)),
                xlsx.text_cell(ws, r.formula),
                xlsx.text_cell(ws, labels.get(f"status.{r.status.value}", r.status.value)),
            ]
        )
    audit.record(session, actor, "export.results", "org_unit", unit.id, details={"period": period, "rows": len(rows)})
    return xlsx.to_bytes(wb)
