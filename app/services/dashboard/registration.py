"""The annual appraisal registration form (考核登记表) of one person: what the printed sheet holds.

Who may open it is who may read the person's appraisals (``appraisal.common.can_read``): the
person, the section's head and leader in charge, the unit's principal and administrator, and the
office. The check is here, on the object, so every route and export inherits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import AppraisalRecord, IndicatorItem, PeriodResult, Person, ResultKind, ResultStatus
from app.services.actor import Actor
from app.services.appraisal import common as appraisal_common
from app.services.dashboard.common import CATEGORY, RECORD_STATUS, check_dashboard_period, months_of
from app.services.dashboard.grades import RESULT_STATUS, grade_label
from app.services.errors import T_, Forbidden, Text


@dataclass(frozen=True)
class MonthRow:
    period: str
    score: Decimal | None
    adjusted: Decimal | None
    final: Decimal | None
    status: Text
    scored_by: str
    comment: str
    review_comment: str


@dataclass(frozen=True)
class GradeRow:
    """One quarter's (or the year's) result: the grade only once the unit has confirmed it."""

    period: str
    total: Decimal | None
    grade: Text | str
    status: Text


@dataclass
class RegistrationForm:
    person: Person
    year: str
    unit_name: str
    section_name: str
    indicators: list[tuple[Text, IndicatorItem]] = field(default_factory=list)
    months: list[MonthRow] = field(default_factory=list)
    grades: list[GradeRow] = field(default_factory=list)

    @property
    def mean(self) -> Decimal | None:
        scores = [m.final for m in self.months if m.final is not None]
        return (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01")) if scores else None

    @property
    def total_weight(self) -> Decimal:
        return sum((i.weight for _, i in self.indicators), Decimal(0))


def registration_form(session: Session, actor: Actor, person_id: int, year: str) -> RegistrationForm:
    """The person's year: identity, unit and section, effective indicators, monthly results and comments,
    and the quarters' and the year's grades (``PeriodResult``; a draft shows no grade, only that it is pending)."""
    year = check_dashboard_period(year, ("year",))
    person = appraisal_common.person_of(session, person_id)
    if not appraisal_common.can_read(actor, person):
        raise Forbidden(
            T_("Only the person, their section's leaders, the unit's leaders and administrator see this form.")
        )
    section = person.section
    form = RegistrationForm(
        person=person,
        year=year,
        unit_name=section.parent.name if section is not None and section.parent is not None else "",
        section_name=section.name if section is not None else "",
    )
    version = appraisal_common.effective_version(session, person.id, int(year))
    if version is not None:
        form.indicators = [(CATEGORY[i.category.value], i) for i in version.items]
    records = session.scalars(
        select(AppraisalRecord)
        .options(selectinload(AppraisalRecord.scored_by))
        .where(AppraisalRecord.person_id == person.id, AppraisalRecord.period.in_(months_of(year)))
        .order_by(AppraisalRecord.period)
    )
    form.months = [
        MonthRow(
            period=r.period,
            score=r.score,
            adjusted=r.adjusted_score,
            final=r.final_score,
            status=RECORD_STATUS[r.status.value],
            scored_by=r.scored_by.name if r.scored_by is not None else "",
            comment=r.score_comment or "",
            review_comment=r.review_comment or "",
        )
        for r in records
    ]
    results = session.scalars(
        select(PeriodResult)
        .where(
            PeriodResult.person_id == person.id,
            (PeriodResult.period == year)
            | ((PeriodResult.kind == ResultKind.quarter) & PeriodResult.period.like(f"{year}-Q_")),
        )
        .order_by(PeriodResult.kind, PeriodResult.period)
    )
    form.grades = [
        GradeRow(
            period=r.period,
            total=r.total if r.status is ResultStatus.confirmed else None,
            grade=grade_label(r.grade) if r.status is ResultStatus.confirmed else "—",
            status=RESULT_STATUS[r.status.value],
        )
        for r in sorted(results, key=lambda r: (r.kind is ResultKind.year, r.period))
    ]
    return form
