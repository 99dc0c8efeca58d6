"""Quarterly results (平时考核结果): from archived monthly records to a total, a formula and a grade.

For each person of the unit with at least one *archived* (备案) monthly record in the quarter:

- indicator score I = the mean of the archived months' final scores (the leader's adjusted total
  where there is one). Months not archived yet (still in scoring, review or feedback, or never
  opened) are left out of the mean and listed as missing, so the unit sees what is incomplete;
  a person without any archived month gets no result and is listed as missing altogether;
- evaluation score E = the comprehensive evaluation (综合测评) of the quarter, or — when the scheme
  evaluates yearly — the year's evaluation in Q4 only (``evaluation.evaluation_score``, keyed by
  ``evaluation.round_period``). Without an evaluation the
  indicator score carries the whole weight: total = I × (wI + wE) + B − D, and the formula says so;
- B, D = the counted bonus and deduction points of the quarter (``bonus.counted_points``: only
  approved items, within the scheme's caps);
- total = I × wI + E × wE + B − D, rounded half-up to two decimals; the grade by the scheme's
  period thresholds (好/较好/一般/较差). The top-grade quota is applied when the unit confirms the
  grades (``grading.confirm_grades``).

Computing again replaces the drafts (idempotent); confirmed results are frozen: ``install_guard``
refuses any change to them that reaches the database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.models import (
    AppraisalRecord,
    OrgKind,
    OrgUnit,
    PeriodResult,
    Person,
    RecordStatus,
    ResultKind,
    ResultStatus,
    Role,
)
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal.bonus import counted_points
from app.services.appraisal.evaluation import evaluation_score, round_period
from app.services.appraisal.scheme import Scheme, scheme_for
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.periods import period_kind

CENT = Decimal("0.01")
ZERO = Decimal(0)


def q2(value: Decimal) -> Decimal:
    """Two decimals, half up (the rounding every total and mean uses)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def num(value: Decimal | None) -> str:
    """A number as the formula shows it: two decimals, or the weight as given (0.8)."""
    if value is None:
        return "-"
    return f"{value:.2f}"


def weight(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("", "-0") else "0"


# --- the guard ------------------------------------------------------------------------------------


class Confirmed(Conflict):
    """A change to a confirmed result."""


def confirmed_error(result: PeriodResult) -> Confirmed:
    return Confirmed(
        T_(
            "The results of %(period)s were confirmed and can no longer be changed.",
            period=result.period,
        )
    )


def _was_confirmed(result: PeriodResult) -> bool:
    state = inspect(result)
    if not state.persistent:
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else result.status
    return before == ResultStatus.confirmed


def _guard(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.dirty, *session.deleted]:
        changed = obj in session.deleted or session.is_modified(obj)
        if isinstance(obj, PeriodResult) and changed and _was_confirmed(obj):
            raise confirmed_error(obj)


def install_guard() -> None:
    """Refuse, at flush, any change to a confirmed result (called from the app factory and tests)."""
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)


# --- access ---------------------------------------------------------------------------------------

MANAGERS = (Role.unit_admin, Role.unit_principal)
# Leaders in charge are granted on sections, not the unit: they follow their sections' months on the
# appraisal pages and dashboards and see the quarter's list once the unit publishes it.
READERS = (Role.unit_admin, Role.unit_principal)


def may_read_unit(actor: Actor, unit_id: int) -> bool:
    return actor.is_district_wide or unit_id in actor.unit_ids_for(*READERS)


def check_may_read(actor: Actor, unit_id: int) -> None:
    if not may_read_unit(actor, unit_id):
        raise Forbidden(T_("Only the unit's principal, its performance administrator and the office see its results."))


def check_may_compute(actor: Actor, unit_id: int) -> None:
    if actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin):
        return
    raise Forbidden(T_("Only the unit's performance administrator or the office may compute its results."))


def check_may_confirm(actor: Actor, unit_id: int) -> None:
    if actor.is_district_wide or unit_id in actor.unit_ids_for(*MANAGERS):
        return
    raise Forbidden(
        T_("Only the unit's principal, its performance administrator or the office may confirm its grades.")
    )


def get_unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("No such unit."))
    return unit


def check_quarter(period: object) -> str:
    if not isinstance(period, str) or period_kind(period.strip()) != "quarter":
        raise Invalid(
            T_("Give the quarter like 2026-Q4."),
            {"period": T_("A quarter such as 2026-Q4.")},
        )
    return period.strip()


def months_of(quarter: str) -> list[str]:
    year, q = int(quarter[:4]), int(quarter[-1])
    return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]


# --- reading --------------------------------------------------------------------------------------


def period_results(session: Session, unit_id: int, period: str) -> list[PeriodResult]:
    """The unit's results of ``period`` (a quarter or a year), highest total first."""
    return list(
        session.scalars(
            select(PeriodResult)
            .join(Person, PeriodResult.person_id == Person.id)
            .where(PeriodResult.unit_id == unit_id, PeriodResult.period == period)
            .order_by(PeriodResult.total.desc(), Person.staff_no)
        )
    )


def results_of_person(session: Session, person_id: int, *, confirmed_only: bool = True) -> list[PeriodResult]:
    stmt = select(PeriodResult).where(PeriodResult.person_id == person_id)
    if confirmed_only:
        stmt = stmt.where(PeriodResult.status == ResultStatus.confirmed)
    return list(session.scalars(stmt.order_by(PeriodResult.period.desc())))


def detail(result: PeriodResult) -> list[dict[str, Any]]:
    """The rules applied to the result, in order (``rule_detail`` decoded)."""
    data = json.loads(result.rule_detail or "[]")
    return data if isinstance(data, list) else []


def sources(result: PeriodResult) -> dict[str, Any]:
    data = json.loads(result.sources or "{}")
    return data if isinstance(data, dict) else {}


# --- computing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """A person of the unit whose quarter is incomplete: months without an archived record."""

    person_id: int
    name: str
    months: tuple[str, ...]
    has_result: bool


def unit_people(session: Session, unit_id: int) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(OrgUnit, Person.section_id == OrgUnit.id)
            .where(OrgUnit.parent_id == unit_id)
            .order_by(Person.staff_no)
        )
    )


def archived_scores(session: Session, person_ids: list[int], months: list[str]) -> dict[int, dict[str, Decimal]]:
    """Person → month → final score of the archived record (the latest one where a month ran twice)."""
    out: dict[int, dict[str, Decimal]] = defaultdict(dict)
    if not person_ids:
        return out
    rows = session.scalars(
        select(AppraisalRecord)
        .where(
            AppraisalRecord.person_id.in_(person_ids),
            AppraisalRecord.period.in_(months),
            AppraisalRecord.status == RecordStatus.archived,
        )
        .order_by(AppraisalRecord.archived_at, AppraisalRecord.id)
    )
    for record in rows:
        if record.final_score is not None:
            out[record.person_id][record.period] = Decimal(record.final_score)
    return out


def missing_people(session: Session, unit_id: int, quarter: str) -> list[Missing]:
    """People of the unit whose quarter lacks archived months (with or without a result)."""
    quarter = check_quarter(quarter)
    months = months_of(quarter)
    people = unit_people(session, unit_id)
    scores = archived_scores(session, [p.id for p in people], months)
    out = []
    for person in people:
        done = scores.get(person.id, {})
        lacking = tuple(m for m in months if m not in done)
        if lacking:
            out.append(Missing(person.id, person.name, lacking, bool(done)))
    return out


def quarter_total(
    scheme: Scheme, monthly: dict[str, Decimal], evaluation: Decimal | None, bonus: Decimal, deduction: Decimal
) -> tuple[Decimal, Decimal, str]:
    """(indicator score, total, formula) for one person; the formula carries the person's numbers."""
    values = [monthly[m] for m in sorted(monthly)]
    indicator = q2(sum(values, ZERO) / len(values))
    mean = f"I = ({' + '.join(num(v) for v in values)}) / {len(values)} = {num(indicator)}"
    wi, we = scheme.indicator_weight, scheme.evaluation_weight
    if evaluation is None:
        total = q2(indicator * (wi + we) + bonus - deduction)
        shape = f"total = I × ({weight(wi)} + {weight(we)}) + B − D  [E: none]"
        numbers = f"{num(indicator)} × {weight(wi + we)} + {num(bonus)} − {num(deduction)} = {num(total)}"
    else:
        total = q2(indicator * wi + evaluation * we + bonus - deduction)
        shape = f"total = I × {weight(wi)} + E × {weight(we)} + B − D"
        numbers = (
            f"{num(indicator)} × {weight(wi)} + {num(evaluation)} × {weight(we)}"
            f" + {num(bonus)} − {num(deduction)} = {num(total)}"
        )
    return indicator, total, f"{mean}; {shape} = {numbers}"


def threshold_step(scheme: Scheme, total: Decimal, *, annual: bool) -> dict[str, Any]:
    bands = dict(scheme.annual_grades if annual else scheme.period_grades)
    grade = scheme.annual_grade_for(total) if annual else scheme.period_grade_for(total)
    return {"rule": "threshold", "grade": grade, "total": str(total), "minimum": str(bands[grade])}


def compute_period_results(session: Session, actor: Actor, unit_id: int, quarter: str) -> list[PeriodResult]:
    """Compute (or recompute) the unit's drafts of ``quarter``; see the module doc for the formula.

    Refused once the quarter's results are confirmed. Drafts of people who no longer qualify
    (their archived months were reopened, they left the unit) are removed.
    """
    quarter = check_quarter(quarter)
    get_unit(session, unit_id)
    check_may_compute(actor, unit_id)
    existing = {r.person_id: r for r in period_results(session, unit_id, quarter)}
    if any(r.status is ResultStatus.confirmed for r in existing.values()):
        raise Conflict(
            T_("The results of %(period)s are confirmed; they can no longer be computed again.", period=quarter)
        )
    scheme = scheme_for(session, unit_id, int(quarter[:4]))
    months = months_of(quarter)
    people = unit_people(session, unit_id)
    scores = archived_scores(session, [p.id for p in people], months)
    # a yearly evaluation counts in Q4 only (the round of the year runs after it); other quarters have none
    eval_key = round_period(scheme, quarter)
    now = utcnow()
    out: list[PeriodResult] = []
    for person in people:
        monthly = scores.get(person.id)
        if not monthly:
            continue
        other = session.scalar(
            select(PeriodResult).where(PeriodResult.person_id == person.id, PeriodResult.period == quarter)
        )
        if other is not None and other.unit_id != unit_id and other.status is ResultStatus.confirmed:
            continue  # confirmed in the unit the person was in before: that result stands
        evaluation = evaluation_score(session, person.id, eval_key) if eval_key else None
        e_score = None if evaluation is None else q2(Decimal(evaluation.score))
        points = counted_points(session, person.id, quarter)
        indicator, total, formula = quarter_total(
            scheme, monthly, e_score, points.bonus_counted, points.deduction_counted
        )
        step = threshold_step(scheme, total, annual=False)
        src = {
            "months": {m: str(monthly[m]) for m in sorted(monthly)},
            "missing_months": [m for m in months if m not in monthly],
            "evaluation_key": eval_key,
            "evaluation_missing_groups": list(getattr(evaluation, "missing_groups", None) or []),
            "bonus_raw": str(points.bonus_raw),
            "deduction_raw": str(points.deduction_raw),
            "capped_note": points.capped_note,
            "bonus_item_ids": list(points.item_ids),
        }
        result = other or PeriodResult(person_id=person.id, period=quarter, kind=ResultKind.quarter)
        result.unit_id = unit_id
        result.indicator_score = indicator
        result.evaluation_score = e_score
        result.bonus_points = points.bonus_counted
        result.deduction_points = points.deduction_counted
        result.total = total
        result.computed_grade = result.grade = step["grade"]
        result.rule = "threshold"
        result.rule_detail = json.dumps([step], ensure_ascii=False)
        result.formula = formula
        result.sources = json.dumps(src, ensure_ascii=False, sort_keys=True)
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
    audit.record(
        session,
        actor,
        "results.compute",
        "org_unit",
        unit_id,
        details={"period": quarter, "people": len(out), "removed": len(set(existing) - kept)},
    )
    return sorted(out, key=lambda r: (-r.total, r.person_id))


__all__ = [
    "Confirmed",
    "Missing",
    "check_may_confirm",
    "check_may_read",
    "compute_period_results",
    "install_guard",
    "missing_people",
    "period_results",
    "results_of_person",
]
