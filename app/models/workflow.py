"""Process definitions, running instances, the human-task mirror and instance history.

The engine's serialized state lives in ``process_instance.state`` *without* the process
spec (stored once per definition version); the inbox reads ``human_task`` only.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class DefinitionStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    retired = "retired"


class ProcessDefinition(Base):
    """One version of one process (``key`` is the BPMN process id)."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[DefinitionStatus] = mapped_column(
        Enum(DefinitionStatus, native_enum=False, length=16), default=DefinitionStatus.draft
    )
    # A unit's own variant (量体裁衣); NULL means the district-wide definition.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(String(500))


class InstanceStatus(enum.StrEnum):
    running = "running"
    completed = "completed"
    cancelled = "cancelled"


class ProcessInstance(Base):
    """One run of a process for one subject and one period.

    The subject is a person (``subject_id``) or, for a unit's own process such as the monthly
    analysis report, a unit (``subject_unit_id``); exactly one of the two is set.
    """

    __tablename__ = "process_instance"
    __table_args__ = (
        UniqueConstraint("process_key", "subject_id", "period", "revision"),
        UniqueConstraint("process_key", "subject_unit_id", "period", "revision"),
        Index("ix_process_instance_next_timer", "next_timer_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    subject_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    # 0 for the regular run of a period; 1.. for further runs the domain asks for (an adjustment).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[InstanceStatus] = mapped_column(
        Enum(InstanceStatus, native_enum=False, length=16), default=InstanceStatus.running, index=True
    )
    # Serialized engine state without the spec; gzip-compressed JSON.
    state: Mapped[bytes] = mapped_column(LargeBinary)
    next_timer_at: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012

    definition: Mapped[ProcessDefinition] = relationship()
    subject: Mapped[Person | None] = relationship(foreign_keys=[subject_id])
    subject_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[subject_unit_id])

    @property
    def subject_name(self) -> str:
        """The person's or the unit's name, for lists and messages."""
        if self.subject is not None:
            return self.subject.name
        return self.subject_unit.name if self.subject_unit is not None else ""


class TaskStatus(enum.StrEnum):
    ready = "ready"
    completed = "completed"
    cancelled = "cancelled"


class HumanTask(Base):
    """A READY (or finished) user task, mirrored from the engine for the inbox queries."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_status_process", "status", "process_key"),
        Index("ix_human_task_completed_by", "completed_by_id", "completed_at"),
        Index("ix_human_task_subject", "subject_id", "status"),
        # dashboards and report figures: a unit's open (and overdue) work among a million archived rows
        Index("ix_human_task_unit_open", "unit_id", "status", "due_at"),
        # a process's open tasks, and analytics joining instances to their tasks
        Index("ix_human_task_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    engine_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    process_key: Mapped[str] = mapped_column(String(64))
    step_id: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # NULL: the subject is the unit
    period: Mapped[str] = mapped_column(String(16), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    lane_role: Mapped[str] = mapped_column(String(32))
    # The role and organisation node the candidates were resolved from (after escalation/fallback).
    assigned_role: Mapped[str] = mapped_column(String(32))
    assigned_org_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    assignment_warning: Mapped[str | None] = mapped_column(String(300))
    form_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[TaskStatus] = mapped_column(Enum(TaskStatus, native_enum=False, length=16), default=TaskStatus.ready)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    completed_at: Mapped[datetime | None]
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)

    instance: Mapped[ProcessInstance] = relationship()
    subject: Mapped[Person | None] = relationship(foreign_keys=[subject_id])
    subject_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[unit_id], viewonly=True)
    candidates: Mapped[list[TaskCandidate]] = relationship(
        back_populates="task", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def subject_name(self) -> str:
        """The subject person's name, or the unit's for a task of a unit's own process."""
        if self.subject is not None:
            return self.subject.name
        return self.subject_unit.name if self.subject_unit is not None else ""


class TaskCandidate(Base):
    """A person who may act on a task; what the 待办/可认领 queries join on."""

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_person", "person_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)

    task: Mapped[HumanTask] = relationship(back_populates="candidates")


class InstanceEvent(Base):
    """History: who did which step when, with the decision and comment."""

    __tablename__ = "instance_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[str] = mapped_column(String(100))
    step_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # started, completed, timer, notified, cancelled
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor: Mapped[Person | None] = relationship()


class Notification(Base):
    """An in-app message: task assigned, reminder, escalation, return, feedback."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_recipient", "recipient_id", "read_at"),
        Index("ix_notification_email_outbox", "email_wanted", "email_sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Scheduler messages (weekly log, digests) carry their facts here and are worded at display time.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set for messages that must exist once (e.g. ``weekly_log:2026-W47:17``); NULL for task messages.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # Channels chosen from the recipient's preferences when the message was created.
    in_app: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    email_wanted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email_sent_at: Mapped[datetime | None]
    email_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    recipient: Mapped[Person] = relationship(foreign_keys=[recipient_id])
