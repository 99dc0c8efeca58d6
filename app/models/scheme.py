"""The scoring scheme (考核方案) of a year: the district default, or one unit's override (量体裁衣).

The scheme's settings live in ``config`` as JSON so the performance office can change weights,
caps, grade thresholds, quotas and rules without a schema change; ``app.services.appraisal.scheme``
validates them and turns them into a typed ``Scheme``. ``scope`` is ``"district"`` or the unit's
id as text, so one row per scope and year is enforced by a plain unique constraint on both
databases (a NULL unit id would not be unique).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.org import OrgUnit


class ScoringScheme(Base):
    __tablename__ = "scoring_scheme"
    __table_args__ = (UniqueConstraint("scope", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "district" or str(unit_id)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    config: Mapped[str] = mapped_column(Text)  # JSON, see app.services.appraisal.scheme
    version: Mapped[int] = mapped_column(Integer, default=1)  # lost-update guard for concurrent edits
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[OrgUnit | None] = relationship()
