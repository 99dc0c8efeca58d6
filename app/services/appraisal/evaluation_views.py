"""What people see of an evaluation round: completion for the unit, the aggregate result for the ratee.

Anonymity (综合测评 must be anonymous to the person rated):

- the unit's administrator, its principal and the office see per rater only how many ratees they
  have and whether they submitted (``completion``) — never a score;
- the ratee sees their own result (``my_result``) only once the round is closed, so an aggregate
  cannot be watched changing as colleagues submit one by one; they see the score and the
  per-dimension means over all groups; the leader and peer groups separately only when each of
  them has at least ``MIN_GROUP_SIZE`` raters (otherwise the two stay merged, and the page says
  so); with fewer than ``MIN_GROUP_SIZE`` raters besides themself not even the dimensions, and
  comments only then without names, groups or order of arrival;
- individual ratings are read only by their rater (``evaluation_flow.rater_sheet``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import EvaluationAssignment, EvaluationRating, EvaluationRound, OrgUnit, Person, Role, RoundStatus
from app.services import notifications
from app.services.actor import Actor
from app.services.appraisal.common import local_today
from app.services.appraisal.evaluation import MIN_GROUP_SIZE, EvaluationResult, evaluation_score, get_round
from app.services.appraisal.scheme import DIMENSIONS
from app.services.errors import T_, Conflict, Forbidden

# --- completion --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaterProgress:
    person_id: int
    name: str
    section: str
    ratees: int
    submitted: int
    submitted_at: datetime | None  # when the sheet was submitted

    @property
    def done(self) -> bool:
        return self.submitted == self.ratees


@dataclass
class Completion:
    round: EvaluationRound
    raters: list[RaterProgress] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for r in self.raters if r.done)

    @property
    def pending(self) -> list[RaterProgress]:
        return [r for r in self.raters if not r.done]

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / len(self.raters), 1) if self.raters else 0.0


def completion(session: Session, actor: Actor, round_id: int) -> Completion:
    """Per rater: how many ratees, how many submitted — never any score (see the module docstring)."""
    row = get_round(session, round_id)
    if not (actor.is_district_wide or row.unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)):
        raise Forbidden(T_("Only the unit's administrator, its principal or the performance office see completion."))
    section = OrgUnit.__table__.alias("section")
    stmt = (
        select(
            Person.id,
            Person.name,
            section.c.name,
            func.count(EvaluationAssignment.id),
            func.count(EvaluationAssignment.submitted_at),
            func.max(EvaluationAssignment.submitted_at),
        )
        .join(Person, Person.id == EvaluationAssignment.rater_id)
        .outerjoin(section, section.c.id == Person.section_id)
        .where(EvaluationAssignment.round_id == row.id)
        .group_by(Person.id, Person.name, section.c.name)
        .order_by(section.c.name, Person.name, Person.id)
    )
    out = Completion(row)
    for pid, name, section_name, total, submitted, last in session.execute(stmt):
        out.raters.append(RaterProgress(pid, name, section_name or "", total, submitted, last if submitted else None))
    return out


def remind_pending(session: Session, actor: Actor, round_id: int, *, link: str | None = None) -> int:
    """Remind every rater who has not submitted yet (at most once a day each); returns how many."""
    state = completion(session, actor, round_id)
    if state.round.status is not RoundStatus.open:
        raise Conflict(
            T_("The evaluation round %(period)s is closed; nobody needs reminding.", period=state.round.period)
        )
    row = state.round
    deadline = f"，截止日期 {row.closes_on.isoformat()}" if row.closes_on else ""
    day = local_today().isoformat()
    return notifications.notify(
        session,
        [r.person_id for r in state.pending],
        "reminder",
        f"综合测评（{row.period}）：请完成对同事的评分{deadline}。",
        link=link,
        data={"period": row.period, "round_id": row.id},
        dedupe_key=lambda pid: f"evaluation_remind:{row.id}:{pid}:{day}",
    )


# --- the ratee's own result ------------------------------------------------------------------------


@dataclass
class GroupView:
    key: str  # leader | peer | self | others (leaders and colleagues merged)
    raters: int
    score: Decimal | None = None
    by_dimension: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class MyResult:
    period: str
    round: EvaluationRound
    result: EvaluationResult | None  # None: nobody's rating counted
    groups: list[GroupView] = field(default_factory=list)
    merged: bool = False  # leaders' and colleagues' ratings shown merged only
    details_withheld: bool = False  # fewer than MIN_GROUP_SIZE raters besides the person themself
    comments: list[tuple[str, str]] = field(default_factory=list)  # (dimension, text), sorted, anonymous
    min_group_size: int = MIN_GROUP_SIZE


def _round_of(session: Session, person_id: int, period: str) -> EvaluationRound | None:
    return session.scalar(
        select(EvaluationRound)
        .join(EvaluationAssignment, EvaluationAssignment.round_id == EvaluationRound.id)
        .where(EvaluationRound.period == period, EvaluationAssignment.ratee_id == person_id)
        .order_by(EvaluationRound.id.desc())
        .limit(1)
    )


def my_rounds(session: Session, actor: Actor) -> list[EvaluationRound]:
    """The rounds the actor was rated in, newest first."""
    if actor.person_id is None:
        return []
    return list(
        session.scalars(
            select(EvaluationRound)
            .join(EvaluationAssignment, EvaluationAssignment.round_id == EvaluationRound.id)
            .where(EvaluationAssignment.ratee_id == actor.person_id)
            .distinct()
            .order_by(EvaluationRound.period.desc())
        )
    )


def my_result(session: Session, actor: Actor, period: str) -> MyResult:
    """The actor's own evaluation result of ``period``: aggregates only, after the round closed."""
    person_id = actor.person_id
    row = _round_of(session, person_id, period) if person_id is not None else None
    if person_id is None or row is None:
        raise Forbidden(T_("You were not rated in an evaluation round of %(period)s.", period=period))
    if row.status is not RoundStatus.closed:
        raise Conflict(
            T_("The evaluation round %(period)s is still open; your result is shown once it is closed.", period=period)
        )
    result = evaluation_score(session, person_id, period)
    out = MyResult(period, row, result)
    if result is None:
        return out
    counts = result.raters_by_group
    others = counts["leader"] + counts["peer"]
    if counts["self"]:
        out.groups.append(GroupView("self", counts["self"], result.by_group["self"], _own(session, row.id, person_id)))
    present = [g for g in ("leader", "peer") if counts[g]]
    if others < MIN_GROUP_SIZE:
        out.details_withheld = True
    elif all(counts[g] >= MIN_GROUP_SIZE for g in present):
        means = _group_means(session, row.id, person_id)
        for g in present:
            out.groups.append(GroupView(g, counts[g], result.by_group[g], means.get(g, {})))
    else:
        out.merged = True
        out.groups.append(GroupView("others", others))
    if not out.details_withheld:
        out.comments = _comments(session, row.id, person_id)
    out.result = _withhold(result, out)
    return out


def _withhold(result: EvaluationResult, view: MyResult) -> EvaluationResult:
    """The aggregate without what the view withholds, so no page or API can hand it out by mistake.

    With few raters the weighted means per dimension give a lone leader's or colleague's ratings
    away (the ratee knows their own); a group shown merged keeps its own score to itself.
    """
    shown = {g.key for g in view.groups}
    by_group = {g: (v if g in shown else None) for g, v in result.by_group.items()}
    by_dimension = dict.fromkeys(result.by_dimension) if view.details_withheld else result.by_dimension
    return replace(result, by_group=by_group, by_dimension=by_dimension)


def _submitted(round_id: int, person_id: int) -> list[Any]:
    return [
        EvaluationAssignment.round_id == round_id,
        EvaluationAssignment.ratee_id == person_id,
        EvaluationAssignment.submitted_at.is_not(None),
    ]


def _group_means(session: Session, round_id: int, person_id: int) -> dict[str, dict[str, Decimal]]:
    rows = session.execute(
        select(EvaluationAssignment.group, EvaluationRating.dimension, func.avg(EvaluationRating.score))
        .join(EvaluationRating, EvaluationRating.assignment_id == EvaluationAssignment.id)
        .where(*_submitted(round_id, person_id))
        .group_by(EvaluationAssignment.group, EvaluationRating.dimension)
    )
    out: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for group, dimension, mean in rows:
        out[str(group)][dimension] = Decimal(str(mean)).quantize(Decimal("0.01"))
    return out


def _own(session: Session, round_id: int, person_id: int) -> dict[str, Decimal]:
    """The person's rating of themself (their own ratings: no anonymity concern)."""
    return _group_means(session, round_id, person_id).get("self", {})


def _comments(session: Session, round_id: int, person_id: int) -> list[tuple[str, str]]:
    """Others' comments, sorted by dimension and text so that neither rater nor arrival order shows."""
    rows = session.execute(
        select(EvaluationRating.dimension, EvaluationRating.comment)
        .join(EvaluationAssignment, EvaluationAssignment.id == EvaluationRating.assignment_id)
        .where(
            *_submitted(round_id, person_id),
            EvaluationAssignment.rater_id != person_id,
            EvaluationRating.comment.is_not(None),
        )
    )
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    return sorted(((d, c) for d, c in rows if c), key=lambda dc: (order.get(dc[0], 9), dc[1]))
