"""Cycles of processes whose subject is a unit (the monthly analysis report): one instance per unit.

``app.services.cycles.open_cycle`` and ``cycle_status`` hand a process over to this module when
``periods.subject_kind`` says its instances are about a unit (``PROCESS_SUBJECTS``), after they
have checked the period, the actor's right to open and that the unit and the process exist. The
rules are those of person cycles, one level up:

- a cycle opens for every *enabled* unit; a unit that is not enabled is skipped (reason
  ``unit_not_enabled``) unless it is opened explicitly on its own (the back-fill);
- opening is idempotent: the instance is unique per (process, unit, period, revision), so a rerun,
  a second scheduler process or a unit opened by hand in between opens nothing twice;
- the domain listener of the process does the rest (``monthly_analysis`` creates its report row),
  so a unit opened here, through the report pages, the API or the scheduler ends up the same.

Status is one row per unit: whether its instance is open, where it waits, and its overdue tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, InstanceStatus, OrgKind, OrgUnit, ProcessInstance, TaskStatus
from app.services import uow_cache
from app.services.actor import Actor
from app.services.cycles import SKIP_UNIT_NOT_ENABLED, OpenSummary, Progress, UnitCycleStatus
from app.workflow import runtime


def open_units(
    session: Session,
    actor: Actor,
    process_key: str,
    period: str,
    unit_id: int | None = None,
    progress: Progress | None = None,
    *,
    checkpoint: Callable[[], None] | None = None,
    chunk_size: int = 200,
) -> OpenSummary:
    """Open ``process_key`` for ``period`` once for every enabled unit (or for ``unit_id``, enabled or not).

    Called by ``cycles.open_cycle``, which has validated the period and checked the actor; the
    generic start right is checked again per unit by ``runtime.start_process``. ``progress(done,
    total)`` counts units; ``checkpoint()`` runs after each chunk of ``chunk_size`` units. Only flushes.
    """
    summary = OpenSummary(process_key, period, unit_id)
    stmt = select(OrgUnit.id, OrgUnit.enabled).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.id)
    if unit_id is not None:
        stmt = stmt.where(OrgUnit.id == unit_id)
    eligible: list[int] = []
    for uid, enabled in session.execute(stmt):
        if unit_id is None and not enabled:
            summary.skipped[SKIP_UNIT_NOT_ENABLED] = summary.skipped.get(SKIP_UNIT_NOT_ENABLED, 0) + 1
        else:
            eligible.append(uid)
    step, done = max(chunk_size, 1), 0
    with uow_cache.scope(session):  # the office's holders are read once for all units' review steps
        for offset in range(0, len(eligible), step):
            ids = eligible[offset : offset + step]
            existing = set(
                session.scalars(
                    select(ProcessInstance.subject_unit_id).where(
                        ProcessInstance.process_key == process_key,
                        ProcessInstance.period == period,
                        ProcessInstance.revision == 0,
                        ProcessInstance.subject_unit_id.in_(ids),
                    )
                )
            )
            for uid in ids:
                if uid in existing:
                    summary.already_open += 1
                else:
                    # known_absent: found above; a concurrent opener still loses on the unique key
                    result = runtime.start_process(
                        session, actor, process_key, period, subject_unit_id=uid, known_absent=True
                    )
                    summary.opened += int(result.created)
                    summary.already_open += int(not result.created)
                done += 1
                if progress is not None:
                    progress(done, len(eligible))
            session.flush()
            if checkpoint is not None:
                checkpoint()
    return summary


@dataclass(frozen=True)
class UnitSubjectStatus(UnitCycleStatus):
    """A unit's row for a unit-subject process: its one instance, where it waits.

    The inherited counts read per subject, and the unit is the only subject: ``people`` is 1,
    ``opened``/``running``/``completed`` are 0 or 1, so totals and percentages add up as for
    person cycles. ``waiting`` names the steps whose tasks are open (empty when not opened or done).
    """

    instance_id: int | None = None
    status: InstanceStatus | None = None
    opened_at: datetime | None = None
    waiting: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``not_opened``, else the instance's status (``running``, ``completed``, ``cancelled``)."""
        return "not_opened" if self.status is None else self.status.value


def unit_status(session: Session, period: str, process_key: str, now: datetime) -> list[UnitSubjectStatus]:
    """Per unit: the instance of ``process_key`` for ``period`` (if opened), its waiting steps, overdue tasks."""
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
    ).all()
    instances = {
        row.subject_unit_id: row
        for row in session.execute(
            select(
                ProcessInstance.id,
                ProcessInstance.subject_unit_id,
                ProcessInstance.status,
                ProcessInstance.created_at,
            ).where(
                ProcessInstance.process_key == process_key,
                ProcessInstance.period == period,
                ProcessInstance.revision == 0,
                ProcessInstance.subject_unit_id.is_not(None),
            )
        )
    }
    waiting: dict[int, list[str]] = {}
    overdue: dict[int, int] = {}
    open_tasks = session.execute(
        select(HumanTask.instance_id, HumanTask.step_name, HumanTask.due_at)
        .where(
            HumanTask.instance_id.in_([row.id for row in instances.values()] or [-1]),
            HumanTask.status == TaskStatus.ready,
        )
        .order_by(HumanTask.id)
    )
    for iid, step_name, due_at in open_tasks:
        waiting.setdefault(iid, []).append(step_name)
        if due_at is not None and due_at < now:
            overdue[iid] = overdue.get(iid, 0) + 1
    out = []
    for unit in units:
        row = instances.get(unit.id)
        if row is None:
            not_opened = UnitSubjectStatus(
                unit_id=unit.id,
                name=unit.name,
                enabled=unit.enabled,
                people=1,
                opened=0,
                running=0,
                completed=0,
                overdue=0,
            )
            out.append(not_opened)
            continue
        out.append(
            UnitSubjectStatus(
                unit_id=unit.id,
                name=unit.name,
                enabled=unit.enabled,
                people=1,
                opened=1,
                running=int(row.status is InstanceStatus.running),
                completed=int(row.status is InstanceStatus.completed),
                overdue=overdue.get(row.id, 0),
                instance_id=row.id,
                status=row.status,
                opened_at=row.created_at,
                waiting=tuple(dict.fromkeys(waiting.get(row.id, []))),
            )
        )
    return out
