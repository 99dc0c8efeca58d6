"""Comprehensive evaluation (综合测评) on 德、能、勤、绩、廉: rounds, who rates whom, and the ratings.

An ``EvaluationRound`` is one unit's round for one period — a quarter ("2026-Q4") or a year
("2026"), as the unit's scoring scheme says (``evaluation_period``); at most one per unit and
period. Its ``EvaluationAssignment`` rows say that ``rater`` rates ``ratee`` as a leader, a peer
or themself; at most one per (round, rater, ratee). ``EvaluationRating`` holds one score
(0–100, one decimal at most) per assignment and dimension (scheme.DIMENSIONS).

Ratings are saved as a draft until the rater submits the whole sheet (``submitted_at`` on each of
the rater's assignments); only submitted ratings count. Individual ratings are never shown to
anyone but the rater: the services in ``app.services.appraisal.evaluation`` only hand out
aggregates (see there for the anonymity rules).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class RoundStatus(enum.StrEnum):
    open = "open"  # raters rate; drafts and submissions accepted
    closed = "closed"  # no more ratings; the result is final


class RaterGroup(enum.StrEnum):
    leader = "leader"  # the ratee's section head, leader in charge, unit principal
    peer = "peer"  # a colleague of the same section
    self = "self"  # the ratee themself


class EvaluationRound(Base):
    __tablename__ = "evaluation_round"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))  # "2026-Q4" or "2026"
    status: Mapped[RoundStatus] = mapped_column(
        Enum(RoundStatus, native_enum=False, length=16), default=RoundStatus.open, index=True
    )
    closes_on: Mapped[date | None] = mapped_column(Date)  # the last day for ratings (local date)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    closed_at: Mapped[datetime | None]

    unit: Mapped[OrgUnit] = relationship()
    opened_by: Mapped[Person | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[Person | None] = relationship(foreign_keys=[closed_by_id])


class EvaluationAssignment(Base):
    __tablename__ = "evaluation_assignment"
    __table_args__ = (
        UniqueConstraint("round_id", "rater_id", "ratee_id"),
        Index("ix_evaluation_assignment_round_ratee", "round_id", "ratee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_round.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    ratee_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    group: Mapped[RaterGroup] = mapped_column(Enum(RaterGroup, native_enum=False, length=8))
    submitted_at: Mapped[datetime | None]

    round: Mapped[EvaluationRound] = relationship()
    rater: Mapped[Person] = relationship(foreign_keys=[rater_id])
    ratee: Mapped[Person] = relationship(foreign_keys=[ratee_id])
    ratings: Mapped[list[EvaluationRating]] = relationship(
        back_populates="assignment", order_by="EvaluationRating.id", cascade="all, delete-orphan"
    )


class EvaluationRating(Base):
    __tablename__ = "evaluation_rating"
    __table_args__ = (
        UniqueConstraint("assignment_id", "dimension"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("evaluation_assignment.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(8))  # scheme.DIMENSIONS
    score: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    comment: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[EvaluationAssignment] = relationship(back_populates="ratings")
