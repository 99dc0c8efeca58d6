"""The common indicators library (共性指标): set by the performance office, per year and unit type.

Every new indicator set receives the active items that apply to its unit's type
(``sets.ensure_set``), and staff can neither remove nor change them (``sets.check_rows``).
The office may add, edit, deactivate and delete items; an item already used in a set can only
be deactivated, so the sets that carry it stay readable. Together, the active items of one
unit type must leave room for the key work share the rules require.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.models import CommonIndicator, IndicatorItem, Role, UnitType
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.indicators.rules import DEFAULT_RULES, WeightRules

UNIT_TYPES: tuple[UnitType | None, ...] = (None, UnitType.township, UnitType.department)


@dataclass
class CommonInput:
    """What the office types for one item; ``weight`` as text so a bad value can be named."""

    name: str
    standard: str
    weight: str
    method: str = ""
    unit_type: str = ""  # "", "township" or "department"
    sort_order: int = 0
    active: bool = True


def require_office(actor: Actor) -> None:
    if not (actor.is_system or actor.has(Role.perf_office)):
        raise Forbidden(T_("Only the performance office maintains the common indicators."))


def list_items(session: Session, actor: Actor, year: int, *, include_inactive: bool = True) -> list[CommonIndicator]:
    require_office(actor)
    stmt = select(CommonIndicator).where(CommonIndicator.year == year)
    if not include_inactive:
        stmt = stmt.where(CommonIndicator.active.is_(True))
    return list(session.scalars(stmt.order_by(CommonIndicator.sort_order, CommonIndicator.id)))


def get_item(session: Session, actor: Actor, item_id: int) -> CommonIndicator:
    require_office(actor)
    item = session.get(CommonIndicator, item_id)
    if item is None:
        raise NotFound(T_("Common indicator %(id)s does not exist.", id=item_id))
    return item


def is_used(session: Session, item_id: int) -> bool:
    """True when some indicator set carries the item."""
    return bool(session.scalar(select(exists().where(IndicatorItem.common_indicator_id == item_id))))


def _checked(data: CommonInput, rules: WeightRules) -> tuple[CommonInput, Decimal, UnitType | None]:
    errors: dict[str, str] = {}
    data.name, data.standard, data.method = data.name.strip(), data.standard.strip(), data.method.strip()
    if not data.name:
        errors["name"] = T_("Name the indicator.")
    elif len(data.name) > rules.name_max:
        errors["name"] = T_("At most %(n)d characters.", n=rules.name_max)
    if not data.standard:
        errors["standard"] = T_("Write the standard (考核标准): what counts as done, and how well.")
    elif len(data.standard) > rules.standard_max:
        errors["standard"] = T_("At most %(n)d characters.", n=rules.standard_max)
    if len(data.method) > rules.method_max:
        errors["method"] = T_("At most %(n)d characters.", n=rules.method_max)
    weight = Decimal(0)
    try:
        weight = Decimal(str(data.weight).strip()).quantize(Decimal("0.01"))
        if not weight.is_finite() or weight <= 0 or weight > rules.total:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["weight"] = T_("A weight is a number above 0 and at most %(max)s.", max=f"{rules.total.normalize():f}")
    unit_type: UnitType | None = None
    if data.unit_type:
        try:
            unit_type = UnitType(data.unit_type)
        except ValueError:
            errors["unit_type"] = T_("Choose all units, townships and street offices, or district departments.")
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    return data, weight, unit_type


def _room(rules: WeightRules) -> Decimal:
    """The most the common items of one unit may carry, leaving the minimum shares to the others."""
    return rules.total - sum(rules.min_share.values(), Decimal(0))


def _check_room(session: Session, year: int, rules: WeightRules) -> None:
    """Refuse a library whose active items, for some unit type, leave no room for key work."""
    items = session.scalars(
        select(CommonIndicator).where(CommonIndicator.year == year, CommonIndicator.active.is_(True))
    ).all()
    room = _room(rules)
    for unit_type in (UnitType.township, UnitType.department):
        total = sum((i.weight for i in items if i.unit_type in (None, unit_type)), Decimal(0))
        if total > room:
            raise Invalid(
                T_(
                    "The active common indicators of %(year)s would carry %(total)s for one unit; at most %(room)s "
                    "leaves room for key work.",
                    year=year,
                    total=f"{total.normalize():f}",
                    room=f"{room.normalize():f}",
                ),
                {"weight": T_("At most %(room)s in total.", room=f"{room.normalize():f}")},
            )


def create_item(
    session: Session, actor: Actor, year: int, data: CommonInput, rules: WeightRules = DEFAULT_RULES
) -> CommonIndicator:
    require_office(actor)
    data, weight, unit_type = _checked(data, rules)
    item = CommonIndicator(
        year=year,
        unit_type=unit_type,
        name=data.name,
        standard=data.standard,
        weight=weight,
        method=data.method,
        sort_order=data.sort_order,
        active=data.active,
    )
    session.add(item)
    session.flush()
    _check_room(session, year, rules)
    return item


def update_item(
    session: Session, actor: Actor, item_id: int, data: CommonInput, rules: WeightRules = DEFAULT_RULES
) -> CommonIndicator:
    """Change an item; sets drafted from now on carry the new text and weight (approved sets keep theirs)."""
    item = get_item(session, actor, item_id)
    data, weight, unit_type = _checked(data, rules)
    item.name, item.standard, item.weight, item.method = data.name, data.standard, weight, data.method
    item.unit_type, item.sort_order, item.active = unit_type, data.sort_order, data.active
    session.flush()
    _check_room(session, item.year, rules)
    return item


def delete_item(session: Session, actor: Actor, item_id: int) -> None:
    """Delete an unused item; one that some set carries can only be deactivated."""
    item = get_item(session, actor, item_id)
    if is_used(session, item.id):
        raise Conflict(T_("“%(name)s” is part of indicator sets already; deactivate it instead.", name=item.name))
    session.delete(item)
    session.flush()


def copy_year(session: Session, actor: Actor, from_year: int, to_year: int) -> int:
    """Copy the active items of ``from_year`` into an empty ``to_year``; returns how many were copied."""
    require_office(actor)
    if list_items(session, actor, to_year):
        raise Conflict(T_("%(year)s already has common indicators; edit them instead.", year=to_year))
    source = list_items(session, actor, from_year, include_inactive=False)
    if not source:
        raise Conflict(T_("%(year)s has no active common indicators to copy.", year=from_year))
    for c in source:
        session.add(
            CommonIndicator(
                year=to_year,
                unit_type=c.unit_type,
                name=c.name,
                standard=c.standard,
                weight=c.weight,
                method=c.method,
                sort_order=c.sort_order,
                active=True,
            )
        )
    session.flush()
    return len(source)
