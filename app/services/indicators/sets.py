"""Personal indicator sets: who may see them, their versions, drafts, common items, diffs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.models import (
    Category,
    CommonIndicator,
    IndicatorItem,
    IndicatorSet,
    IndicatorSetVersion,
    Person,
    Role,
    SetStatus,
    UnitTask,
    VersionStatus,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.indicators.rules import CATEGORY_ORDER, Row, RuleCheck, check_weights, parse_rows

OPEN_STATUSES = (VersionStatus.draft, VersionStatus.returned, VersionStatus.in_review)


def can_view(actor: Actor, person: Person) -> bool:
    """The person, their section's head and leader in charge, their unit's admin and principal, the office."""
    if actor.is_district_wide or actor.person_id == person.id:
        return True
    section_id = person.section_id
    unit_id = person.section.parent_id if person.section else None
    if section_id in actor.scopes.get(Role.section_head, ()) or section_id in actor.scopes.get(Role.unit_leader, ()):
        return True
    return unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


def get_set(session: Session, actor: Actor, set_id: int) -> IndicatorSet:
    found = session.get(IndicatorSet, set_id, options=[selectinload(IndicatorSet.versions)])
    if found is None:
        raise NotFound(T_("Indicator set %(id)s does not exist.", id=set_id))
    if not can_view(actor, found.person):
        raise Forbidden(T_("You may not see this person's indicators."))
    return found


def find_set(session: Session, person_id: int, year: int) -> IndicatorSet | None:
    return session.scalar(select(IndicatorSet).where(IndicatorSet.person_id == person_id, IndicatorSet.year == year))


def common_library(session: Session, year: int, person: Person) -> list[CommonIndicator]:
    """Common indicators (共性指标) for the person's unit type in ``year`` (or for every unit type)."""
    unit = person.section.parent if person.section else None
    unit_type = unit.unit_type if unit else None
    stmt = select(CommonIndicator).where(CommonIndicator.year == year, CommonIndicator.active.is_(True))
    rows = session.scalars(stmt.order_by(CommonIndicator.sort_order, CommonIndicator.id)).all()
    return [c for c in rows if c.unit_type is None or c.unit_type == unit_type]


def _common_item(c: CommonIndicator, position: int) -> IndicatorItem:
    return IndicatorItem(
        position=position,
        category=Category.common,
        name=c.name,
        standard=c.standard,
        weight=c.weight,
        method=c.method,
        common_indicator_id=c.id,
    )


def ensure_set(session: Session, person: Person, year: int) -> IndicatorSet:
    """The person's set for ``year``, created with a first draft holding the common indicators."""
    found = find_set(session, person.id, year)
    if found is not None:
        return found
    new = IndicatorSet(person_id=person.id, year=year, status=SetStatus.drafting)
    version = IndicatorSetVersion(number=1, kind="initial", status=VersionStatus.draft)
    version.items = [_common_item(c, i) for i, c in enumerate(common_library(session, year, person))]
    new.versions = [version]
    session.add(new)
    session.flush()
    return new


def latest(s: IndicatorSet) -> IndicatorSetVersion:
    return s.versions[-1]


def open_version(s: IndicatorSet) -> IndicatorSetVersion | None:
    """The version being drafted, reviewed or returned, if any."""
    v = latest(s)
    return v if v.status in OPEN_STATUSES else None


def item_dict(item: IndicatorItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "category": item.category.value,
        "name": item.name,
        "standard": item.standard,
        "weight": float(item.weight),
        "method": item.method,
        "unit_task_id": item.unit_task_id,
        "common_indicator_id": item.common_indicator_id,
        "locked": item.common_indicator_id is not None,
        "review_comment": item.review_comment,
    }


def check_rows(session: Session, person: Person, year: int, raw: Any) -> RuleCheck:
    """Parse rows and apply the rules that need the database: tasks of the person's unit, common items kept."""
    check = parse_rows(raw)
    check.rule_errors = []  # recomputed below, once the common rows are the office's again
    unit_id = person.section.parent_id if person.section else None
    task_ids = {r.unit_task_id for r in check.rows if r.unit_task_id}
    if task_ids:
        valid = set(
            session.scalars(
                select(UnitTask.id).where(UnitTask.id.in_(task_ids), UnitTask.unit_id == unit_id, UnitTask.year == year)
            )
        )
        for i, r in enumerate(check.rows):
            if r.unit_task_id and r.unit_task_id not in valid:
                check.field_errors[f"indicators[{i}].unit_task_id"] = T_(
                    "Choose one of your unit's tasks for %(year)s.", year=year
                )
    library = {c.id: c for c in common_library(session, year, person)}
    given = {r.common_indicator_id: r for r in check.rows if r.common_indicator_id}
    for cid, c in library.items():
        row = given.get(cid)
        if row is None:
            check.rule_errors.append(T_("The common indicator “%(name)s” cannot be removed.", name=c.name))
        elif row.weight != c.weight or row.name != c.name or row.standard != c.standard:
            # A common indicator is the office's: restore it rather than refuse the whole draft.
            row.name, row.standard, row.weight, row.method = c.name, c.standard, Decimal(c.weight), c.method
    for r in check.rows:
        if r.common_indicator_id and r.common_indicator_id not in library:
            r.common_indicator_id = None
        if r.category is Category.common and r.common_indicator_id is None:
            check.rule_errors.append(T_("Common indicators come from the office's library; choose another category."))
            break
    if not check.field_errors:
        check.rule_errors.extend(check_weights(check.rows))
    return check


def write_rows(version: IndicatorSetVersion, rows: list[Row]) -> None:
    """Replace the version's items by ``rows``, in order.

    A row that names an item of this same version keeps that item's review comment, so saving a
    returned draft does not lose the reviewer's remarks (ids from elsewhere are ignored).
    """
    kept = {i.id: i.review_comment for i in version.items if i.id is not None}
    ordered = sorted(enumerate(rows), key=lambda p: (CATEGORY_ORDER.index(p[1].category), p[0]))
    version.items = [
        IndicatorItem(
            position=i,
            category=r.category,
            name=r.name,
            standard=r.standard,
            weight=r.weight,
            method=r.method,
            unit_task_id=r.unit_task_id,
            common_indicator_id=r.common_indicator_id,
            review_comment=kept.get(r.item_id) if r.item_id else None,
        )
        for i, (_, r) in enumerate(ordered)
    ]


def save_draft(session: Session, actor: Actor, set_id: int, raw: Any, lock_version: int | None) -> RuleCheck:
    """Keep what the owner typed (rows that parse), even if the set rules are not met yet.

    ``lock_version`` is the set's version the editor started from: a save based on an older one
    is refused, so two open editors never overwrite each other silently.
    """
    s = get_set(session, actor, set_id)
    if actor.person_id != s.person_id:
        raise Forbidden(T_("Only %(name)s can edit this draft.", name=s.person.name))
    version = open_version(s)
    if version is None or version.status is VersionStatus.in_review:
        raise Conflict(T_("This set is not being drafted now; it is %(status)s.", status=s.status.value))
    if lock_version is not None and lock_version != s.lock_version:
        raise Conflict(T_("Someone saved this draft after you opened it; reload to see their changes."))
    check = check_rows(session, s.person, s.year, raw)
    if any(not k.endswith((".weight", ".unit_task_id")) for k in check.field_errors):
        raise Invalid(T_("Some rows need attention."), dict(check.field_errors))
    write_rows(version, check.rows)
    s.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(T_("Someone saved this draft at the same moment; reload to see their changes.")) from exc
    return check


@dataclass
class Change:
    kind: str  # added, removed, changed
    category: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def diff(old: IndicatorSetVersion | None, new: IndicatorSetVersion) -> list[Change]:
    """Rows added, removed and changed between two versions, matched by category and name."""
    fields = ("standard", "weight", "method", "unit_task_id")
    before = {(i.category.value, i.name): item_dict(i) for i in (old.items if old else [])}
    after = {(i.category.value, i.name): item_dict(i) for i in new.items}
    changes: list[Change] = []
    for key, row in after.items():
        if key not in before:
            changes.append(Change("added", key[0], key[1], None, row))
        elif any(before[key][f] != row[f] for f in fields):
            changes.append(Change("changed", key[0], key[1], before[key], row))
    changes.extend(Change("removed", k[0], k[1], row, None) for k, row in before.items() if k not in after)
    return changes
