"""Comprehensive evaluation rounds (综合测评) on 德、能、勤、绩、廉: opening, closing, completion, scores.

Who rates whom (``select_raters``), for every active person of the unit's sections (the ratee):

- **self** — the ratee rates themself;
- **peers** — the other active members of the ratee's section, except those who already rate the
  ratee as a leader. With a cap (``max_peers`` > 0, setting ``EVALUATION_MAX_PEERS``; 0 means
  all colleagues) each ratee gets the ``max_peers`` colleagues that follow them in the section's
  id order, wrapping round: deterministic, and everyone rates about as many as rate them;
- **leaders** — the head(s) of the ratee's section, the unit leader(s) in charge of the section
  and the unit principal(s). A ratee who holds one of these roles is rated only by the levels
  above it (a section head by the leader in charge and the principal; a leader in charge by the
  principal), and nobody rates themself as a leader.

Each rater gets one ``evaluation_rating`` process (subject: the rater, lane ``staff``, so the
task lands in their own inbox) per period; its task covers all the rater's ratees.

Scores (``evaluation_score``): per rater group and dimension the mean of the submitted ratings;
a group's score is the dimension means weighted by the scheme's ``dimension_weights`` (sum 100);
the final score is the group scores weighted by ``rater_weights``. A group nobody in it has
submitted for is left out and the remaining weights renormalised (``missing_groups``).

Anonymity: individual ratings leave this package only to the rater themself
(``evaluation_flow.rater_sheet``). The person rated sees aggregates (``my_result``), per group
only where at least ``MIN_GROUP_SIZE`` raters submitted; unit administrators see who has not
submitted yet (``completion``), never scores of individual raters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    EvaluationAssignment,
    EvaluationRating,
    EvaluationRound,
    InstanceStatus,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessInstance,
    RaterGroup,
    Role,
    RoleAssignment,
    RoundStatus,
)
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal.scheme import DIMENSIONS, RATER_GROUPS, Scheme, scheme_for
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.periods import period_kind

PROCESS = "evaluation_rating"
FORM = "evaluation_rating"
MIN_GROUP_SIZE = 3  # a group's aggregate is shown to the ratee only with at least this many raters
LEADER_LEVELS = (Role.section_head, Role.unit_leader, Role.unit_principal)
_CENT = Decimal("0.01")


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


# --- periods -------------------------------------------------------------------------------------


def year_of(period: str) -> int:
    return int(period[:4])


def round_period(scheme: Scheme, quarter: str) -> str | None:
    """The round key a quarter's run opens: the quarter itself, or the year after its Q4."""
    if scheme.evaluation_period == "year":
        return quarter[:4] if quarter.endswith("-Q4") else None
    return quarter


def check_round_period(session: Session, unit_id: int, period: object) -> str:
    """``period`` if it is a quarter or year matching the unit's scheme for that year, else ``Invalid``."""
    kind = period_kind(period.strip()) if isinstance(period, str) else None
    if kind not in ("quarter", "year"):
        raise Invalid(
            T_("An evaluation round runs per quarter (2026-Q4) or per year (2026)."),
            {"period": T_("Malformed period.")},
        )
    assert isinstance(period, str)
    period = period.strip()
    wanted = scheme_for(session, unit_id, year_of(period)).evaluation_period
    if kind != wanted:
        example = f"{period[:4]}-Q4" if wanted == "quarter" else period[:4]
        raise Invalid(
            T_(
                "This unit's scoring scheme evaluates per %(kind)s in %(year)s; use a period like %(example)s.",
                kind=wanted,
                year=period[:4],
                example=example,
            ),
            {"period": T_("Use a period like %(example)s.", example=example)},
        )
    return period


# --- who rates whom ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    rater_id: int
    ratee_id: int
    group: RaterGroup


def _holders(session: Session, unit_id: int) -> dict[tuple[Role, int], set[int]]:
    """Active holders of the leader roles on the unit and its sections: (role, org id) → person ids."""
    section_ids = select(OrgUnit.id).where(OrgUnit.parent_id == unit_id, OrgUnit.kind == OrgKind.section)
    rows = session.execute(
        select(RoleAssignment.role, RoleAssignment.org_unit_id, RoleAssignment.person_id)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            RoleAssignment.role.in_(LEADER_LEVELS),
            Person.status == PersonStatus.active,
            (RoleAssignment.org_unit_id == unit_id) | RoleAssignment.org_unit_id.in_(section_ids),
        )
    )
    out: dict[tuple[Role, int], set[int]] = defaultdict(set)
    for role, org_id, person_id in rows:
        out[(role, org_id)].add(person_id)
    return out


def select_raters(session: Session, unit_id: int, max_peers: int = 0) -> list[Pair]:
    """Every (rater, ratee, group) of a round for the unit, by the rules in the module docstring."""
    members: dict[int, list[int]] = defaultdict(list)
    for person_id, section_id in session.execute(
        select(Person.id, Person.section_id)
        .join(OrgUnit, OrgUnit.id == Person.section_id)
        .where(OrgUnit.parent_id == unit_id, OrgUnit.kind == OrgKind.section, Person.status == PersonStatus.active)
        .order_by(Person.id)
    ):
        if section_id is not None:  # always, through the join; says so to the type checker
            members[section_id].append(person_id)
    holders = _holders(session, unit_id)
    pairs: list[Pair] = []
    for section_id, people in members.items():
        levels = [
            holders.get((Role.section_head, section_id), set()),
            holders.get((Role.unit_leader, section_id), set()),
            holders.get((Role.unit_principal, unit_id), set()),
        ]
        for index, ratee in enumerate(people):
            pairs.append(Pair(ratee, ratee, RaterGroup.self))
            own_level = max((i for i, held in enumerate(levels) if ratee in held), default=-1)
            leaders = sorted(set().union(*levels[own_level + 1 :]) - {ratee})
            pairs.extend(Pair(leader, ratee, RaterGroup.leader) for leader in leaders)
            following = people[index + 1 :] + people[:index]  # colleagues after the ratee, wrapping round
            peers = [p for p in following if p not in leaders]
            if max_peers > 0:
                peers = peers[:max_peers]
            pairs.extend(Pair(peer, ratee, RaterGroup.peer) for peer in peers)
    return pairs


# --- opening and closing ------------------------------------------------------------------------------


@dataclass
class OpenOutcome:
    round: EvaluationRound
    created: bool
    assignments: int = 0
    raters: int = 0
    processes_opened: int = 0
    processes_already_open: int = 0


def check_may_manage(actor: Actor, unit_id: int) -> None:
    if actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin):
        return
    raise Forbidden(
        T_("Only the unit's performance administrator or the performance office manages evaluation rounds.")
    )


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    return unit


def open_round(
    session: Session,
    actor: Actor,
    unit_id: int,
    period: str,
    closes_on: date | None = None,
    *,
    max_peers: int = 0,
) -> OpenOutcome:
    """Open the unit's round for ``period`` with its rater assignments, and one rating process per rater.

    Idempotent per (unit, period): the round row is guarded by its unique key inside a SAVEPOINT,
    so a concurrent or repeated opening finds the existing round and creates no assignments; it
    only starts the processes of raters that have none yet (a run that died after the round was
    committed is completed that way). Only flushes.
    """
    from app.services.appraisal import evaluation_flow

    check_may_manage(actor, unit_id)
    _unit(session, unit_id)
    period = check_round_period(session, unit_id, period)
    existing = _find_round(session, unit_id, period)
    created = False
    if existing is None:
        row = EvaluationRound(unit_id=unit_id, period=period, closes_on=closes_on, opened_by_id=actor.person_id)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            created = True
            existing = row
        except IntegrityError:  # a concurrent opener committed the round first
            existing = _find_round(session, unit_id, period)
            if existing is None:
                raise
    outcome = OpenOutcome(existing, created)
    if created:
        pairs = select_raters(session, unit_id, max_peers)
        session.add_all(
            EvaluationAssignment(round_id=existing.id, rater_id=p.rater_id, ratee_id=p.ratee_id, group=p.group)
            for p in pairs
        )
        session.flush()
        outcome.assignments = len(pairs)
        audit.record(
            session,
            actor,
            "evaluation.open",
            "evaluation_round",
            existing.id,
            "success",
            {"unit_id": unit_id, "period": period, "assignments": len(pairs)},
        )
    if existing.status is RoundStatus.open:
        opened, already, raters = evaluation_flow.start_rater_processes(session, actor, existing)
        outcome.processes_opened, outcome.processes_already_open, outcome.raters = opened, already, raters
    return outcome


def _find_round(session: Session, unit_id: int, period: str) -> EvaluationRound | None:
    return session.scalar(
        select(EvaluationRound).where(EvaluationRound.unit_id == unit_id, EvaluationRound.period == period)
    )


def get_round(session: Session, round_id: int) -> EvaluationRound:
    row = session.get(EvaluationRound, round_id)
    if row is None:
        raise NotFound(T_("Evaluation round %(id)s does not exist.", id=round_id))
    return row


def close_round(session: Session, actor: Actor, round_id: int) -> EvaluationRound:
    """Close a round: no ratings are accepted any more and its scores are final."""
    row = get_round(session, round_id)
    check_may_manage(actor, row.unit_id)
    if row.status is RoundStatus.closed:
        raise Conflict(T_("The evaluation round %(period)s is already closed.", period=row.period))
    row.status, row.closed_at, row.closed_by_id = RoundStatus.closed, utcnow(), actor.person_id
    session.flush()
    audit.record(session, actor, "evaluation.close", "evaluation_round", row.id, "success", {"period": row.period})
    _withdraw_unfinished(session, actor, row)
    return row


def _withdraw_unfinished(session: Session, actor: Actor, row: EvaluationRound) -> None:
    """Take the rating task out of the inbox of raters who had not submitted and rate in no other open round.

    A rater's process covers every round of the period they rate in (one per rater and period),
    so it stays open while another unit's round of the same period still waits for them.
    """
    from app.workflow.cancel import cancel_instance

    unfinished = select(EvaluationAssignment.rater_id).where(
        EvaluationAssignment.round_id == row.id, EvaluationAssignment.submitted_at.is_(None)
    )
    still_rating = (
        select(EvaluationAssignment.rater_id)
        .join(EvaluationRound, EvaluationRound.id == EvaluationAssignment.round_id)
        .where(
            EvaluationRound.period == row.period,
            EvaluationRound.status == RoundStatus.open,
            EvaluationAssignment.submitted_at.is_(None),
        )
    )
    instance_ids = session.scalars(
        select(ProcessInstance.id).where(
            ProcessInstance.process_key == PROCESS,
            ProcessInstance.period == row.period,
            ProcessInstance.status == InstanceStatus.running,
            ProcessInstance.subject_id.in_(unfinished),
            ProcessInstance.subject_id.not_in(still_rating),
        )
    ).all()
    reason = f"evaluation round {row.period} closed"
    for instance_id in instance_ids:
        cancel_instance(session, actor, instance_id, reason)


def rounds_for(session: Session, actor: Actor, unit_id: int) -> list[EvaluationRound]:
    check_may_manage(actor, unit_id)
    return list(
        session.scalars(
            select(EvaluationRound).where(EvaluationRound.unit_id == unit_id).order_by(EvaluationRound.period.desc())
        )
    )


# --- scores ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationResult:
    """A ratee's evaluation score of a period (0–100, two decimals) and how it came about."""

    score: Decimal
    by_group: dict[str, Decimal | None]
    by_dimension: dict[str, Decimal | None]
    raters_done: int
    raters_total: int
    round_id: int
    period: str
    missing_groups: tuple[str, ...]
    raters_by_group: dict[str, int]
    round_closed: bool


def _means(session: Session, round_id: int, person_id: int) -> tuple[dict[str, dict[str, Decimal]], dict[str, int]]:
    """(group → dimension → mean of submitted scores, group → raters who submitted)."""
    rows = session.execute(
        select(EvaluationAssignment.group, EvaluationRating.dimension, EvaluationRating.score)
        .join(EvaluationRating, EvaluationRating.assignment_id == EvaluationAssignment.id)
        .where(
            EvaluationAssignment.round_id == round_id,
            EvaluationAssignment.ratee_id == person_id,
            EvaluationAssignment.submitted_at.is_not(None),
        )
    )
    sums: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for group, dimension, score in rows:
        sums[str(group)][dimension].append(Decimal(score))
    counts = dict(
        session.execute(
            select(EvaluationAssignment.group, func.count())
            .where(
                EvaluationAssignment.round_id == round_id,
                EvaluationAssignment.ratee_id == person_id,
                EvaluationAssignment.submitted_at.is_not(None),
            )
            .group_by(EvaluationAssignment.group)
        ).all()
    )
    means = {g: {d: sum(v, Decimal(0)) / len(v) for d, v in dims.items()} for g, dims in sums.items()}
    return means, {str(g): n for g, n in counts.items()}


def combine(scheme: Scheme, means: dict[str, dict[str, Decimal]]) -> tuple[Decimal | None, dict, dict, tuple]:
    """(score, by_group, by_dimension, missing groups) from per-group dimension means, unrounded inside."""
    weights = {g: scheme.rater_weight(g) for g in RATER_GROUPS}
    present = [g for g in RATER_GROUPS if means.get(g) and weights[g] > 0]
    missing = tuple(g for g in RATER_GROUPS if g not in present and weights[g] > 0)
    total_weight = sum((weights[g] for g in present), Decimal(0))
    by_group: dict[str, Decimal | None] = dict.fromkeys(RATER_GROUPS)
    for g in RATER_GROUPS:
        if means.get(g):
            by_group[g] = sum(
                (means[g].get(d, Decimal(0)) * scheme.dimension_weight(d) for d in DIMENSIONS), Decimal(0)
            ) / Decimal(100)
    by_dimension: dict[str, Decimal | None] = dict.fromkeys(DIMENSIONS)
    if not present:
        return None, {g: _opt(v) for g, v in by_group.items()}, by_dimension, missing
    for d in DIMENSIONS:
        by_dimension[d] = sum((means[g].get(d, Decimal(0)) * weights[g] for g in present), Decimal(0)) / total_weight
    score = sum((by_group[g] * weights[g] for g in present), Decimal(0)) / total_weight  # type: ignore[operator]
    return _q(score), {g: _opt(v) for g, v in by_group.items()}, {d: _opt(v) for d, v in by_dimension.items()}, missing


def _opt(value: Decimal | None) -> Decimal | None:
    return None if value is None else _q(value)


def evaluation_score(session: Session, person_id: int, period: str) -> EvaluationResult | None:
    """The person's evaluation score for ``period`` (a quarter, or a year for yearly schemes).

    ``None`` when the person was not rated in a round of that period or nobody's submitted rating
    counts yet. Weights come from the scheme of the round's unit and year. No actor: this is
    the aggregate the results use; pages showing it to the ratee go through ``my_result``.
    """
    row = session.scalar(
        select(EvaluationRound)
        .join(EvaluationAssignment, EvaluationAssignment.round_id == EvaluationRound.id)
        .where(EvaluationRound.period == period, EvaluationAssignment.ratee_id == person_id)
        .order_by(EvaluationRound.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    scheme = scheme_for(session, row.unit_id, year_of(period))
    means, counts = _means(session, row.id, person_id)
    score, by_group, by_dimension, missing = combine(scheme, means)
    if score is None:
        return None
    total = session.scalar(
        select(func.count())
        .select_from(EvaluationAssignment)
        .where(EvaluationAssignment.round_id == row.id, EvaluationAssignment.ratee_id == person_id)
    )
    return EvaluationResult(
        score=score,
        by_group=by_group,
        by_dimension=by_dimension,
        raters_done=sum(counts.values()),
        raters_total=int(total or 0),
        round_id=row.id,
        period=period,
        missing_groups=missing,
        raters_by_group={g: counts.get(g, 0) for g in RATER_GROUPS},
        round_closed=row.status is RoundStatus.closed,
    )
