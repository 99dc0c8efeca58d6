"""The payroll sheet of a confirmed bonus distribution (奖金分配 → 工资发放), as an Excel workbook.

One row per person (staff number first: payroll matches on it), then a total row whose amount is
the pool exactly. Only a confirmed distribution is exported, and every export is audited.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from app.models import DistributionStatus
from app.services import audit, xlsx
from app.services.actor import Actor
from app.services.appraisal.distribution import get_distribution, sum_coefficients
from app.services.errors import T_, Conflict


def export_workbook(session: Session, actor: Actor, distribution_id: int, labels: dict[str, str]) -> bytes:
    """The payroll sheet of a confirmed distribution; ``labels`` word the headers and grades."""
    dist = get_distribution(session, actor, distribution_id)
    if dist.status is not DistributionStatus.confirmed:
        raise Conflict(T_("Only a confirmed distribution goes to payroll: ask the principal to confirm it first."))
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(f"{dist.period}")
    heads = ("staff_no", "name", "section", "total", "grade", "coefficient", "amount")
    ws.append([xlsx.header_cell(ws, labels.get(h, h)) for h in heads])
    for s in dist.shares:
        ws.append(
            [
                xlsx.text_cell(ws, s.staff_no),
                xlsx.text_cell(ws, s.person_name),
                xlsx.text_cell(ws, s.section_name),
                float(s.total),
                xlsx.text_cell(ws, labels.get(f"grade.{s.grade}", s.grade or "")),
                float(s.coefficient),
                float(s.amount),
            ]
        )
    total = sum((s.amount for s in dist.shares), Decimal(0))
    ws.append(
        [
            xlsx.header_cell(ws, labels.get("total_row", "Total")),
            "",
            "",
            "",
            "",
            float(sum_coefficients(dist)),
            float(total),
        ]
    )
    audit.record(
        session, actor, "distribution.export", "bonus_distribution", dist.id, details={"rows": len(dist.shares)}
    )
    return xlsx.to_bytes(wb)
