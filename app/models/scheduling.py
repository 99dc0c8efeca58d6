"""Scheduler bookkeeping and notification preferences.

``job_run`` is how several app processes agree that a scheduled job fires once: inserting the
row for ``(job, scheduled_for)`` *is* the claim (the unique key lets exactly one insert win);
a run whose heartbeat went silent for longer than the lease is taken over by the next process.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class JobRunStatus(enum.StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"  # a fire time from before the scheduler's first start: recorded, not run


class JobTrigger(enum.StrEnum):
    schedule = "schedule"  # the cron fired in a running scheduler
    catch_up = "catch_up"  # a fire time missed while no scheduler ran, run at start
    manual = "manual"  # "run now" on the office page


class JobRun(Base):
    """One run of one scheduled job for one fire time of its cron schedule."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for"),
        Index("ix_job_run_job_status", "job", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime]
    trigger: Mapped[JobTrigger] = mapped_column(Enum(JobTrigger, native_enum=False, length=16))
    status: Mapped[JobRunStatus] = mapped_column(Enum(JobRunStatus, native_enum=False, length=16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    owner: Mapped[str] = mapped_column(String(120))  # host:pid of the process that holds the run
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(Base):
    """How a person wants one kind of notification: in the message centre, by e-mail, both or neither.

    No row means the default: in-app on, e-mail off.
    """

    __tablename__ = "notification_preference"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
