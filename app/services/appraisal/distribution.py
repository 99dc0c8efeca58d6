"""Bonus distribution (奖金分配): a unit's pool for a quarter shared by score coefficients.

Coefficient c_i of each person (``scheme.distribution_method``):
- ``score``: c_i = total_i;
- ``score_x_grade``: c_i = total_i × grade coefficient of the person's period grade.
A coefficient below zero counts as 0 (nobody pays into the pool).

amount_i = pool × c_i / Σc, rounded to the fen by the *largest-remainder method*: every amount
is first cut down to the fen, then the fens left over (fewer than the number of people) go one
each to the largest cut-off remainders. Ties are broken by the larger coefficient, then the
smaller person id, so the same inputs always give the same amounts. The amounts therefore sum to
the pool exactly, which a payroll export needs; the arithmetic is exact (fractions, no floats).

A draft distribution is computed from the quarter's *confirmed* results (see
``publication.confirmed_results``) and runs through ``bonus_distribution.bpmn``: the unit admin
submits, the principal confirms. A confirmed distribution is frozen (guarded on flush) and is
what the payroll export contains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.models import BonusDistribution, BonusShare, DistributionStatus, OrgUnit
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal import publication
from app.services.appraisal.scheme import Scheme, scheme_for
from app.services.errors import T_, Conflict, Invalid, NotFound

PROCESS = "bonus_distribution"
FEN = Decimal("0.01")
COEFF = Decimal("0.000001")
POOL_MAX = Decimal("9999999999.99")
METHOD_FORMULA = {
    "score": "c = total",
    "score_x_grade": "c = total × grade coefficient",
}


# --- the arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    key: int  # the tie-break key (person id)
    coefficient: Decimal
    exact: Fraction  # pool × c / Σc in yuan
    amount: Decimal
    extra_fen: bool


def coefficient(scheme: Scheme, method: str, total: Decimal, grade: str | None) -> tuple[Decimal, Decimal | None]:
    """(c_i, grade coefficient used or None) for one person."""
    if method == "score_x_grade":
        factor = scheme.grade_coefficient(grade)
        value = total * factor
    else:
        factor, value = None, total
    return max(value, Decimal(0)).quantize(COEFF), factor


def allocate(pool: Decimal, coefficients: Sequence[tuple[int, Decimal]]) -> list[Allocation]:
    """Share ``pool`` (yuan, at most 2 decimals) by ``(key, coefficient)``; amounts sum to ``pool`` exactly."""
    if pool != pool.quantize(FEN) or pool < 0:
        raise ValueError("the pool must be a non-negative amount with at most two decimals")
    total_c = sum((Fraction(c) for _, c in coefficients), Fraction(0))
    if total_c <= 0:
        raise ValueError("the coefficients add up to zero")
    pool_fen = int(pool * 100)
    quotas = [(key, c, Fraction(pool_fen) * Fraction(c) / total_c) for key, c in coefficients]
    floors = [math.floor(q) for _, _, q in quotas]
    left = pool_fen - sum(floors)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i][2] - floors[i]), -quotas[i][1], quotas[i][0]))
    bonus = set(order[:left])
    return [
        Allocation(
            key=key,
            coefficient=c,
            exact=q / 100,
            amount=(Decimal(floors[i] + (1 if i in bonus else 0)) / 100).quantize(FEN),
            extra_fen=i in bonus,
        )
        for i, (key, c, q) in enumerate(quotas)
    ]


def num(value: Decimal | None) -> str:
    """A decimal as written by hand, at full precision: 106.2, 85, 0.000125."""
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fraction_text(value: Fraction, places: int = 4) -> str:
    scaled = value * 10**places
    rounded = Decimal(round(scaled)) / Decimal(10**places)
    exact = scaled.denominator == 1
    return f"{rounded:.{places}f}" + ("" if exact else "…")


def sum_coefficients(dist: BonusDistribution) -> Decimal:
    return sum((s.coefficient for s in dist.shares), Decimal(0))


def share_formula(dist: BonusDistribution, share: BonusShare) -> str:
    """``c = 88.5 × 1.2 = 106.2; 10000.00 × 106.2 ÷ 512.3 = 2072.9650… → 2072.97``."""
    total_c = sum_coefficients(dist)
    if share.grade_coefficient is not None:
        c_text = f"c = {num(share.total)} × {num(share.grade_coefficient)} = {num(share.coefficient)}"
    else:
        c_text = f"c = {num(share.coefficient)}"
    if total_c <= 0:
        return c_text
    exact = Fraction(dist.pool) * Fraction(share.coefficient) / Fraction(total_c)
    return (
        f"{c_text}; {dist.pool:.2f} × {num(share.coefficient)} ÷ {num(total_c)}"
        f" = {_fraction_text(exact)} → {share.amount:.2f}"
    )


def formula(dist: BonusDistribution) -> str:
    """The distribution's formula with its numbers: ``amount = 10000.00 × c ÷ 256.5 (c = total)``."""
    return f"amount = {dist.pool:.2f} × c ÷ {num(sum_coefficients(dist))} ({METHOD_FORMULA[dist.method]})"


# --- the aggregate ---------------------------------------------------------------------------------


def parse_pool(value: object) -> Decimal:
    try:
        pool = Decimal(str(value).strip().replace(",", ""))
        if not pool.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        pool = Decimal(-1)
    if pool <= 0 or pool > POOL_MAX or pool != pool.quantize(FEN):
        raise Invalid(
            T_("Enter the bonus pool in yuan, more than 0, with at most two decimals (e.g. 10000.00)."),
            {"pool": T_("An amount in yuan such as 10000.00.")},
        )
    return pool


def compute(session: Session, dist: BonusDistribution) -> None:
    """(Re)compute a draft's shares from the quarter's confirmed results and the scheme."""
    if dist.status is not DistributionStatus.draft:
        raise frozen_error(dist)
    results = publication.confirmed_results(session, dist.unit_id, dist.period)
    scheme = scheme_for(session, dist.unit_id, int(dist.period[:4]))
    dist.method = scheme.distribution_method
    dist.grade_coefficients = {k: str(v) for k, v in scheme.grade_coefficients}
    people = publication.ordered(session, results)
    inputs = []
    for result, person in people:
        c, factor = coefficient(scheme, dist.method, Decimal(result.total), result.grade)
        inputs.append((person.id, c, factor))
    if sum((c for _, c, _ in inputs), Decimal(0)) <= 0:
        raise Conflict(T_("Every coefficient is 0, so the pool cannot be shared by score."))
    allocations = {a.key: a for a in allocate(dist.pool, [(pid, c) for pid, c, _ in inputs])}
    dist.shares.clear()
    session.flush()
    for position, ((result, person), (_, c, factor)) in enumerate(zip(people, inputs, strict=True), start=1):
        a = allocations[person.id]
        dist.shares.append(
            BonusShare(
                person_id=person.id,
                position=position,
                staff_no=person.staff_no,
                person_name=person.name,
                section_name=person.section.name if person.section else "",
                total=Decimal(result.total),
                grade=result.grade,
                grade_coefficient=factor,
                coefficient=c,
                amount=a.amount,
                extra_fen=a.extra_fen,
            )
        )
    dist.computed_at = utcnow()
    session.flush()


def summary_text(dist: BonusDistribution) -> str:
    lines = [f"{dist.unit.name} · {dist.period} · r{dist.revision} · {dist.pool:.2f}", formula(dist)]
    lines += [f"{s.position}. {s.person_name} · {s.section_name} · {share_formula(dist, s)}" for s in dist.shares]
    return "\n".join(lines)


def latest(session: Session, unit_id: int, period: str) -> BonusDistribution | None:
    return session.scalar(
        select(BonusDistribution)
        .where(BonusDistribution.unit_id == unit_id, BonusDistribution.period == period)
        .order_by(BonusDistribution.revision.desc())
        .limit(1)
    )


def confirmed_one(session: Session, unit_id: int, period: str) -> BonusDistribution | None:
    """The confirmed distribution of the quarter, if any (the one payroll has, until corrected)."""
    return session.scalar(
        select(BonusDistribution)
        .where(
            BonusDistribution.unit_id == unit_id,
            BonusDistribution.period == period,
            BonusDistribution.status == DistributionStatus.confirmed,
        )
        .order_by(BonusDistribution.revision.desc())
        .limit(1)
    )


def create_distribution(
    session: Session, actor: Actor, unit_id: int, period: object, pool: object, reason: str | None = None
) -> BonusDistribution:
    """A draft for the unit's quarter, computed at once, with its confirmation process started."""
    publication.check_may_prepare(actor, unit_id)
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(T_("No such unit."))
    quarter = publication.check_quarter(period)
    amount = parse_pool(pool)
    publication.confirmed_results(session, unit_id, quarter)  # a clear refusal before anything is written
    last = latest(session, unit_id, quarter)
    if last is not None and last.status in (DistributionStatus.draft, DistributionStatus.submitted):
        raise Conflict(
            T_("The bonus distribution of %(period)s is already being prepared; finish it first.", period=quarter)
        )
    reason = publication.clean(reason, "reason", 2000)
    confirmed = confirmed_one(session, unit_id, quarter)  # a withdrawn revision may lie in between
    if confirmed is not None and not reason:
        raise Invalid(
            T_(
                "The distribution of %(period)s is already confirmed: a correction needs the reason for it.",
                period=quarter,
            ),
            {"reason": T_("Say what is corrected and why.")},
        )
    dist = BonusDistribution(
        unit_id=unit.id,
        unit=unit,
        period=quarter,
        revision=0 if last is None else last.revision + 1,
        pool=amount,
        method="score",
        grade_coefficients={},
        status=DistributionStatus.draft,
        reason=reason if confirmed is not None else None,
        created_by_id=actor.person_id,
        created_at=utcnow(),
    )
    publication.add_revision(session, dist, quarter)
    compute(session, dist)
    from app.workflow import runtime

    started = runtime.start_process(
        session,
        actor,
        PROCESS,
        quarter,
        subject_unit_id=unit.id,
        revision=dist.revision,
        data={"distribution_id": dist.id, "distribution_summary": summary_text(dist)},
    )
    dist.instance_id = started.instance.id
    session.flush()
    details = {"unit_id": unit.id, "period": quarter, "pool": str(amount), "revision": dist.revision}
    audit.record(session, actor, "distribution.create", "bonus_distribution", dist.id, details=details)
    return dist


def get_distribution(session: Session, actor: Actor, distribution_id: int) -> BonusDistribution:
    dist = session.get(BonusDistribution, distribution_id)
    if dist is None:
        raise NotFound(T_("Bonus distribution %(id)s does not exist.", id=distribution_id))
    if not publication.may_manage(actor, dist.unit_id):
        raise publication.Forbidden(
            T_("Only the unit's administrator and principal and the performance office see its bonus distribution.")
        )
    return dist


def list_distributions(session: Session, actor: Actor, unit_id: int) -> list[BonusDistribution]:
    if not publication.may_manage(actor, unit_id):
        raise publication.Forbidden(
            T_("Only the unit's administrator and principal and the performance office see its bonus distribution.")
        )
    stmt = select(BonusDistribution).where(BonusDistribution.unit_id == unit_id)
    return list(session.scalars(stmt.order_by(BonusDistribution.period.desc(), BonusDistribution.revision.desc())))


def recompute(session: Session, actor: Actor, distribution_id: int, pool: object | None = None) -> BonusDistribution:
    """Change the pool of a draft and/or compute again (after results or the scheme changed)."""
    dist = get_distribution(session, actor, distribution_id)
    publication.check_may_prepare(actor, dist.unit_id)
    if dist.status is not DistributionStatus.draft:
        raise frozen_error(dist)
    if pool is not None:
        dist.pool = parse_pool(pool)
    compute(session, dist)
    audit.record(
        session, actor, "distribution.compute", "bonus_distribution", dist.id, details={"pool": str(dist.pool)}
    )
    return dist


# --- frozen once confirmed --------------------------------------------------------------------------


def frozen_error(dist: BonusDistribution) -> publication.Frozen:
    if dist.status is DistributionStatus.submitted:
        return publication.Frozen(
            T_("The distribution is with the principal for confirmation; it can be changed after a return.")
        )
    return publication.Frozen(
        T_(
            "The bonus distribution of %(period)s was confirmed and cannot be changed; start a correction instead.",
            period=dist.period,
        )
    )


def _was_confirmed(dist: BonusDistribution) -> bool:
    state = inspect(dist)
    if not state.persistent:
        return False
    history = state.attrs.status.history
    before = history.deleted[0] if history.deleted else dist.status
    return before is DistributionStatus.confirmed


def check_frozen(session: Session) -> None:
    """Part of the flush guard: nothing of a confirmed distribution changes."""
    for obj in [*session.dirty, *session.deleted]:
        if (
            isinstance(obj, BonusDistribution)
            and _was_confirmed(obj)
            and (obj in session.deleted or session.is_modified(obj))
        ):
            raise frozen_error(obj)
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, BonusShare):
            dist = obj.distribution
            if dist is not None and _was_confirmed(dist):
                if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                    continue
                raise frozen_error(dist)
