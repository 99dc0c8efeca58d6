"""The unit's monthly analysis report (月分析报告) and the quarterly showcase (成果展示).

- An ``AnalysisReport`` is the domain side of one ``monthly_analysis`` instance, whose subject
  is a unit: four sections written by the unit admin, the figures of section (1) frozen as a
  snapshot (``figures``, computed at ``figures_at``) when the draft is submitted, and the
  principal's and the office's decisions. ``AnalysisComment`` keeps every decision's comment.
- A ``ShowcasePost`` is a unit's highlight of a quarter with up to a few pictures; the office
  curates it (approve, feature, hide, order) before everyone can read it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit
from app.models.people import Person


class ReportStatus(enum.StrEnum):
    drafting = "drafting"  # with the unit admin (first draft or after a return)
    approving = "approving"  # with the unit principal
    reviewing = "reviewing"  # with the performance office
    closed = "closed"  # reviewed: the report is final


class AnalysisReport(Base):
    __tablename__ = "analysis_report"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    period: Mapped[str] = mapped_column(String(16), index=True)  # the month reported on, e.g. 2026-10
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id", ondelete="SET NULL"), unique=True)
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, native_enum=False, length=16), default=ReportStatus.drafting
    )
    overview: Mapped[str | None] = mapped_column(Text)  # (1) 总体运行情况
    highlights: Mapped[str | None] = mapped_column(Text)  # (2) 好的做法和亮点
    problems: Mapped[str | None] = mapped_column(Text)  # (3) 存在的问题
    plan: Mapped[str | None] = mapped_column(Text)  # (4) 本月计划和改进措施
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    figures_at: Mapped[datetime | None]
    returned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    approved_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[OrgUnit] = relationship()
    submitted_by: Mapped[Person | None] = relationship(foreign_keys=[submitted_by_id])
    approved_by: Mapped[Person | None] = relationship(foreign_keys=[approved_by_id])
    reviewed_by: Mapped[Person | None] = relationship(foreign_keys=[reviewed_by_id])
    comments: Mapped[list[AnalysisComment]] = relationship(
        back_populates="report", order_by="AnalysisComment.at", cascade="all, delete-orphan"
    )


class AnalysisComment(Base):
    """A decision's comment on a report: the principal's return, the office's review."""

    __tablename__ = "analysis_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("analysis_report.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))  # draft | approve | review
    decision: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[AnalysisReport] = relationship(back_populates="comments")
    author: Mapped[Person | None] = relationship()


class ShowcaseStatus(enum.StrEnum):
    pending = "pending"  # posted by the unit, not yet curated: only the unit and the office see it
    approved = "approved"  # on the showcase page
    featured = "featured"  # on the page, at the top
    hidden = "hidden"  # taken off the page by the office


class ShowcasePost(Base):
    __tablename__ = "showcase_post"
    __table_args__ = (Index("ix_showcase_post_quarter_status", "quarter", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[ShowcaseStatus] = mapped_column(
        Enum(ShowcaseStatus, native_enum=False, length=16), default=ShowcaseStatus.pending
    )
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    curated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    curated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[OrgUnit] = relationship()
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    pictures: Mapped[list[ShowcasePicture]] = relationship(
        back_populates="post", order_by="ShowcasePicture.position", cascade="all, delete-orphan"
    )


class ShowcasePicture(Base):
    """A picture of a post, kept in the evidence store under a generated name."""

    __tablename__ = "showcase_picture"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("showcase_post.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    stored_name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[ShowcasePost] = relationship(back_populates="pictures")
