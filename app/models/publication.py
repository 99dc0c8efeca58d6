"""Quarterly publication of results (每季公布, 绩效公开) and the objections raised during its window.

A ``Publication`` is one unit's publication of one quarter's confirmed results. Its ``rows`` are a
*snapshot*: who was published with which total, grade and components, copied when the
publication was prepared, so a later change elsewhere never changes what was published. Once a
publication is published its rows cannot change at all (a ``before_flush`` guard in
``app.services.appraisal.publication`` refuses it); a correction is a new publication of the
same unit and quarter with ``revision`` + 1 and a ``reason``, and the old one stays readable as
``superseded``. Each publication runs through ``publication.bpmn`` (the unit admin prepares,
the principal approves); ``instance_id`` links the run.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class PublicationStatus(enum.StrEnum):
    draft = "draft"  # prepared by the unit admin, with the principal for approval
    published = "published"  # visible to the unit's people; objections open during the window
    superseded = "superseded"  # replaced by a correction (a later revision); still readable
    withdrawn = "withdrawn"  # a draft abandoned before approval


class Publication(Base):
    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("unit_id", "period", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))  # a quarter, "2026-Q4"
    revision: Mapped[int] = mapped_column(Integer, default=0)  # 0 first publication, 1.. corrections
    status: Mapped[PublicationStatus] = mapped_column(
        Enum(PublicationStatus, native_enum=False, length=16),
        default=PublicationStatus.draft,
        index=True,
        active_history=True,  # the flush guard needs the loaded status even when it was expired before a change
    )
    reason: Mapped[str | None] = mapped_column(Text)  # why a correction was needed (revision > 0)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("publication.id"))
    # copied from the scheme when prepared, so a later scheme change does not move the window
    publicity_days: Mapped[int] = mapped_column(Integer)
    publish_scope: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)  # the unit admin's note to the principal
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"), index=True)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    window_ends_at: Mapped[datetime | None]  # objections are accepted until this moment
    superseded_at: Mapped[datetime | None]

    unit: Mapped[OrgUnit] = relationship()
    prepared_by: Mapped[Person | None] = relationship(foreign_keys=[prepared_by_id])
    approved_by: Mapped[Person | None] = relationship(foreign_keys=[approved_by_id])
    supersedes: Mapped[Publication | None] = relationship(remote_side=[id])
    rows: Mapped[list[PublicationRow]] = relationship(
        back_populates="publication", order_by="PublicationRow.position", cascade="all, delete-orphan"
    )


class PublicationRow(Base):
    """One person's published result, copied from the confirmed period result."""

    __tablename__ = "publication_row"
    __table_args__ = (UniqueConstraint("publication_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publication.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # rank in the published list (by total, highest first)
    person_name: Mapped[str] = mapped_column(String(64))
    section_name: Mapped[str] = mapped_column(String(128))
    total: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    grade: Mapped[str | None] = mapped_column(String(24))  # scheme.PERIOD_GRADES key
    # indicator_score, evaluation_score, bonus_points, deduction_points, formula (text)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    result_id: Mapped[int | None] = mapped_column(Integer)  # the period result copied (kept for tracing only)

    publication: Mapped[Publication] = relationship(back_populates="rows")
    person: Mapped[Person] = relationship()
    objections: Mapped[list[PublicationObjection]] = relationship(
        back_populates="row", order_by="PublicationObjection.filed_at"
    )


class PublicationObjection(Base):
    """An objection (异议) a person filed on their published row, and the unit admin's answer."""

    __tablename__ = "publication_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_id: Mapped[int] = mapped_column(ForeignKey("publication_row.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    answered_at: Mapped[datetime | None]

    row: Mapped[PublicationRow] = relationship(back_populates="objections")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    answered_by: Mapped[Person | None] = relationship(foreign_keys=[answered_by_id])
