"""The process designer's audit trail: who saved, uploaded, deployed, rolled back or migrated what, when.

One row per act on a process definition. ``details`` carries what the act changed (the version it
replaced, the instances it moved), so the history page and a rollback can read it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.people import Person
from app.models.workflow import ProcessDefinition


class ProcessDefinitionEvent(Base):
    __tablename__ = "process_definition_event"
    __table_args__ = (Index("ix_process_definition_event_key_at", "process_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"), index=True)
    # save, upload, deploy, rollback, migrate
    action: Mapped[str] = mapped_column(String(16))
    # The scope the act applied to: a unit's variant, or NULL for the district.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    definition: Mapped[ProcessDefinition | None] = relationship()
    actor: Mapped[Person | None] = relationship()
