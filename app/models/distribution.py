"""Bonus distribution (奖金分配): a unit's bonus pool for a quarter shared by score coefficients.

A ``BonusDistribution`` holds the pool (yuan, two decimals), the method taken from the scheme
(``score`` or ``score_x_grade``) and the grade coefficients used; its ``shares`` are one row per
person with the inputs (total, grade), the coefficient and the amount. The amounts always sum to
the pool exactly (largest-remainder rounding to the fen, see
``app.services.appraisal.distribution``). It runs through ``bonus_distribution.bpmn`` (the unit
admin submits, the principal confirms); a confirmed distribution is frozen, and a correction
is a new revision.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class DistributionStatus(enum.StrEnum):
    draft = "draft"  # the unit admin sets the pool and computes
    submitted = "submitted"  # with the principal for confirmation
    confirmed = "confirmed"  # frozen; exported for payroll
    withdrawn = "withdrawn"  # abandoned before confirmation


class BonusDistribution(Base):
    __tablename__ = "bonus_distribution"
    __table_args__ = (UniqueConstraint("unit_id", "period", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    pool: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    method: Mapped[str] = mapped_column(String(16))  # scheme.DISTRIBUTION_METHODS
    grade_coefficients: Mapped[dict[str, Any]] = mapped_column(JSON)  # grade -> coefficient text, as used
    status: Mapped[DistributionStatus] = mapped_column(
        Enum(DistributionStatus, native_enum=False, length=16),
        default=DistributionStatus.draft,
        index=True,
        active_history=True,  # the flush guard needs the loaded status even when it was expired before a change
    )
    reason: Mapped[str | None] = mapped_column(Text)  # why a correction was needed (revision > 0)
    note: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]

    unit: Mapped[OrgUnit] = relationship()
    created_by: Mapped[Person | None] = relationship(foreign_keys=[created_by_id])
    confirmed_by: Mapped[Person | None] = relationship(foreign_keys=[confirmed_by_id])
    shares: Mapped[list[BonusShare]] = relationship(
        back_populates="distribution", order_by="BonusShare.position", cascade="all, delete-orphan"
    )


class BonusShare(Base):
    """One person's share: coefficient c_i and amount = pool × c_i / Σc, rounded to the fen."""

    __tablename__ = "bonus_share"
    __table_args__ = (UniqueConstraint("distribution_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("bonus_distribution.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    staff_no: Mapped[str] = mapped_column(String(32))  # 工号, the payroll key
    person_name: Mapped[str] = mapped_column(String(64))
    section_name: Mapped[str] = mapped_column(String(128))
    total: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    grade: Mapped[str | None] = mapped_column(String(24))
    grade_coefficient: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))  # score_x_grade only
    coefficient: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    extra_fen: Mapped[bool] = mapped_column(Boolean, default=False)  # got one fen of the remainder

    distribution: Mapped[BonusDistribution] = relationship(back_populates="shares")
    person: Mapped[Person] = relationship()
