"""Bonus and deduction items (绩优加分/绩差扣分) of the periodic appraisal.

A ``BonusItem`` is one proposal of points for (bonus) or against (deduction) a person, of one of
the kinds the scoring scheme names, dated when the deed happened, with a reason and evidence
files. It is the domain side of one ``bonus_deduction`` process instance; once approved it counts
towards the person's period total (within the scheme's caps) and can no longer be changed.

``unit_id`` and ``section_id`` are copied from the person when the item is proposed, so moving a
person to another section later does not move their past items to another unit's list.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class BonusStatus(enum.StrEnum):
    proposed = "proposed"  # with the proposer (new or returned) or the section head's check
    in_review = "in_review"  # with the unit principal for the decision
    approved = "approved"  # counts; frozen
    rejected = "rejected"
    withdrawn = "withdrawn"  # the process was cancelled


class BonusDirection(enum.StrEnum):
    bonus = "bonus"  # 绩优加分
    deduction = "deduction"  # 绩差扣分


class BonusItem(Base):
    __tablename__ = "bonus_item"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_bonus_item_person_occurred", "person_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # scheme.BONUS_KINDS or scheme.DEDUCTION_KINDS
    direction: Mapped[BonusDirection] = mapped_column(Enum(BonusDirection, native_enum=False, length=16))
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    occurred_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[BonusStatus] = mapped_column(
        Enum(BonusStatus, native_enum=False, length=16),
        default=BonusStatus.proposed,
        index=True,
        active_history=True,  # the freeze guard sees the old status even when the row was not read first
    )
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the section head's check of a person's own proposal
    check_comment: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    checked_at: Mapped[datetime | None]
    # the principal's decision
    decision_comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    unit: Mapped[OrgUnit] = relationship(foreign_keys=[unit_id])
    section: Mapped[OrgUnit | None] = relationship(foreign_keys=[section_id])
    proposed_by: Mapped[Person] = relationship(foreign_keys=[proposed_by_id])
    checked_by: Mapped[Person | None] = relationship(foreign_keys=[checked_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])
    evidence: Mapped[list[BonusEvidence]] = relationship(
        back_populates="item", order_by="BonusEvidence.id", cascade="all, delete-orphan"
    )

    @property
    def signed_points(self) -> Decimal:
        return self.points if self.direction is BonusDirection.bonus else -self.points


class BonusEvidence(Base):
    """A file supporting an item, kept in the evidence store under a generated name."""

    __tablename__ = "bonus_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("bonus_item.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[BonusItem] = relationship(back_populates="evidence")
