"""Bonus and deduction items (绩优加分/绩差扣分): who may see and propose them, proposing, evidence, lists.

- A person proposes a *bonus* for themselves; the head of their section proposes a bonus or a
  *deduction* for a member of the section. Nobody proposes a deduction against themselves.
- Proposing creates the item and starts ``bonus_deduction`` for it (one instance per item: the
  item id is the instance's revision, so several items of one quarter do not collide).
- Object-level visibility is decided in ``bonus_access``: the person, the section head, the
  unit's leaders, principal and administrator, the performance office.
- Evidence goes to the evidence store; at least one file is needed before an item is approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    BonusDirection,
    BonusEvidence,
    BonusItem,
    BonusStatus,
    InstanceEvent,
    OrgKind,
)
from app.models.base import utcnow
from app.services import audit, evidence
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.appraisal.bonus import cap_warning, quarter_of
from app.services.appraisal.bonus_access import OPEN, can_read, check_may_propose, may_edit_evidence, scope_filter
from app.services.appraisal.scheme import BONUS_KINDS, DEDUCTION_KINDS
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound, Text
from app.services.periods import period_kind

PROCESS = "bonus_deduction"
KINDS = BONUS_KINDS + DEDUCTION_KINDS
MAX_POINTS = Decimal(100)
MAX_EVIDENCE = 10


def direction_of(kind: str) -> BonusDirection:
    return BonusDirection.bonus if kind in BONUS_KINDS else BonusDirection.deduction


# --- validation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    kind: str
    points: Decimal
    occurred_on: date
    reason: str


def parse_input(data: dict[str, Any], today: date, *, allowed_kinds: tuple[str, ...] = KINDS) -> ItemInput:
    """Kind, points, date and reason from a form or JSON body; ``Invalid`` names every bad field."""
    errors: dict[str, Text] = {}
    kind = data.get("kind")
    if kind not in allowed_kinds:
        errors["kind"] = T_("Choose one of: %(allowed)s.", allowed=", ".join(allowed_kinds))
    points = Decimal(0)
    try:
        points = Decimal(str(data.get("points", "")).strip())
        if not points.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["points"] = T_("Enter the points as a number, e.g. 2 or 0.5.")
    else:
        if points <= 0 or points > MAX_POINTS:
            errors["points"] = T_("Points are more than 0 and at most %(max)s.", max=MAX_POINTS)
        elif points != points.quantize(Decimal("0.01")):
            errors["points"] = T_("Points have at most two decimals.")
    occurred = today
    raw_date = data.get("occurred_on")
    try:
        occurred = raw_date if isinstance(raw_date, date) else date.fromisoformat(str(raw_date or "").strip())
    except ValueError:
        errors["occurred_on"] = T_("Give the date as 2026-11-20.")
    else:
        if occurred > today:
            errors["occurred_on"] = T_("The date cannot be in the future.")
        elif occurred.year < today.year - 1:
            errors["occurred_on"] = T_("Items older than last year can no longer be proposed.")
    try:
        reason = common.clean_text(data.get("reason"), 2000)
    except ValueError:
        reason = None
        errors["reason"] = T_("At most 2000 characters of text.")
    if not reason and "reason" not in errors:
        errors["reason"] = T_("Say what happened and why it earns (or costs) these points.")
    if errors:
        raise Invalid(T_("Some fields need attention."), dict(errors))
    assert isinstance(kind, str) and reason is not None
    return ItemInput(kind, points, occurred, reason)


# --- proposing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    item: BonusItem
    warning: Text | None  # the person already reached a cap: shown, not enforced


def propose(session: Session, actor: Actor, person_id: int, data: dict[str, Any], today: date) -> Proposal:
    """Create an item for ``person_id`` and start its approval process.

    The generic start lets people start processes only for themselves or as unit administrators;
    a section head proposing for a member is a right this service checks itself
    (``check_may_propose``), so it starts the process as ``authorised``.
    """
    from app.workflow import runtime

    person = common.person_of(session, person_id)
    item_input = parse_input(data, today)
    direction = direction_of(item_input.kind)
    origin = check_may_propose(actor, person, direction)
    section = person.section
    unit = section if section is not None and section.kind is OrgKind.unit else person.unit
    if unit is None:
        raise Invalid(T_("%(name)s belongs to no unit; place them in a section first.", name=person.name))
    item = BonusItem(
        person_id=person.id,
        unit_id=unit.id,
        section_id=person.section_id,
        kind=item_input.kind,
        direction=direction,
        points=item_input.points,
        occurred_on=item_input.occurred_on,
        reason=item_input.reason,
        status=BonusStatus.proposed if origin == "staff" else BonusStatus.in_review,
        proposed_by_id=actor.person_id,
    )
    session.add(item)
    session.flush()
    result = runtime.start_process(
        session,
        actor,
        PROCESS,
        quarter_of(item.occurred_on),
        person.id,
        revision=item.id,
        data={
            "item_id": item.id,
            "proposed_by": origin,
            "kind": item.kind,
            "direction": direction.value,
            "points": common.fmt(item.points),
            "occurred_on": item.occurred_on.isoformat(),
            "reason": item.reason,
        },
        authorised=True,
    )
    item.instance_id = result.instance.id
    session.flush()
    audit.record(
        session,
        actor,
        "bonus.propose",
        "bonus_item",
        item.id,
        details={"person_id": person.id, "kind": item.kind, "points": str(item.points)},
    )
    return Proposal(item, cap_warning(session, person, item.occurred_on, direction))


def revise(session: Session, actor: Actor, item: BonusItem, data: dict[str, Any], today: date) -> None:
    """The person's changes after a return (kind, points, date, reason); only bonus kinds."""
    if actor.person_id != item.proposed_by_id:
        raise Forbidden(T_("Only the person who proposed the item can change it."))
    merged = {
        "kind": item.kind,
        "points": item.points,
        "occurred_on": item.occurred_on,
        "reason": item.reason,
        **{k: v for k, v in data.items() if v not in (None, "")},
    }
    new = parse_input(merged, today, allowed_kinds=BONUS_KINDS)
    if quarter_of(new.occurred_on) != quarter_of(item.occurred_on):
        raise Invalid(
            T_(
                "The date must stay in %(quarter)s; for another quarter withdraw this and propose a new item.",
                quarter=quarter_of(item.occurred_on),
            ),
            {"occurred_on": T_("Another quarter.")},
        )
    item.kind, item.points, item.occurred_on, item.reason = new.kind, new.points, new.occurred_on, new.reason
    item.updated_at = utcnow()
    session.flush()


# --- evidence --------------------------------------------------------------------------------------


def add_evidence(
    session: Session, actor: Actor, item_id: int, upload: evidence.Upload, store: Path, max_bytes: int
) -> BonusEvidence:
    """Attach a checked file to an open item (the proposer, the person for a bonus, the section head)."""
    item = get_item(session, actor, item_id)
    if not may_edit_evidence(actor, item):
        if item.status not in OPEN:
            raise Conflict(T_("The item is decided; its evidence can no longer change."))
        raise Forbidden(T_("Only the proposer and the section head can attach evidence to this item."))
    if len(item.evidence) >= MAX_EVIDENCE:
        raise Invalid(T_("At most %(n)d files per item.", n=MAX_EVIDENCE), {"evidence": T_("Remove a file first.")})
    kind = evidence.check(upload, max_bytes)
    stored = evidence.save(store, upload, kind)
    try:
        row = BonusEvidence(
            stored_name=stored.stored_name,
            display_name=stored.display_name,
            mimetype=kind.mimetype,
            size=len(upload.data),
            uploaded_by_id=actor.person_id,
        )
        item.evidence.append(row)
        session.flush()
    except Exception:
        evidence.discard(store, stored.stored_name)
        raise
    return row


def remove_evidence(session: Session, actor: Actor, evidence_id: int) -> BonusItem:
    row = session.get(BonusEvidence, evidence_id)
    if row is None:
        raise NotFound(T_("There is no such evidence."))
    item = get_item(session, actor, row.item_id)
    if not may_edit_evidence(actor, item):
        raise Forbidden(T_("Only the proposer and the section head can remove evidence of an open item."))
    item.evidence.remove(row)
    session.flush()
    return item


def evidence_file(session: Session, actor: Actor, evidence_id: int, store: Path) -> tuple[Path, str, str]:
    """(path, download name, mimetype) of an item's evidence, for those who may see the item."""
    row = session.get(BonusEvidence, evidence_id)
    if row is None:
        raise NotFound(T_("There is no such evidence."))
    get_item(session, actor, row.item_id)
    path = evidence.path_of(store, row.stored_name)
    if not path.is_file():
        raise NotFound(T_("The evidence file is missing from the store."))
    return path, row.display_name, evidence.type_of(row.stored_name).mimetype


# --- reading ---------------------------------------------------------------------------------------


def get_item(session: Session, actor: Actor, item_id: int) -> BonusItem:
    item = session.get(BonusItem, item_id)
    if item is None:
        raise NotFound(T_("Bonus or deduction item %(id)s does not exist.", id=item_id))
    if not can_read(actor, item):
        raise Forbidden(T_("You may not see this person's bonus and deduction items."))
    return item


@dataclass(frozen=True)
class ItemFilters:
    person_id: int | None = None
    unit_id: int | None = None
    section_id: int | None = None
    period: str | None = None  # a year or a quarter
    kind: str | None = None
    status: str | None = None


def list_items(session: Session, actor: Actor, filters: ItemFilters, limit: int = 1000) -> list[BonusItem]:
    """Items the actor may see, newest first, narrowed by ``filters`` (bad filter values: ``Invalid``)."""
    stmt = scope_filter(select(BonusItem), actor)
    if filters.person_id is not None:
        stmt = stmt.where(BonusItem.person_id == filters.person_id)
    if filters.unit_id is not None:
        stmt = stmt.where(BonusItem.unit_id == filters.unit_id)
    if filters.section_id is not None:
        stmt = stmt.where(BonusItem.section_id == filters.section_id)
    if filters.period:
        if period_kind(filters.period) not in ("year", "quarter"):
            raise Invalid(
                T_("Give the period as a year or a quarter, e.g. 2026 or 2026-Q4."), {"period": T_("Malformed period.")}
            )
        first, last = common.period_range(filters.period)
        stmt = stmt.where(BonusItem.occurred_on >= first, BonusItem.occurred_on <= last)
    if filters.kind:
        if filters.kind not in KINDS:
            raise Invalid(T_("Unknown kind."), {"kind": T_("Choose one of: %(allowed)s.", allowed=", ".join(KINDS))})
        stmt = stmt.where(BonusItem.kind == filters.kind)
    if filters.status:
        if filters.status not in {s.value for s in BonusStatus}:
            raise Invalid(T_("Unknown status."), {"status": T_("Unknown status.")})
        stmt = stmt.where(BonusItem.status == BonusStatus(filters.status))
    stmt = stmt.options(selectinload(BonusItem.evidence), selectinload(BonusItem.person))
    return list(session.scalars(stmt.order_by(BonusItem.occurred_on.desc(), BonusItem.id.desc()).limit(limit)))


def history(session: Session, item: BonusItem) -> list[InstanceEvent]:
    """The steps of the item's process (who did what, with decisions and comments), oldest first."""
    if item.instance_id is None:
        return []
    return list(
        session.scalars(
            select(InstanceEvent)
            .where(
                InstanceEvent.instance_id == item.instance_id,
                InstanceEvent.kind.in_(("started", "completed", "cancelled")),
            )
            .order_by(InstanceEvent.at, InstanceEvent.id)
        )
    )


def item_dict(item: BonusItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "person": {"id": item.person_id, "name": item.person.name},
        "unit_id": item.unit_id,
        "section_id": item.section_id,
        "kind": item.kind,
        "direction": item.direction.value,
        "points": float(item.points),
        "quarter": quarter_of(item.occurred_on),
        "occurred_on": item.occurred_on.isoformat(),
        "reason": item.reason,
        "status": item.status.value,
        "proposed_by": {"id": item.proposed_by_id, "name": item.proposed_by.name},
        "proposed_at": item.proposed_at.isoformat(),
        "check_comment": item.check_comment,
        "decision_comment": item.decision_comment,
        "decided_by": {"id": item.decided_by_id, "name": item.decided_by.name} if item.decided_by else None,
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "instance_id": item.instance_id,
        "evidence": [
            {"id": e.id, "name": e.display_name, "size": e.size, "mimetype": e.mimetype} for e in item.evidence
        ],
    }
