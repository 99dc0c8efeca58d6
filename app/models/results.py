"""Period and annual results (平时考核结果, 年度考核结果) and veto records (一票否决).

A ``PeriodResult`` is one person's result of one quarter (``kind`` quarter, ``period`` "2026-Q4")
or one year (``kind`` year, ``period`` "2026"): the parts of the total, the total, the formula
with the person's own numbers, the grade the thresholds give (``computed_grade``) and the grade
that stands after the scheme's rules and the quota (``grade``). ``rule`` names the rule that
decided ``grade`` and ``rule_detail`` (JSON) lists every rule applied with its numbers, so a page
can say "score 93.5 → 优秀 by threshold; demoted to 合格: only 0 of 4 periods 好".

Results are computed as drafts and may be recomputed until confirmed; a confirmed result is
frozen (a ``before_flush`` guard in ``app.services.appraisal.results`` refuses changes).

A ``VetoRecord`` is a veto item (e.g. a serious violation) found against a person in a year; it
forces the lowest annual grade whatever the score. Withdrawing one keeps the row (audited).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class ResultKind(enum.StrEnum):
    quarter = "quarter"
    year = "year"


class ResultStatus(enum.StrEnum):
    draft = "draft"  # computed; may be recomputed and graded
    confirmed = "confirmed"  # grades confirmed by the unit: frozen


class PeriodResult(Base):
    __tablename__ = "period_result"
    __table_args__ = (UniqueConstraint("person_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    period: Mapped[str] = mapped_column(String(16), index=True)  # "2026-Q4" or "2026"
    kind: Mapped[ResultKind] = mapped_column(Enum(ResultKind, native_enum=False, length=8))
    indicator_score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # mean of the months' final scores
    evaluation_score: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # 综合测评; None: no evaluation
    bonus_points: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # counted (capped) bonus
    deduction_points: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))  # counted deduction
    total: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    computed_grade: Mapped[str] = mapped_column(String(24))  # by the thresholds alone
    grade: Mapped[str] = mapped_column(String(24))  # after the rules and the quota
    rule: Mapped[str] = mapped_column(String(32))  # key of the rule that decided ``grade``
    rule_detail: Mapped[str] = mapped_column(Text)  # JSON list of the rules applied, with their numbers
    formula: Mapped[str] = mapped_column(Text)  # the total's formula with the person's numbers
    sources: Mapped[str] = mapped_column(Text)  # JSON: months/quarters used and missing, bonus item ids
    status: Mapped[ResultStatus] = mapped_column(
        Enum(ResultStatus, native_enum=False, length=16),
        default=ResultStatus.draft,
        index=True,
        active_history=True,  # the flush guard needs the loaded status even when it was expired before a change
    )
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    unit: Mapped[OrgUnit] = relationship()


class VetoRecord(Base):
    __tablename__ = "veto_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    item: Mapped[str] = mapped_column(String(64))  # key of the scheme's veto item
    item_label: Mapped[str] = mapped_column(String(200))  # the label when recorded
    reason: Mapped[str] = mapped_column(Text)
    occurred_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
