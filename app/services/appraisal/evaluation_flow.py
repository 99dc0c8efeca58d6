"""The rater's side of an evaluation round: the rating sheet, drafts, submission, the rating process.

One ``evaluation_rating`` process per rater and period (subject: the rater; its single user task
sits in the ``staff`` lane, which resolves to the subject, so it lands in the rater's own inbox).
The task's form ``evaluation_rating`` is a whole sheet — every ratee × 德能勤绩廉 — stored here by
the task handler, all at once; the workflow data only gets counts, never a score, because the
instance's data is visible to the rater's leaders and unit administrators.

Drafts: ``save_ratings(..., submit=False)`` stores what is filled in without completing anything;
submitting (the task completion, or ``submit=True`` from the task handler) needs every dimension of
every ratee and stamps ``submitted_at``; submitted sheets and closed rounds no longer change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    EvaluationAssignment,
    EvaluationRound,
    HumanTask,
    OrgKind,
    OrgUnit,
    Person,
    ProcessInstance,
    RoundStatus,
)
from app.models import EvaluationRating as Rating
from app.models.base import utcnow
from app.services.actor import SYSTEM, Actor
from app.services.appraisal.evaluation import PROCESS, year_of
from app.services.appraisal.scheme import DIMENSIONS, scheme_for
from app.services.errors import T_, Conflict, Forbidden, Invalid
from app.workflow import bulk_start, hooks, repository

DIMENSION_NAMES = {"de": "德", "neng": "能", "qin": "勤", "ji": "绩", "lian": "廉"}
COMMENT_MAX = 500
_TENTH = Decimal("0.1")


def start_rater_processes(session: Session, actor: Actor, row: EvaluationRound) -> tuple[int, int, int]:
    """Start the rating process of every rater of the round who has none for its period yet.

    Returns (opened, already open, raters). Exactly once per (rater, period) through the
    instance's unique key (``bulk_start``), also against concurrent openers.
    """
    rater_ids = list(
        session.scalars(
            select(EvaluationAssignment.rater_id)
            .where(EvaluationAssignment.round_id == row.id)
            .distinct()
            .order_by(EvaluationAssignment.rater_id)
        )
    )
    existing = set(
        session.scalars(
            select(ProcessInstance.subject_id).where(
                ProcessInstance.process_key == PROCESS,
                ProcessInstance.period == row.period,
                ProcessInstance.revision == 0,
                ProcessInstance.subject_id.in_(rater_ids),
            )
        )
    )
    new_ids = [pid for pid in rater_ids if pid not in existing]
    if not new_ids:
        return 0, len(existing), len(rater_ids)
    people = list(session.scalars(select(Person).options(selectinload(Person.section)).where(Person.id.in_(new_ids))))
    definition = repository.active_definition(session, PROCESS, row.unit_id)
    outcome = bulk_start.BulkStarter(session, actor, PROCESS, row.period).start(
        people, {p.id: definition for p in people}
    )
    session.flush()
    return outcome.opened, len(existing) + outcome.already_open, len(rater_ids)


# --- the sheet ------------------------------------------------------------------------------------


@dataclass
class SheetRow:
    assignment_id: int
    round_id: int
    ratee_id: int
    ratee_name: str
    section: str
    group: str
    scores: dict[str, Decimal | None] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    submitted_at: datetime | None = None


@dataclass
class Sheet:
    rater_id: int
    period: str
    rows: list[SheetRow]
    editable: bool  # an open round and not yet submitted
    closes_on: Any = None

    @property
    def submitted(self) -> bool:
        return bool(self.rows) and all(r.submitted_at is not None for r in self.rows)


def _assignments(session: Session, rater_id: int, period: str) -> list[EvaluationAssignment]:
    return list(
        session.scalars(
            select(EvaluationAssignment)
            .join(EvaluationRound, EvaluationRound.id == EvaluationAssignment.round_id)
            .options(
                selectinload(EvaluationAssignment.ratings),
                selectinload(EvaluationAssignment.ratee).selectinload(Person.section),
                selectinload(EvaluationAssignment.round),
            )
            .where(EvaluationAssignment.rater_id == rater_id, EvaluationRound.period == period)
            .order_by(EvaluationAssignment.round_id, EvaluationAssignment.ratee_id)
        )
    )


GROUP_ORDER = {"self": 0, "leader": 1, "peer": 2}


def rater_sheet(session: Session, actor: Actor, rater_id: int, period: str) -> Sheet:
    """The rater's ratees with the rater's own (draft or submitted) ratings; only for the rater."""
    if actor.person_id is None or actor.person_id != rater_id:
        raise Forbidden(T_("Ratings are visible only to the person who gave them."))
    assignments = _assignments(session, rater_id, period)
    rows = []
    for a in sorted(assignments, key=lambda a: (GROUP_ORDER[str(a.group)], a.ratee.section_id or 0, a.ratee_id)):
        by_dim = {r.dimension: r for r in a.ratings}
        rows.append(
            SheetRow(
                assignment_id=a.id,
                round_id=a.round_id,
                ratee_id=a.ratee_id,
                ratee_name=a.ratee.name,
                section=a.ratee.section.name if a.ratee.section else "",
                group=str(a.group),
                scores={d: by_dim[d].score if d in by_dim else None for d in DIMENSIONS},
                comments={d: by_dim[d].comment or "" for d in DIMENSIONS if d in by_dim and by_dim[d].comment},
                submitted_at=a.submitted_at,
            )
        )
    editable = any(a.round.status is RoundStatus.open and a.submitted_at is None for a in assignments)
    closes = [a.round.closes_on for a in assignments if a.round.closes_on is not None]
    return Sheet(rater_id, period, rows, editable, min(closes) if closes else None)


def parse_score(raw: object) -> Decimal | None:
    """A score 0–100 with at most one decimal; ``None`` for blank; ``ValueError`` otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not value.is_finite() or value < 0 or value > 100 or value != value.quantize(_TENTH):
        raise ValueError(raw)
    return value.quantize(_TENTH)


def _entries(payload: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    """Payload ``{"ratings": [{"ratee_id": 5, "scores": {"de": 90, …}, "comments": {"de": "…"}}, …]}``."""
    raw = payload.get("ratings", [])
    if not isinstance(raw, list) or not all(isinstance(e, Mapping) for e in raw):
        raise Invalid(
            T_("Send the ratings as a list of {ratee_id, scores, comments} objects."),
            {"ratings": T_("Malformed ratings.")},
        )
    out: dict[int, Mapping[str, Any]] = {}
    for entry in raw:
        try:
            out[int(entry.get("ratee_id"))] = entry
        except (TypeError, ValueError):
            raise Invalid(
                T_("Each rating needs the ratee_id of the person rated."), {"ratings": T_("Missing ratee_id.")}
            ) from None
    return out


def save_ratings(session: Session, actor: Actor, period: str, payload: Mapping[str, Any], *, submit: bool) -> Sheet:
    """Store the actor's ratings of ``period`` (draft, or the final submission of the whole sheet).

    Every given score must be 0–100 with at most one decimal; on submission every dimension of
    every ratee is required, and a missing one is named by person and dimension. Nothing is
    written when anything is wrong.
    """
    if actor.person_id is None:
        raise Forbidden(T_("Ratings are visible only to the person who gave them."))
    assignments = [a for a in _assignments(session, actor.person_id, period) if a.round.status is RoundStatus.open]
    if not assignments:
        raise Conflict(T_("You have no open evaluation round to rate in for %(period)s.", period=period))
    if any(a.submitted_at is not None for a in assignments):
        raise Conflict(
            T_("You already submitted your ratings for %(period)s; they can no longer change.", period=period)
        )
    entries = _entries(payload)
    known = {a.ratee_id for a in assignments}
    errors: dict[str, str] = {}
    for ratee_id in sorted(set(entries) - known):
        errors[f"ratings.{ratee_id}"] = T_("You do not rate person %(id)s in this round.", id=ratee_id)
    parsed: dict[int, dict[str, tuple[Decimal, str | None]]] = {}
    for a in assignments:
        entry = entries.get(a.ratee_id, {})
        scores = entry.get("scores") or {}
        comments = entry.get("comments") or {}
        if not isinstance(scores, Mapping) or not isinstance(comments, Mapping):
            errors[f"ratings.{a.ratee_id}"] = T_("Malformed ratings.")
            continue
        values: dict[str, tuple[Decimal, str | None]] = {}
        for d in DIMENSIONS:
            key, name, dim = f"ratings.{a.ratee_id}.{d}", a.ratee.name, DIMENSION_NAMES[d]
            try:
                score = parse_score(scores.get(d))
            except ValueError:
                errors[key] = T_(
                    "%(name)s, %(dimension)s: enter a score from 0 to 100 with at most one decimal.",
                    name=name,
                    dimension=dim,
                )
                continue
            comment = str(comments.get(d) or "").strip() or None
            if comment is not None and len(comment) > COMMENT_MAX:
                errors[f"{key}.comment"] = T_(
                    "%(name)s, %(dimension)s: the comment is longer than %(max)s characters.",
                    name=name,
                    dimension=dim,
                    max=COMMENT_MAX,
                )
            if score is None:
                if submit:
                    errors[key] = T_("%(name)s, %(dimension)s: the score is missing.", name=name, dimension=dim)
                continue
            values[d] = (score, comment)
        parsed[a.id] = values
    if errors:
        first = next(iter(errors.values()))
        raise Invalid(T_("Some ratings need attention: %(first)s", first=first), errors)
    now = utcnow()
    for a in assignments:
        by_dim = {r.dimension: r for r in a.ratings}
        values = parsed.get(a.id, {})
        for d in DIMENSIONS:
            if d in values:
                score, comment = values[d]
                if d in by_dim:
                    by_dim[d].score, by_dim[d].comment = score, comment
                else:
                    a.ratings.append(Rating(dimension=d, score=score, comment=comment))
            elif d in by_dim:
                a.ratings.remove(by_dim[d])  # cleared in the draft
        if submit:
            a.submitted_at = now
    session.flush()
    return rater_sheet(session, actor, actor.person_id, period)


# --- task handler and context ------------------------------------------------------------------------


def handle_rating(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit the whole sheet; the workflow data gets counts only (its data is visible to overseers)."""
    if task.subject_id != actor.person_id:
        raise Forbidden(T_("Ratings are visible only to the person who gave them."))
    sheet = save_ratings(session, actor, task.period, payload, submit=True)
    return {"ratees": len(sheet.rows), "submitted": True}


def task_context(session: Session, task: HumanTask) -> dict[str, Any]:
    """Who the rater rates and the dimension weights — never scores (overseers may open the task)."""
    rows = [a for a in _assignments(session, task.subject_id or -1, task.period)]
    weights = {}
    if rows:
        scheme = scheme_for(session, rows[0].round.unit_id, year_of(task.period))
        weights = {d: float(scheme.dimension_weight(d)) for d in DIMENSIONS}
    return {
        "evaluation": {
            "period": task.period,
            "dimensions": list(DIMENSIONS),
            "dimension_weights": weights,
            "ratees": [
                {"ratee_id": a.ratee_id, "name": a.ratee.name, "group": str(a.group), "round_id": a.round_id}
                for a in rows
            ],
        }
    }


def register() -> None:
    hooks.register_task_handler("evaluation_rating", handle_rating, task_context)


# --- the quarterly job ---------------------------------------------------------------------------------


def open_due_rounds(
    session: Session,
    quarter: str,
    *,
    closes_on: date | None = None,
    max_peers: int = 0,
    checkpoint: Callable[[], None] | None = None,
) -> dict[str, int]:
    """The quarterly job's evaluation part: open the round due after ``quarter`` in every enabled unit.

    Units whose scheme (of the quarter's year) evaluates per quarter get the quarter's round; units
    that evaluate per year get the year's round after its Q4 and nothing after Q1–Q3. Opening is
    idempotent per (unit, period), so a rerun, a catch-up or a concurrent run opens nothing twice;
    ``checkpoint`` (the job's commit) runs after each unit, so a crash keeps the units done.
    """
    from app.services.appraisal.evaluation import open_round, round_period

    units = session.scalars(
        select(OrgUnit)
        .where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True))
        .order_by(OrgUnit.sort_order, OrgUnit.id)
    ).all()
    counts = {"rounds_opened": 0, "rounds_already_open": 0, "units_not_due": 0, "rating_processes": 0}
    for unit in units:
        period = round_period(scheme_for(session, unit.id, year_of(quarter)), quarter)
        if period is None:
            counts["units_not_due"] += 1
            continue
        outcome = open_round(session, SYSTEM, unit.id, period, closes_on, max_peers=max_peers)
        counts["rounds_opened" if outcome.created else "rounds_already_open"] += 1
        counts["rating_processes"] += outcome.processes_opened
        if checkpoint is not None:
            checkpoint()
    return counts
