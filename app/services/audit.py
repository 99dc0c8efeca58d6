"""The audit trail (issue 9): record security-relevant acts, verify the hash chain, prune old events.

``record`` is the only writer. It serialises appends (PostgreSQL: a transaction-scoped advisory
lock; SQLite: writers already begin IMMEDIATE), reads the last event's id and hash, and adds the
next event with ``id = last + 1`` and ``hash = sha256(canonical JSON of the fields and prev_hash)``.
Nothing here updates or deletes an event except ``prune``, which removes a whole prefix of events
older than the retention (at least 180 days) and leaves an ``AuditAnchor`` so the rest still verifies.

The remote address comes from the caller or, in a web request, from ``REMOTE_ADDR`` (set by the web
layer), so services need not import Flask.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.orm import Session

from app.models.audit import GENESIS_HASH, RESULTS, AuditAnchor, AuditEvent
from app.models.base import utcnow
from app.models.people import Role
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid

RETENTION_MIN_DAYS = 180
PG_LOCK_KEY = 0x4A58_4155  # "JXAU": one advisory lock serialises every append to the chain
EXPORT_LIMIT = 100_000

# The client address of the web request being served (set and reset by app/web/audit).
REMOTE_ADDR: ContextVar[str | None] = ContextVar("jixiao_remote_addr", default=None)
# Set when an ``export.*`` event is recorded, so the web layer's catch-all download event is not doubled.
EXPORT_RECORDED: ContextVar[bool] = ContextVar("jixiao_export_recorded", default=False)

_FIELDS = (
    "id",
    "at",
    "actor_person_id",
    "actor_username",
    "remote_addr",
    "action",
    "object_type",
    "object_id",
    "result",
    "details",
    "prev_hash",
)


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def compute_hash(values: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of an event's fields and prev_hash."""
    doc = {name: values[name] for name in _FIELDS}
    doc["at"] = _at_text(doc["at"])
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})


def _anchor(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditAnchor.last_event_id, AuditAnchor.last_hash).order_by(AuditAnchor.last_event_id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS_HASH)


def _normalise(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the JSON column gives back: the hash is computed over exactly that."""
    if not details:
        return None
    return json.loads(json.dumps(details, default=str, ensure_ascii=False))


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    result: str = "success",
    details: dict[str, Any] | None = None,
    remote_addr: str | None = None,
    *,
    username: str | None = None,
    person_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain; ``username``/``person_id`` name the actor when there is no ``Actor``."""
    if result not in RESULTS:
        raise ValueError(f"audit result must be one of {RESULTS}, not {result!r}")
    _lock(session)
    session.flush()
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    last_id, prev_hash = (last[0], last[1]) if last is not None else _anchor(session)
    values: dict[str, Any] = {
        "id": last_id + 1,
        "at": utcnow(),
        "actor_person_id": person_id if actor is None else actor.person_id,
        "actor_username": (username if actor is None else actor.username) or None,
        "remote_addr": (remote_addr or REMOTE_ADDR.get() or None),
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "result": result,
        "details": _normalise(details),
        "prev_hash": prev_hash,
    }
    values["actor_username"] = values["actor_username"][:64] if values["actor_username"] else None
    event = AuditEvent(**values, hash=compute_hash(values))
    session.add(event)
    session.flush()
    if action.startswith("export."):
        EXPORT_RECORDED.set(True)
    return event


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class ChainReport:
    count: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def check_chain(session: Session, batch: int = 1000) -> ChainReport:
    """Walk the chain in id order (streamed: constant memory); stop at the first broken link."""
    expected_prev_id, expected_prev_hash = _anchor(session)
    columns = [getattr(AuditEvent, name) for name in _FIELDS] + [AuditEvent.hash]
    stmt = select(*columns).order_by(AuditEvent.id).execution_options(yield_per=batch)
    count = 0
    for row in session.execute(stmt):
        values = dict(zip((*_FIELDS, "hash"), row, strict=True))
        if values["hash"] != compute_hash(values):
            return ChainReport(count, values["id"], "its contents do not match its hash: the event was altered")
        if values["id"] != expected_prev_id + 1 or values["prev_hash"] != expected_prev_hash:
            return ChainReport(
                count,
                values["id"],
                f"it does not link to event {expected_prev_id}: an event before it was removed, altered or re-hashed",
            )
        expected_prev_id, expected_prev_hash = values["id"], values["hash"]
        count += 1
    return ChainReport(count)


def verify(session: Session) -> int | None:
    """The id of the first event whose link is broken, or ``None`` when the chain is intact."""
    return check_chain(session).broken_id


# ---------------------------------------------------------------- pruning


def prune(
    session: Session,
    before: datetime,
    actor: Actor | None = None,
    *,
    retention_days: int = RETENTION_MIN_DAYS,
    now: datetime | None = None,
) -> int:
    """Delete the prefix of events older than ``before``; refuse anything inside the retention period.

    The last deleted event's id and hash become an ``AuditAnchor``, so ``verify`` still checks the rest.
    Returns how many events were deleted.
    """
    if before.tzinfo is None:
        raise ValueError("pass an aware datetime")
    now = now or utcnow()
    days = max(RETENTION_MIN_DAYS, retention_days)
    limit = now - timedelta(days=days)
    if before > limit:
        raise Invalid(
            T_(
                "Audit events are kept at least %(days)d days: choose a date on or before %(date)s.",
                days=days,
                date=limit.date().isoformat(),
            )
        )
    _lock(session)
    report = check_chain(session)
    if not report.intact:
        raise Conflict(
            T_("The audit chain is broken at event %(id)s; nothing was pruned. Investigate first.", id=report.broken_id)
        )
    first_young = session.scalar(select(func.min(AuditEvent.id)).where(AuditEvent.at >= before))
    cut = first_young - 1 if first_young is not None else session.scalar(select(func.max(AuditEvent.id)))
    anchor_id, _ = _anchor(session)
    if cut is None or cut <= anchor_id:
        return 0
    last_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == cut))
    assert last_hash is not None
    count = session.execute(delete(AuditEvent).where(AuditEvent.id <= cut)).rowcount  # type: ignore[attr-defined]
    session.add(
        AuditAnchor(
            last_event_id=cut,
            last_hash=last_hash,
            pruned_before=before,
            pruned_count=count,
            at=now,
            actor_username=actor.username if actor else None,
        )
    )
    session.flush()
    record(
        session,
        actor,
        "audit.prune",
        "audit_event",
        None,
        "success",
        {"before": before.isoformat(), "through_id": cut, "count": count},
        username=None if actor else "system",
    )
    return count


# ---------------------------------------------------------------- viewing and exporting


@dataclass(frozen=True)
class AuditFilter:
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    actor: str = ""
    action: str = ""
    result: str = ""
    object_type: str = ""
    object_id: str = ""

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.start is not None:
            stmt = stmt.where(AuditEvent.at >= self.start)
        if self.end is not None:
            stmt = stmt.where(AuditEvent.at < self.end)
        if self.actor:
            stmt = stmt.where(AuditEvent.actor_username.contains(self.actor, autoescape=True))
        if self.action:
            stmt = stmt.where(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.result:
            stmt = stmt.where(AuditEvent.result == self.result)
        if self.object_type:
            stmt = stmt.where(AuditEvent.object_type == self.object_type)
        if self.object_id:
            stmt = stmt.where(AuditEvent.object_id == self.object_id)
        return stmt


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    page: int
    per_page: int
    filters: AuditFilter = field(default_factory=AuditFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def require_auditor(actor: Actor) -> None:
    """Only the audit administrator reads the trail (三权分立): no other role, however broad, and not the
    system administrator who runs the machine it is stored on."""
    if Role.audit_admin not in actor.scopes:
        raise Forbidden(T_("Only the audit administrator may read the audit trail."))


def search(session: Session, filters: AuditFilter, page: int = 1, per_page: int = 50, *, actor: Actor) -> AuditPage:
    """Newest first."""
    require_auditor(actor)
    page = max(1, page)
    total = session.scalar(filters.apply(select(func.count(AuditEvent.id)))) or 0
    rows = session.scalars(
        filters.apply(select(AuditEvent)).order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return AuditPage(list(rows), total, page, per_page, filters)


def actions(session: Session, *, actor: Actor) -> list[str]:
    require_auditor(actor)
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


EXPORT_HEADERS = (
    "编号",
    "时间 (UTC)",
    "操作人",
    "人员编号",
    "来源地址",
    "操作",
    "对象类型",
    "对象",
    "结果",
    "详情",
    "哈希",
)


def _export_rows(session: Session, filters: AuditFilter) -> Iterator[list[str]]:
    stmt = filters.apply(select(AuditEvent)).order_by(AuditEvent.id).limit(EXPORT_LIMIT)
    for ev in session.scalars(stmt.execution_options(yield_per=1000)):
        yield [
            str(ev.id),
            _at_text(ev.at),
            ev.actor_username or "",
            "" if ev.actor_person_id is None else str(ev.actor_person_id),
            ev.remote_addr or "",
            ev.action,
            ev.object_type or "",
            ev.object_id or "",
            ev.result,
            json.dumps(ev.details, ensure_ascii=False, sort_keys=True) if ev.details else "",
            ev.hash,
        ]


def export_workbook(session: Session, filters: AuditFilter, *, actor: Actor) -> tuple[bytes, int]:
    """The filtered events as an .xlsx (every cell text, never a formula) and how many rows it holds."""
    require_auditor(actor)
    from openpyxl import Workbook

    from app.services import xlsx

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志")
    ws.append([xlsx.text_cell(ws, h) for h in EXPORT_HEADERS])
    count = 0
    for values in _export_rows(session, filters):
        ws.append([xlsx.text_cell(ws, v) for v in values])
        count += 1
    return xlsx.to_bytes(wb), count
