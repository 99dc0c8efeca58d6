"""Flags for reviewers whose scoring does not tell people apart (打满分赋均分), per unit and month.

The figures come from the dashboard's ``reviewer_differentiation`` (share of full marks, spread,
share of equal scores per reviewer; one place computes them). This module owns the *flags*: the
thresholds (settings ``DIFF_MIN_SCORES``, ``DIFF_FULL_MARKS_SHARE``, ``DIFF_MIN_SPREAD``,
``DIFF_EQUAL_SHARE``), who may see them (a unit's administrator and principal their unit, the
office every unit) and the in-app notification to the unit's administrators and the office, sent
once per reviewer and period (a dedupe key per recipient, reviewer and period).

A reviewer is judged only with at least ``min_scores`` scores in the period; a flag names every
threshold crossed with the reviewer's number beside the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, Role, RoleAssignment
from app.services import notifications
from app.services.actor import Actor
from app.services.dashboard.differentiation import ReviewerDifferentiation, reviewer_differentiation
from app.services.errors import T_, Forbidden, Invalid, Text
from app.services.periods import period_kind

KIND = "differentiation"


@dataclass(frozen=True)
class Thresholds:
    min_scores: int = 3
    full_marks_share: float = 0.8
    min_spread: float = 3.0
    equal_share: float = 0.8

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        return cls(
            min_scores=int(config.get("DIFF_MIN_SCORES", cls.min_scores)),
            full_marks_share=float(config.get("DIFF_FULL_MARKS_SHARE", cls.full_marks_share)),
            min_spread=float(config.get("DIFF_MIN_SPREAD", cls.min_spread)),
            equal_share=float(config.get("DIFF_EQUAL_SHARE", cls.equal_share)),
        )


@dataclass(frozen=True)
class Flag:
    unit_id: int
    unit_name: str
    period: str
    figures: ReviewerDifferentiation
    reasons: tuple[Text, ...]

    @property
    def reviewer_id(self) -> int:
        return self.figures.reviewer_id


def reasons_for(row: ReviewerDifferentiation, limits: Thresholds) -> tuple[Text, ...]:
    """The thresholds ``row`` crosses, each with the reviewer's number; empty when it differentiates."""
    if row.scored < limits.min_scores:
        return ()
    out = []
    if row.full_share >= limits.full_marks_share:
        out.append(
            T_(
                "%(n)s of %(total)s scores at full marks (%(share)s per cent; the limit is %(limit)s per cent).",
                n=row.full_marks,
                total=row.scored,
                share=round(row.full_share * 100),
                limit=round(limits.full_marks_share * 100),
            )
        )
    if row.spread < limits.min_spread:
        out.append(
            T_(
                "Scores lie within %(spread)s points (%(low)s to %(high)s; at least %(limit)s expected).",
                spread=row.spread,
                low=row.minimum,
                high=row.maximum,
                limit=limits.min_spread,
            )
        )
    if row.equal_share >= limits.equal_share:
        out.append(
            T_(
                "%(n)s of %(total)s scores equal another one (%(share)s per cent; the limit is %(limit)s per cent).",
                n=row.equal_scores,
                total=row.scored,
                share=round(row.equal_share * 100),
                limit=round(limits.equal_share * 100),
            )
        )
    return tuple(out)


def check_period(period: object) -> str:
    if not isinstance(period, str) or period_kind(period.strip()) != "month":
        raise Invalid(T_("Give the month like 2026-11."), {"period": T_("A month such as 2026-11.")})
    return period.strip()


def visible_units(session: Session, actor: Actor, unit_id: int | None = None) -> list[OrgUnit]:
    """Units whose flags the actor may see: the office every unit, admins and principals their own."""
    stmt = select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.code)
    if not actor.is_district_wide:
        own = actor.unit_ids_for(Role.unit_admin, Role.unit_principal)
        if not own or (unit_id is not None and unit_id not in own):
            raise Forbidden(T_("Only the unit's administrator and principal and the office see the scoring flags."))
        stmt = stmt.where(OrgUnit.id.in_(own))
    if unit_id is not None:
        stmt = stmt.where(OrgUnit.id == unit_id)
    return list(session.scalars(stmt))


def unit_flags(session: Session, unit: OrgUnit, period: str, limits: Thresholds) -> list[Flag]:
    out = []
    for row in reviewer_differentiation(session, unit.id, period):
        reasons = reasons_for(row, limits)
        if reasons:
            out.append(Flag(unit.id, unit.name, period, row, reasons))
    return out


def flags(session: Session, actor: Actor, period: str, limits: Thresholds, unit_id: int | None = None) -> list[Flag]:
    """Flagged reviewers of ``period`` (a month) in the units the actor may see."""
    period = check_period(period)
    out: list[Flag] = []
    for unit in visible_units(session, actor, unit_id):
        out.extend(unit_flags(session, unit, period, limits))
    return out


def _recipients(session: Session, unit_id: int) -> list[int]:
    district = select(OrgUnit.id).where(OrgUnit.kind == OrgKind.district)
    return list(
        session.scalars(
            select(RoleAssignment.person_id)
            .where(
                ((RoleAssignment.role == Role.unit_admin) & (RoleAssignment.org_unit_id == unit_id))
                | ((RoleAssignment.role == Role.perf_office) & RoleAssignment.org_unit_id.in_(district))
            )
            .distinct()
        )
    )


def _dedupe(period: str, reviewer_id: int) -> Callable[[int], str]:
    return lambda recipient_id: f"diff:{period}:{reviewer_id}:{recipient_id}"


def notify_flags(session: Session, period: str, limits: Thresholds, *, link: str | None = None) -> dict[str, int]:
    """Flag every unit's reviewers of ``period`` and tell the unit's administrators and the office.

    Each recipient hears about a reviewer and period once, however often this runs (the daily job
    runs it for the month before; scores arriving later can still raise a flag).
    """
    period = check_period(period)
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit)))
    found = sent = 0
    for unit in units:
        for flag in unit_flags(session, unit, period, limits):
            found += 1
            reviewer = session.get(Person, flag.reviewer_id)
            text = T_(
                "Scores of %(reviewer)s (%(unit)s, %(period)s) do not differentiate: %(reasons)s",
                reviewer=reviewer.name if reviewer else flag.figures.reviewer_name,
                unit=unit.name,
                period=period,
                reasons=" ".join(flag.reasons),
            )
            sent += notifications.notify(
                session,
                _recipients(session, unit.id),
                KIND,
                text,
                link=link,
                data={
                    "unit_id": unit.id,
                    "unit": unit.name,
                    "period": period,
                    "reviewer_id": flag.reviewer_id,
                    "reviewer": flag.figures.reviewer_name,
                },
                dedupe_key=_dedupe(period, flag.reviewer_id),
            )
    return {"flagged": found, "notified": sent}


__all__ = ["KIND", "Flag", "Thresholds", "flags", "notify_flags", "reasons_for", "visible_units"]
