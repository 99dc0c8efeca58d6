"""Process analytics: how long each step of a process version takes, where work waits, what is overdue.

Read from the ``human_task`` mirror (one row per user task that became ready: ``created_at`` →
``completed_at``), never from serialized instances. Per step (BPMN task id) of one definition
version: completed count, median and 90th percentile of the duration, how many wait now and
for how long, how many are overdue; and overdue counts per unit. Durations are fetched as pairs
of timestamps of one definition and reduced here (SQLite has no percentile function); the
counts are grouped in SQL.

The heat map colours a step by how long it takes, not by whether something is late: its median
as a share of the slowest step's median, in quarter bands (``heat_band``). Overdue work is a
separate fact shown beside the step, so a quick step with one forgotten task does not look like
the bottleneck, and the bottleneck does not hide behind a sea of red.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import HumanTask, OrgUnit, ProcessDefinition, ProcessInstance, TaskStatus
from app.models.base import utcnow


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0–1) with linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# Upper bounds (exclusive) of the heat bands, as shares of the slowest step's median; the last band is open.
HEAT_BANDS: tuple[float, ...] = (0.25, 0.5, 0.75)


def heat_band(median_hours: float | None, slowest_hours: float | None) -> int | None:
    """0 (quick) … 3 (among the slowest) for a step whose median is ``median_hours``; ``None`` without data.

    Relative to the process's slowest step so every process uses the whole scale: the slowest
    step is always band 3, a step taking under a quarter of its time band 0. When every step's
    median is zero (all done at once) they share band 0.
    """
    if median_hours is None or slowest_hours is None:
        return None
    if slowest_hours <= 0:
        return 0
    share = median_hours / slowest_hours
    return sum(1 for bound in HEAT_BANDS if share >= bound)


@dataclass(frozen=True)
class StepFigures:
    step_id: str
    step_name: str
    completed: int
    median_hours: float | None
    p90_hours: float | None
    waiting: int
    waiting_median_hours: float | None
    waiting_max_hours: float | None
    overdue: int
    heat: int | None = None  # ``heat_band`` of the median against the slowest step's
    slowest_share: float | None = None  # median ÷ slowest step's median, 0–1

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)


def step_figures(
    session: Session, definition_id: int, *, unit_id: int | None = None, now: datetime | None = None
) -> list[StepFigures]:
    """Per step of one definition version (optionally only tasks of one unit), in order of first appearance."""
    now = now or utcnow()
    stmt = (
        select(
            HumanTask.step_id,
            HumanTask.step_name,
            HumanTask.status,
            HumanTask.created_at,
            HumanTask.completed_at,
            HumanTask.due_at,
        )
        .join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.definition_id == definition_id, HumanTask.status != TaskStatus.cancelled)
        .order_by(HumanTask.id)
    )
    if unit_id is not None:
        stmt = stmt.where(HumanTask.unit_id == unit_id)
    done: dict[str, list[float]] = {}
    waiting: dict[str, list[float]] = {}
    overdue: dict[str, int] = {}
    names: dict[str, str] = {}
    for step_id, name, status, created, completed, due in session.execute(stmt.execution_options(yield_per=2000)):
        names.setdefault(step_id, name)
        if status is TaskStatus.completed and completed is not None:
            done.setdefault(step_id, []).append((completed - created).total_seconds())
        elif status is TaskStatus.ready:
            waiting.setdefault(step_id, []).append((now - created).total_seconds())
            if due is not None and due < now:
                overdue[step_id] = overdue.get(step_id, 0) + 1
    out = []
    for step_id, name in names.items():
        d, w = sorted(done.get(step_id, [])), sorted(waiting.get(step_id, []))
        med, p90, wmed = percentile(d, 0.5), percentile(d, 0.9), percentile(w, 0.5)
        out.append(
            StepFigures(
                step_id=step_id,
                step_name=name,
                completed=len(d),
                median_hours=_hours(med) if med is not None else None,
                p90_hours=_hours(p90) if p90 is not None else None,
                waiting=len(w),
                waiting_median_hours=_hours(wmed) if wmed is not None else None,
                waiting_max_hours=_hours(w[-1]) if w else None,
                overdue=overdue.get(step_id, 0),
            )
        )
    medians = [f.median_hours for f in out if f.median_hours is not None]
    slowest = max(medians) if medians else None
    return [
        replace(
            f,
            heat=heat_band(f.median_hours, slowest),
            slowest_share=round(f.median_hours / slowest, 2) if f.median_hours is not None and slowest else None,
        )
        for f in out
    ]


@dataclass(frozen=True)
class UnitOverdue:
    unit_id: int | None
    unit_name: str
    step_id: str
    step_name: str
    overdue: int


def overdue_by_unit(
    session: Session, definition_id: int, *, unit_id: int | None = None, now: datetime | None = None
) -> list[UnitOverdue]:
    """Open tasks past their due time, per unit and step."""
    now = now or utcnow()
    stmt = (
        select(HumanTask.unit_id, OrgUnit.name, HumanTask.step_id, HumanTask.step_name, func.count(HumanTask.id))
        .join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        .outerjoin(OrgUnit, HumanTask.unit_id == OrgUnit.id)
        .where(
            ProcessInstance.definition_id == definition_id,
            HumanTask.status == TaskStatus.ready,
            HumanTask.due_at < now,
        )
        .group_by(HumanTask.unit_id, OrgUnit.name, HumanTask.step_id, HumanTask.step_name)
        .order_by(OrgUnit.name, HumanTask.step_id)
    )
    if unit_id is not None:
        stmt = stmt.where(HumanTask.unit_id == unit_id)
    return [UnitOverdue(u, name or "—", sid, sname, n) for u, name, sid, sname, n in session.execute(stmt)]


@dataclass(frozen=True)
class VersionRow:
    definition: ProcessDefinition
    instances: int
    tasks: int


def versions_with_work(session: Session, *, unit_id: int | None = None) -> list[VersionRow]:
    """Definition versions with at least one instance (of the unit's people, if given), newest first per process."""
    stmt = (
        select(ProcessDefinition, func.count(func.distinct(ProcessInstance.id)), func.count(HumanTask.id))
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .outerjoin(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .group_by(ProcessDefinition.id)
        .order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    )
    if unit_id is not None:
        stmt = stmt.where(HumanTask.unit_id == unit_id)
    return [VersionRow(d, i, t) for d, i, t in session.execute(stmt)]
