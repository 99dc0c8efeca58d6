"""Shared data for the publication and distribution tests: confirmed quarter results, actors, approvals.

Results are inserted as the grading slice leaves them (confirmed ``PeriodResult`` rows), so these
tests exercise publication and distribution on their own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import HumanTask, OrgUnit, Person, PersonStatus, TaskStatus
from app.models.base import utcnow
from app.models.results import PeriodResult, ResultKind, ResultStatus
from app.services.actor import Actor, actor_for_user
from app.services.appraisal.scheme import DEFAULT
from app.workflow import runtime
from tests.conftest import demo_account

PERIOD = "2026-Q4"


def unit(session: Any, code: str = "ljjd") -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def people(session: Any, code: str = "ljjd") -> list[Person]:
    sections = select(OrgUnit.id).where(OrgUnit.parent_id == unit(session, code).id)
    return list(
        session.scalars(
            select(Person)
            .where(Person.section_id.in_(sections), Person.status == PersonStatus.active)
            .order_by(Person.staff_no)
        )
    )


def add_results(
    session: Any,
    code: str = "ljjd",
    period: str = PERIOD,
    *,
    confirmed: bool = True,
    totals: list[Decimal] | None = None,
) -> list[PeriodResult]:
    """One quarter result per active person of the unit: 96.5, 94.75, 93, … unless ``totals`` are given."""
    found = people(session, code)
    rows = []
    for i, person in enumerate(found):
        total = totals[i % len(totals)] if totals else Decimal("96.5") - Decimal(i) * Decimal("1.75")
        grade = DEFAULT.period_grade_for(total)
        indicator = (total - Decimal(1)) / Decimal("0.8") * Decimal("0.8")
        rows.append(
            PeriodResult(
                unit_id=unit(session, code).id,
                person_id=person.id,
                period=period,
                kind=ResultKind.quarter,
                indicator_score=indicator.quantize(Decimal("0.01")),
                evaluation_score=Decimal("90.00"),
                bonus_points=Decimal("1.00"),
                deduction_points=Decimal("0.00"),
                total=total,
                computed_grade=grade,
                grade=grade,
                rule="threshold",
                rule_detail="[]",
                formula=f"{indicator:.2f} + 1 − 0 = {total}",
                sources="{}",
                status=ResultStatus.confirmed if confirmed else ResultStatus.draft,
                computed_at=utcnow(),
                confirmed_at=utcnow() if confirmed else None,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def actor(session: Any, role: str, code: str = "ljjd", index: int = 0) -> Actor:
    return actor_for_user(session, demo_account(session, role, unit_code=code, index=index))


def ready_task(session: Any, instance_id: int | None) -> HumanTask:
    task = session.scalar(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )
    assert task is not None, "no waiting step"
    return task


def approve(session: Any, instance_id: int | None, code: str = "ljjd", note: str = "请审批") -> None:
    """The unit admin submits, the principal approves: the whole flow through the engine."""
    runtime.complete_task(
        session, actor(session, "unit_admin", code), ready_task(session, instance_id).id, {"note": note}
    )
    runtime.complete_task(
        session, actor(session, "unit_principal", code), ready_task(session, instance_id).id, {"decision": "approve"}
    )
