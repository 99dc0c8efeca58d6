"""Periodic appraisal (平时考核): weekly logs (周记实) and the appraisal record of a period.

- A ``WeeklyLog`` is one person's log of one ISO week (``2026-W47``); its entries link to items
  of the person's indicator set (or are other/temporary work) and may carry evidence files.
  ``first_written_at`` is when the week first had an entry: it decides whether it was late.
- An ``AppraisalRecord`` is the domain side of one ``periodic_appraisal`` instance: the
  summary (月小结), the section head's per-item scores, the leader's review and adjustment,
  the feedback and appeals. When the process ends the record is archived (备案) and frozen.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.indicators import IndicatorItem
from app.models.people import Person


class WeeklyLog(Base):
    __tablename__ = "weekly_log"
    __table_args__ = (UniqueConstraint("person_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    week: Mapped[str] = mapped_column(String(10), index=True)  # ISO week key, e.g. 2026-W47
    first_written_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()
    entries: Mapped[list[LogEntry]] = relationship(
        back_populates="log", order_by="LogEntry.position", cascade="all, delete-orphan"
    )
    comments: Mapped[list[LogComment]] = relationship(
        back_populates="log", order_by="LogComment.at", cascade="all, delete-orphan"
    )


class LogEntry(Base):
    """One piece of the week's work: linked to an indicator item, or other/temporary work when unlinked."""

    __tablename__ = "log_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("weekly_log.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    indicator_item_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_item.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    progress: Mapped[int | None] = mapped_column(Integer)  # percent of the indicator's work done, if given
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    log: Mapped[WeeklyLog] = relationship(back_populates="entries")
    indicator_item: Mapped[IndicatorItem | None] = relationship()
    evidence: Mapped[list[LogEvidence]] = relationship(
        back_populates="entry", order_by="LogEvidence.id", cascade="all, delete-orphan"
    )


class LogEvidence(Base):
    """A file attached to a log entry, kept in the evidence store under a generated name."""

    __tablename__ = "log_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("log_entry.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[LogEntry] = relationship(back_populates="evidence")


class LogComment(Base):
    """A leader's comment on a week's log (or on one entry of it)."""

    __tablename__ = "log_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("weekly_log.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("log_entry.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    log: Mapped[WeeklyLog] = relationship(back_populates="comments")
    author: Mapped[Person] = relationship()


class RecordStatus(enum.StrEnum):
    summary = "summary"  # waiting for the person's summary
    scoring = "scoring"  # with the section head (first time, after a return or an appeal)
    review = "review"  # with the leader in charge
    feedback = "feedback"  # back with the person: acknowledge or appeal
    archived = "archived"  # 备案: frozen


class AppraisalRecord(Base):
    __tablename__ = "appraisal_record"
    __table_args__ = (Index("ix_appraisal_record_person_period", "person_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    period: Mapped[str] = mapped_column(String(16), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"), unique=True)
    status: Mapped[RecordStatus] = mapped_column(
        Enum(RecordStatus, native_enum=False, length=16),
        default=RecordStatus.summary,
        index=True,
        active_history=True,  # the archive guard sees the old status even when the row was not read first
    )
    # 月小结
    summary: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    summary_at: Mapped[datetime | None]
    # scoring: per item when the person had an effective set (``version_id``), else one overall score
    version_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_set_version.id"))
    score_mode: Mapped[str | None] = mapped_column(String(16))  # items | overall
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    score_comment: Mapped[str | None] = mapped_column(Text)
    justification: Mapped[str | None] = mapped_column(Text)
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    scored_at: Mapped[datetime | None]
    # 领导审核评鉴: the leader's decision, and an adjusted total kept beside the head's
    review_decision: Mapped[str | None] = mapped_column(String(16))
    review_comment: Mapped[str | None] = mapped_column(Text)
    adjusted_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    adjust_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None]
    # feedback
    feedback_at: Mapped[datetime | None]
    appeal_deadline: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    scored_by: Mapped[Person | None] = relationship(foreign_keys=[scored_by_id])
    reviewed_by: Mapped[Person | None] = relationship(foreign_keys=[reviewed_by_id])
    items: Mapped[list[AppraisalItemScore]] = relationship(
        back_populates="record", order_by="AppraisalItemScore.position", cascade="all, delete-orphan"
    )
    appeals: Mapped[list[AppraisalAppeal]] = relationship(
        back_populates="record", order_by="AppraisalAppeal.filed_at", cascade="all, delete-orphan"
    )

    @property
    def final_score(self) -> Decimal | None:
        """The score that counts: the leader's adjusted total if there is one, else the head's."""
        return self.adjusted_score if self.adjusted_score is not None else self.score


class AppraisalItemScore(Base):
    """The head's score of one indicator item; name and weight are copied so the record stands alone."""

    __tablename__ = "appraisal_item_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("appraisal_record.id", ondelete="CASCADE"), index=True)
    indicator_item_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_item.id"))
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    comment: Mapped[str | None] = mapped_column(Text)

    record: Mapped[AppraisalRecord] = relationship(back_populates="items")


class AppraisalAppeal(Base):
    """An appeal against a result, with the score it was filed against and the outcome after re-scoring."""

    __tablename__ = "appraisal_appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("appraisal_record.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    score_before: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    score_after: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    resolved_at: Mapped[datetime | None]

    record: Mapped[AppraisalRecord] = relationship(back_populates="appeals")
