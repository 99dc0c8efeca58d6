"""Confirming grades within the top-grade quota (好 per quarter, 优秀 per year).

The scheme caps the share of a unit's people who may hold the top grade: ``period_top_share`` for
好 in a quarter (deployed systems use 40%), ``annual_top_share`` for 优秀 in a year (20%). The cap
is ``floor(share × number of people graded)``: rounding down, because a quota is a ceiling; a unit
of four people with a 20% share therefore has no 优秀 place (the scheme may set a larger share).

When more people reach the top grade than the cap allows, ``confirm_grades`` refuses (Conflict)
and hands back the candidates — everyone whose grade is the top one, highest total first, with
ties marked and a suggestion (those whose total is strictly above the first total outside the
cap). The unit's principal or administrator (or the office) then chooses who keeps the top grade;
the others drop one grade (好 → 较好, 优秀 → 合格). The choice is recorded on each candidate's result
(rule ``quota_choice``, with the cap and who chose) and in the audit trail. Confirmation freezes
the results.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import EvaluationRound, PeriodResult, Person, ResultKind, ResultStatus, RoundStatus
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal.evaluation import round_period
from app.services.appraisal.results import check_may_confirm, detail, get_unit, period_results
from app.services.appraisal.scheme import ANNUAL_GRADES, PERIOD_GRADES, Scheme, scheme_for
from app.services.errors import T_, Conflict, Invalid, NotFound
from app.services.periods import period_kind


@dataclass(frozen=True)
class Quota:
    top_grade: str
    next_grade: str
    share: Decimal
    graded: int
    cap: int
    holders: int  # people whose grade (after the rules) is the top one

    @property
    def exceeded(self) -> bool:
        return self.holders > self.cap


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    total: Decimal
    rank: int
    tie: bool  # shares the total with another candidate
    suggested: bool  # clearly within the cap by total

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "name": self.name,
            "total": str(self.total),
            "rank": self.rank,
            "tie": self.tie,
            "suggested": self.suggested,
        }


def _kind(period: str) -> ResultKind:
    kind = period_kind(period) if isinstance(period, str) else None
    if kind == "quarter":
        return ResultKind.quarter
    if kind == "year":
        return ResultKind.year
    raise Invalid(T_("Give a quarter (2026-Q4) or a year (2026)."), {"period": T_("A quarter or a year.")})


def grades_of(kind: ResultKind) -> tuple[str, ...]:
    return PERIOD_GRADES if kind is ResultKind.quarter else ANNUAL_GRADES


def quota(scheme: Scheme, kind: ResultKind, rows: list[PeriodResult]) -> Quota:
    grades = grades_of(kind)
    share = scheme.period_top_share if kind is ResultKind.quarter else scheme.annual_top_share
    cap = int((share * len(rows)).to_integral_value(rounding=ROUND_FLOOR))
    holders = sum(1 for r in rows if r.grade == grades[0])
    return Quota(grades[0], grades[1], share, len(rows), cap, holders)


def candidates(session: Session, rows: list[PeriodResult], q: Quota) -> list[Candidate]:
    """Everyone holding the top grade, highest total first; ties and the suggested keepers marked."""
    top = sorted((r for r in rows if r.grade == q.top_grade), key=lambda r: (-r.total, r.person_id))
    counts = Counter(r.total for r in top)
    boundary = top[q.cap].total if q.cap < len(top) else None
    out = []
    for rank, row in enumerate(top, start=1):
        person = session.get(Person, row.person_id)
        out.append(
            Candidate(
                person_id=row.person_id,
                name=person.name if person else str(row.person_id),
                total=row.total,
                rank=rank,
                tie=counts[row.total] > 1,
                suggested=boundary is None or row.total > boundary,
            )
        )
    return out


def grading_state(session: Session, unit_id: int, period: str) -> tuple[Quota, list[Candidate]]:
    """The quota of the unit's period and, when it is exceeded, the candidates (for the pages)."""
    kind = _kind(period)
    rows = period_results(session, unit_id, period)
    scheme = scheme_for(session, unit_id, int(period[:4]))
    q = quota(scheme, kind, rows)
    return q, candidates(session, rows, q) if q.exceeded else []


def _over_quota(q: Quota, found: list[Candidate], period: str) -> Conflict:
    return Conflict(
        T_(
            "%(holders)s people reach the top grade but the quota allows %(cap)s (%(share)s of %(graded)s,"
            " rounded down): choose who keeps it; the others drop one grade.",
            holders=q.holders,
            cap=q.cap,
            share=q.share,
            graded=q.graded,
        ),
        period=period,
        top_grade=q.top_grade,
        cap=q.cap,
        candidates=[c.as_dict() for c in found],
    )


def _parse_choices(choices: dict[Any, Any], q: Quota, found: list[Candidate]) -> set[int]:
    """The candidates who keep the top grade; refuses unknown people, grades, and too many keepers."""
    ids = {c.person_id for c in found}
    keep: set[int] = set()
    errors: dict[str, str] = {}
    for raw_id, grade in choices.items():
        try:
            person_id = int(raw_id)
        except (TypeError, ValueError):
            errors[str(raw_id)] = T_("Not a person.")
            continue
        if person_id not in ids:
            errors[str(raw_id)] = T_("This person is not a candidate for the top grade.")
        elif grade not in (q.top_grade, q.next_grade):
            errors[str(raw_id)] = T_(
                "Choose %(top)s (keeps the top grade) or %(next)s (drops one grade).",
                top=q.top_grade,
                next=q.next_grade,
            )
        elif grade == q.top_grade:
            keep.add(person_id)
    if errors:
        raise Invalid(T_("The choice of who keeps the top grade has errors."), errors)
    return keep


def _check_evaluation_closed(session: Session, unit_id: int, scheme: Scheme, quarter: str) -> None:
    """A quarter's grades rest on its evaluation score: confirm only once the round is final."""
    key = round_period(scheme, quarter)
    if key is None:
        return
    status = session.scalar(
        select(EvaluationRound.status).where(EvaluationRound.unit_id == unit_id, EvaluationRound.period == key)
    )
    if status is RoundStatus.open:
        raise Conflict(
            T_(
                "The evaluation round %(period)s is still open, so its scores may still change: close it, "
                "compute the results again, then confirm.",
                period=key,
            )
        )


def confirm_grades(
    session: Session, actor: Actor, unit_id: int, period: str, choices: dict[Any, Any] | None = None
) -> list[PeriodResult]:
    """Confirm the unit's grades of ``period`` (quarter or year), enforcing the top-grade quota.

    ``choices`` maps candidates' person ids to the top grade (keeps it) or the next one; candidates
    not named drop one grade. Without choices, or with more keepers than the cap, grading over the
    quota is refused with the candidate list (``Conflict.details["candidates"]``).
    """
    kind = _kind(period)
    get_unit(session, unit_id)
    check_may_confirm(actor, unit_id)
    rows = period_results(session, unit_id, period)
    if not rows:
        raise NotFound(T_("There are no results of %(period)s to confirm: compute them first.", period=period))
    if any(r.status is ResultStatus.confirmed for r in rows):
        raise Conflict(T_("The results of %(period)s are already confirmed.", period=period))
    scheme = scheme_for(session, unit_id, int(period[:4]))
    if kind is ResultKind.quarter:
        _check_evaluation_closed(session, unit_id, scheme, period)
    q = quota(scheme, kind, rows)
    decision: dict[str, Any] | None = None
    if q.exceeded:
        found = candidates(session, rows, q)
        keep = _parse_choices(choices or {}, q, found) if choices else None
        if keep is None or len(keep) > q.cap:
            raise _over_quota(q, found, period)
        when = utcnow().isoformat()
        for row in rows:
            if row.grade != q.top_grade:
                continue
            kept = row.person_id in keep
            new_grade = q.top_grade if kept else q.next_grade
            step: dict[str, Any] = {
                "rule": "quota_choice",
                "kept": kept,
                "from": q.top_grade,
                "grade": new_grade,
                "cap": q.cap,
                "share": str(q.share),
                "graded": q.graded,
                "candidates": len(found),
                "by": actor.name,
                "at": when,
            }
            row.rule_detail = json.dumps([*detail(row), step], ensure_ascii=False)
            row.rule = "quota_choice"
            row.grade = new_grade
        decision = {
            "cap": q.cap,
            "kept": sorted(keep),
            "dropped": sorted(c.person_id for c in found if c.person_id not in keep),
        }
    now = utcnow()
    for row in rows:
        row.status = ResultStatus.confirmed
        row.confirmed_at, row.confirmed_by_id = now, actor.person_id
    session.flush()
    if decision is not None:
        audit.record(
            session, actor, "results.quota_choice", "org_unit", unit_id, details={"period": period, **decision}
        )
    audit.record(
        session,
        actor,
        "results.confirm",
        "org_unit",
        unit_id,
        details={"period": period, "people": len(rows), "top": sum(1 for r in rows if r.grade == q.top_grade)},
    )
    return rows


__all__ = ["Candidate", "Quota", "candidates", "confirm_grades", "grading_state", "quota"]
