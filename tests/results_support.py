"""Builders for the results, grading and annual tests: archived monthly records, bonus items, people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import (
    AppraisalRecord,
    BonusDirection,
    BonusItem,
    BonusStatus,
    InstanceStatus,
    OrgUnit,
    Person,
    ProcessInstance,
    RecordStatus,
    Role,
)
from app.services.actor import Actor
from app.services.appraisal import scheme
from app.workflow.repository import active_definition

D = Decimal

# An office actor that is not SYSTEM, so audit rows name somebody.
OFFICE = Actor(user_id=None, person_id=None, username="office", name="office", scopes={Role.perf_office: frozenset()})


def unit_of(session: Any, code: str = "ljjd") -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def month_record(
    session: Any,
    person: Person,
    month: str,
    score: str | None,
    *,
    status: RecordStatus = RecordStatus.archived,
    adjusted: str | None = None,
    scored_by: Person | None = None,
) -> AppraisalRecord:
    """A monthly appraisal record of ``person`` (its process instance included), archived by default."""
    definition = active_definition(session, "periodic_appraisal")
    instance = ProcessInstance(
        definition_id=definition.id,
        process_key="periodic_appraisal",
        subject_id=person.id,
        period=month,
        status=InstanceStatus.completed if status is RecordStatus.archived else InstanceStatus.running,
        state=b"",
    )
    session.add(instance)
    session.flush()
    record = AppraisalRecord(
        person_id=person.id,
        period=month,
        instance_id=instance.id,
        status=status,
        score=None if score is None else D(score),
        adjusted_score=None if adjusted is None else D(adjusted),
        scored_by_id=scored_by.id if scored_by is not None else None,
        archived_at=datetime(2026, 12, 1, tzinfo=UTC) if status is RecordStatus.archived else None,
    )
    session.add(record)
    session.flush()
    return record


def months(session: Any, person: Person, quarter: str, *scores: str) -> None:
    """Archived records with ``scores`` for the first months of ``quarter``."""
    year, q = int(quarter[:4]), int(quarter[-1])
    for offset, score in enumerate(scores):
        month_record(session, person, f"{year}-{3 * q - 2 + offset:02d}", score)


def bonus(session: Any, person: Person, points: str, day: date, kind: str = "innovation") -> BonusItem:
    direction = BonusDirection.bonus if kind in scheme.BONUS_KINDS else BonusDirection.deduction
    item = BonusItem(
        person_id=person.id,
        unit_id=person.section.parent_id,
        section_id=person.section_id,
        kind=kind,
        direction=direction,
        points=D(points),
        occurred_on=day,
        reason="测试",
        status=BonusStatus.approved,
        proposed_by_id=person.id,
    )
    session.add(item)
    session.flush()
    return item


def quarter_result(
    session: Any, person: Person, quarter: str, total: str, grade: str, *, confirmed: bool = True
) -> Any:
    """A quarter result as the grading left it (the annual computation reads only these rows)."""
    from app.models import PeriodResult, ResultKind, ResultStatus

    row = PeriodResult(
        unit_id=person.section.parent_id,
        person_id=person.id,
        period=quarter,
        kind=ResultKind.quarter,
        indicator_score=D(total),
        bonus_points=D(0),
        deduction_points=D(0),
        total=D(total),
        computed_grade=grade,
        grade=grade,
        rule="threshold",
        rule_detail="[]",
        formula="",
        sources="{}",
        status=ResultStatus.confirmed if confirmed else ResultStatus.draft,
    )
    session.add(row)
    session.flush()
    return row
