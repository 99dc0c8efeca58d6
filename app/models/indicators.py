"""Indicators (指标制定): the common library, unit tasks and their decomposition, indicator sets.

An indicator set belongs to one person and one year. Every change runs through approval, so
the set keeps numbered versions: version 1 is the initial agreement, later ones adjustments
(动态调整). Exactly one version is effective at a time; the others stay viewable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit, UnitType
from app.models.people import Person


class Category(enum.StrEnum):
    key_work = "key_work"  # 重点工作
    duties = "duties"  # 职能职责
    common = "common"  # 共性指标
    temporary = "temporary"  # 临时性工作任务


class CommonIndicator(Base):
    """An indicator the performance office sets for everyone of a year (and unit type)."""

    __tablename__ = "common_indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_type: Mapped[UnitType | None] = mapped_column(Enum(UnitType, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(200))
    standard: Mapped[str] = mapped_column(Text)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    method: Mapped[str] = mapped_column(String(500), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitTask(Base):
    """A major task of a unit for a year (单位年度重点任务), decomposed to sections and people."""

    __tablename__ = "unit_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_indicator: Mapped[str] = mapped_column(String(300), default="")  # the unit-level indicator it serves
    deadline: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[OrgUnit] = relationship()
    assignments: Mapped[list[UnitTaskAssignment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="UnitTaskAssignment.id"
    )
    comments: Mapped[list[UnitTaskComment]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="UnitTaskComment.at"
    )


class UnitTaskAssignment(Base):
    """A person (in a section) responsible for a unit task, as lead (牵头) or assisting (配合)."""

    __tablename__ = "unit_task_assignment"
    __table_args__ = (UniqueConstraint("task_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("unit_task.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    role: Mapped[str] = mapped_column(String(16), default="lead")  # lead | assist
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    last_update_at: Mapped[datetime | None]

    task: Mapped[UnitTask] = relationship(back_populates="assignments")
    person: Mapped[Person] = relationship()
    updates: Mapped[list[UnitTaskProgress]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan", order_by="UnitTaskProgress.at"
    )


class UnitTaskProgress(Base):
    """A progress update with a note and optional evidence file."""

    __tablename__ = "unit_task_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("unit_task_assignment.id", ondelete="CASCADE"), index=True)
    progress: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    evidence_name: Mapped[str | None] = mapped_column(String(200))  # original file name, shown
    evidence_path: Mapped[str | None] = mapped_column(String(300))  # generated name in the evidence store
    by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[UnitTaskAssignment] = relationship(back_populates="updates")
    by: Mapped[Person] = relationship()


class UnitTaskComment(Base):
    """Leaders' guidance and evaluation on a task (or on one person's part of it)."""

    __tablename__ = "unit_task_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("unit_task.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("unit_task_assignment.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[UnitTask] = relationship(back_populates="comments")
    author: Mapped[Person] = relationship()


class SetStatus(enum.StrEnum):
    drafting = "drafting"
    in_review = "in_review"
    returned = "returned"
    effective = "effective"


class VersionStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    returned = "returned"
    effective = "effective"
    superseded = "superseded"


class IndicatorSet(Base):
    """One person's indicator set for one year; ``status`` is that of its newest version."""

    __tablename__ = "indicator_set"
    __table_args__ = (UniqueConstraint("person_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[SetStatus] = mapped_column(Enum(SetStatus, native_enum=False, length=16), default=SetStatus.drafting)
    effective_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("indicator_set_version.id", use_alter=True, name="fk_indicator_set_effective_version")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012

    person: Mapped[Person] = relationship()
    versions: Mapped[list[IndicatorSetVersion]] = relationship(
        back_populates="indicator_set",
        order_by="IndicatorSetVersion.number",
        foreign_keys="IndicatorSetVersion.set_id",
        cascade="all, delete-orphan",
    )
    effective_version: Mapped[IndicatorSetVersion | None] = relationship(
        foreign_keys=[effective_version_id], post_update=True
    )


class IndicatorSetVersion(Base):
    __tablename__ = "indicator_set_version"
    __table_args__ = (UniqueConstraint("set_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("indicator_set.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="initial")  # initial | adjustment
    status: Mapped[VersionStatus] = mapped_column(
        Enum(VersionStatus, native_enum=False, length=16), default=VersionStatus.draft
    )
    reason: Mapped[str | None] = mapped_column(Text)  # why an adjustment is needed
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    effective_at: Mapped[datetime | None]

    indicator_set: Mapped[IndicatorSet] = relationship(back_populates="versions", foreign_keys=[set_id])
    items: Mapped[list[IndicatorItem]] = relationship(
        back_populates="version", order_by="IndicatorItem.position", cascade="all, delete-orphan"
    )


class IndicatorItem(Base):
    __tablename__ = "indicator_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("indicator_set_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[Category] = mapped_column(Enum(Category, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(200))
    standard: Mapped[str] = mapped_column(Text)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    method: Mapped[str] = mapped_column(String(500), default="")
    unit_task_id: Mapped[int | None] = mapped_column(ForeignKey("unit_task.id"), index=True)
    common_indicator_id: Mapped[int | None] = mapped_column(ForeignKey("common_indicator.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)

    version: Mapped[IndicatorSetVersion] = relationship(back_populates="items")
    unit_task: Mapped[UnitTask | None] = relationship()
