"""From quarters to the year (年度考核): the annual total, the annual grade and the rules that decide it.

annual total = the mean of the year's *confirmed* quarter totals (draft quarters are left out and
listed as missing). The grade starts from the scheme's annual thresholds (优秀/合格/基本合格/不合格);
then the scheme's rules apply in order, each recorded in ``rule_detail`` with its numbers:

1. ``veto`` — a veto item (一票否决) recorded against the person for the year forces the lowest
   grade whatever the score; nothing else applies after it;
2. ``excellent_requires`` — 优秀 needs at least one 好 quarter (``one_good``) or 好 in more than
   half of the quarters counted (``majority_good``); otherwise 合格;
3. ``excellent_forbids_low`` — with ``excellent_forbids_low_periods``, a 一般 or 较差 quarter rules
   out 优秀 (→ 合格);
4. the 优秀 quota, applied when the unit confirms (``grading.confirm_grades``).

Veto records are written by the unit's administrator or the office, with a reason; recording or
withdrawing one is audited and refused once the person's annual result is confirmed.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import PeriodResult, Person, ResultKind, ResultStatus, Role, VetoRecord
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal.results import (
    ZERO,
    check_may_compute,
    get_unit,
    num,
    q2,
    threshold_step,
    unit_people,
)
from app.services.appraisal.scheme import ANNUAL_GRADES, Scheme, scheme_for
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound

LOW_PERIOD_GRADES = ("average", "poor")


def check_year(year: object) -> int:
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year.strip())
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise Invalid(T_("Give the year like 2026."), {"year": T_("A year between 2000 and 2100.")})
    return year


# --- veto records -------------------------------------------------------------------------------


def active_vetoes(session: Session, person_ids: list[int], year: int) -> dict[int, list[VetoRecord]]:
    out: dict[int, list[VetoRecord]] = {}
    if not person_ids:
        return out
    rows = session.scalars(
        select(VetoRecord)
        .where(VetoRecord.person_id.in_(person_ids), VetoRecord.year == year, VetoRecord.withdrawn_at.is_(None))
        .order_by(VetoRecord.recorded_at, VetoRecord.id)
    )
    for row in rows:
        out.setdefault(row.person_id, []).append(row)
    return out


def list_vetoes(session: Session, actor: Actor, unit_id: int, year: int) -> list[VetoRecord]:
    from app.services.appraisal.results import check_may_read

    check_may_read(actor, unit_id)
    return list(
        session.scalars(
            select(VetoRecord)
            .where(VetoRecord.unit_id == unit_id, VetoRecord.year == year)
            .order_by(VetoRecord.recorded_at.desc(), VetoRecord.id.desc())
        )
    )


def _check_may_veto(actor: Actor, unit_id: int) -> None:
    if actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin):
        return
    raise Forbidden(T_("Only the unit's performance administrator or the office may record or withdraw a veto item."))


def _ensure_annual_open(session: Session, person_id: int, year: int) -> None:
    result = session.scalar(
        select(PeriodResult).where(PeriodResult.person_id == person_id, PeriodResult.period == str(year))
    )
    if result is not None and result.status is ResultStatus.confirmed:
        raise Conflict(
            T_("The annual result of %(year)s is confirmed; veto items of that year can no longer change.", year=year)
        )


def record_veto(
    session: Session,
    actor: Actor,
    person_id: int,
    year: int,
    item: str,
    reason: str,
    occurred_on: date | None = None,
) -> VetoRecord:
    """Record a veto item of the scheme against a person for ``year`` (forces the lowest annual grade)."""
    year = check_year(year)
    person = session.get(Person, person_id)
    unit = person.unit if person is not None else None
    if person is None or unit is None:
        raise NotFound(T_("No such person."))
    _check_may_veto(actor, unit.id)
    labels = scheme_for(session, unit.id, year).veto_labels
    errors: dict[str, str] = {}
    if item not in labels:
        errors["item"] = T_("Choose one of the scheme's veto items.")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = T_("Say what happened and where it is documented.")
    elif len(reason) > 2000:
        errors["reason"] = T_("Text of at most %(n)d characters.", n=2000)
    if occurred_on is not None and occurred_on.year != year:
        errors["occurred_on"] = T_("The date must fall in %(year)s.", year=year)
    if errors:
        raise Invalid(T_("The veto record has errors."), errors)
    _ensure_annual_open(session, person.id, year)
    row = VetoRecord(
        person_id=person.id,
        unit_id=unit.id,
        year=year,
        item=item,
        item_label=labels[item],
        reason=reason,
        occurred_on=occurred_on,
        recorded_by_id=actor.person_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "results.veto",
        "veto_record",
        row.id,
        details={"person_id": person.id, "year": year, "item": item},
    )
    return row


def withdraw_veto(session: Session, actor: Actor, veto_id: int, reason: str) -> VetoRecord:
    """Withdraw a veto record (kept, marked withdrawn with the reason)."""
    row = session.get(VetoRecord, veto_id)
    if row is None:
        raise NotFound(T_("No such veto record."))
    _check_may_veto(actor, row.unit_id)
    if row.withdrawn_at is not None:
        raise Conflict(T_("This veto record was already withdrawn."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(T_("The veto record has errors."), {"reason": T_("Say why the veto item is withdrawn.")})
    _ensure_annual_open(session, row.person_id, row.year)
    row.withdrawn_at, row.withdrawn_by_id, row.withdraw_reason = utcnow(), actor.person_id, reason[:2000]
    session.flush()
    audit.record(session, actor, "results.veto_withdraw", "veto_record", row.id, details={"year": row.year})
    return row


# --- annual results -----------------------------------------------------------------------------


def apply_rules(
    scheme: Scheme, total: Decimal, quarters: dict[str, str], vetoes: list[VetoRecord]
) -> tuple[str, str, str, list[dict[str, Any]]]:
    """(computed grade, final grade, deciding rule, steps) for one person; ``quarters`` maps quarter → grade."""
    first = threshold_step(scheme, total, annual=True)
    steps = [first]
    grade, rule = first["grade"], "threshold"
    excellent, competent, lowest = ANNUAL_GRADES[0], ANNUAL_GRADES[1], ANNUAL_GRADES[-1]
    if vetoes:
        veto = vetoes[0]
        steps.append(
            {"rule": "veto", "from": grade, "grade": lowest, "item": veto.item, "label": veto.item_label, "id": veto.id}
        )
        return first["grade"], lowest, "veto", steps
    good = sum(1 for g in quarters.values() if g == "good")
    counted = len(quarters)
    if grade == excellent and scheme.excellent_requires != "none":
        enough = good >= 1 if scheme.excellent_requires == "one_good" else good * 2 > counted
        if not enough:
            steps.append(
                {
                    "rule": "excellent_requires",
                    "from": grade,
                    "grade": competent,
                    "requires": scheme.excellent_requires,
                    "good": good,
                    "periods": counted,
                }
            )
            grade, rule = competent, "excellent_requires"
    if grade == excellent and scheme.excellent_forbids_low_periods:
        low = sorted(q for q, g in quarters.items() if g in LOW_PERIOD_GRADES)
        if low:
            steps.append(
                {
                    "rule": "excellent_forbids_low",
                    "from": grade,
                    "grade": competent,
                    "quarters": low,
                    "grades": [quarters[q] for q in low],
                }
            )
            grade, rule = competent, "excellent_forbids_low"
    return first["grade"], grade, rule, steps


def compute_annual_results(session: Session, actor: Actor, unit_id: int, year: int) -> list[PeriodResult]:
    """Compute (or recompute) the unit's annual drafts of ``year`` from its confirmed quarter results."""
    year = check_year(year)
    get_unit(session, unit_id)
    check_may_compute(actor, unit_id)
    key = str(year)
    existing = {
        r.person_id: r
        for r in session.scalars(
            select(PeriodResult).where(PeriodResult.unit_id == unit_id, PeriodResult.period == key)
        )
    }
    if any(r.status is ResultStatus.confirmed for r in existing.values()):
        raise Conflict(
            T_("The annual results of %(year)s are confirmed; they can no longer be computed again.", year=year)
        )
    scheme = scheme_for(session, unit_id, year)
    quarter_keys = [f"{year}-Q{q}" for q in range(1, 5)]
    rows = session.scalars(
        select(PeriodResult).where(
            PeriodResult.unit_id == unit_id,
            PeriodResult.kind == ResultKind.quarter,
            PeriodResult.period.in_(quarter_keys),
        )
    ).all()
    by_person: dict[int, dict[str, PeriodResult]] = {}
    for row in rows:
        by_person.setdefault(row.person_id, {})[row.period] = row
    people = {p.id for p in unit_people(session, unit_id)} | set(by_person)
    vetoes = active_vetoes(session, sorted(people), year)
    now = utcnow()
    out: list[PeriodResult] = []
    for person_id in sorted(by_person):
        quarters = {k: r for k, r in sorted(by_person[person_id].items()) if r.status is ResultStatus.confirmed}
        if not quarters:
            continue
        totals = [quarters[k].total for k in quarters]
        total = q2(sum(totals, ZERO) / len(totals))
        computed, grade, rule, steps = apply_rules(
            scheme, total, {k: r.grade for k, r in quarters.items()}, vetoes.get(person_id, [])
        )
        other = existing.get(person_id) or session.scalar(
            select(PeriodResult).where(PeriodResult.person_id == person_id, PeriodResult.period == key)
        )
        if other is not None and other.status is ResultStatus.confirmed:
            continue
        result = other or PeriodResult(person_id=person_id, period=key, kind=ResultKind.year)
        result.unit_id = unit_id
        result.indicator_score = result.evaluation_score = None
        result.bonus_points = sum((r.bonus_points or ZERO for r in quarters.values()), ZERO)
        result.deduction_points = sum((r.deduction_points or ZERO for r in quarters.values()), ZERO)
        result.total = total
        result.computed_grade, result.grade, result.rule = computed, grade, rule
        result.rule_detail = json.dumps(steps, ensure_ascii=False)
        result.formula = f"total = ({' + '.join(num(t) for t in totals)}) / {len(totals)} = {num(total)}"
        result.sources = json.dumps(
            {
                "quarters": {k: {"total": str(r.total), "grade": r.grade} for k, r in quarters.items()},
                "missing_quarters": [k for k in quarter_keys if k not in quarters],
                "draft_quarters": sorted(k for k, r in by_person[person_id].items() if k not in quarters),
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        result.status = ResultStatus.draft
        result.computed_at, result.computed_by_id = now, actor.person_id
        if other is None:
            session.add(result)
        out.append(result)
    kept = {r.person_id for r in out}
    for person_id, stale in existing.items():
        if person_id not in kept:
            session.delete(stale)
    session.flush()
    audit.record(session, actor, "results.compute", "org_unit", unit_id, details={"period": key, "people": len(out)})
    return sorted(out, key=lambda r: (-r.total, r.person_id))


__all__ = ["apply_rules", "compute_annual_results", "list_vetoes", "record_veto", "withdraw_veto"]
