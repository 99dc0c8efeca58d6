"""The audit trail (issue 9): one append-only, hash-chained row per security-relevant act.

Each ``AuditEvent`` carries the hash of the one before it (``prev_hash``) and its own ``hash`` over
a canonical JSON of its fields, so an edited, removed or re-ordered row breaks the chain where it
happened (``flask --app app audit verify``). Ids are assigned by the service, one after another,
under a lock. Pruning removes only a whole prefix of old events and leaves an ``AuditAnchor``: the
id and hash of the last removed event, from which the remaining chain is verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow

RESULTS = ("success", "failure", "denied")
GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_action_at", "action", "at"),
        Index("ix_audit_event_actor_username", "actor_username"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # No foreign key: the trail must outlive the people and accounts it mentions.
    actor_person_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    object_type: Mapped[str | None] = mapped_column(String(48))
    object_id: Mapped[str | None] = mapped_column(String(128))
    result: Mapped[str] = mapped_column(String(16))  # success, failure, denied
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditAnchor(Base):
    """Left by a prune: the remaining chain starts after ``last_event_id`` and links to ``last_hash``."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, unique=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    pruned_before: Mapped[datetime]
    pruned_count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_username: Mapped[str | None] = mapped_column(String(64))
