"""Appraisal cycles: opening a process for every person of the enabled units, and how far each unit got.

Opening is idempotent by (process, subject, period) — ``start_process`` returns the instance
that exists — so a rerun, a second scheduler process or the CLI after the scheduler creates
nothing twice. Large openings are cut into chunks; after each chunk the caller's ``checkpoint``
(usually a commit) runs, so a run that crashed half-way leaves a consistent prefix and the next
run opens the rest.

Pilot rollout (DOMAIN.md: units join in phases): a cycle opens only for *enabled* units.
Enabling a unit mid-period does not back-fill the period; opening it explicitly for that one
unit (``unit_id``, the CLI's ``--unit``, the office page's "open for this unit") does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from app.models import (
    HumanTask,
    InstanceStatus,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessDefinition,
    ProcessInstance,
    Role,
    TaskStatus,
)
from app.models.base import utcnow
from app.services import uow_cache
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, NotFound
from app.services.periods import check_generic_start, check_period, subject_kind
from app.workflow import bulk_start, repository

# Why a person got no instance; the CLI and the job run's counts report them.
SKIP_LEFT = "left"
SKIP_NO_SECTION = "no_section"
SKIP_UNIT_NOT_ENABLED = "unit_not_enabled"

Progress = Callable[[int, int], None]  # (people done, people to do)


@dataclass
class OpenSummary:
    """What an opening did: instances opened, found already open, and people skipped by reason."""

    process_key: str
    period: str
    unit_id: int | None = None
    opened: int = 0
    already_open: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def considered(self) -> int:
        return self.opened + self.already_open + sum(self.skipped.values())

    def as_counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"period": self.period, "opened": self.opened, "already_open": self.already_open}
        out.update({f"skipped_{reason}": n for reason, n in sorted(self.skipped.items())})
        return out


def _check_may_open(actor: Actor, unit_id: int | None) -> None:
    if actor.is_district_wide:
        return
    if unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_admin):
        return
    raise Forbidden(
        T_("Only the performance office opens cycles for the district; a unit administrator for their unit.")
    )


def _people_in_scope(session: Session, unit_id: int | None) -> list[tuple[int, PersonStatus, int | None, bool]]:
    """(person id, status, unit id, unit enabled) of everyone in scope, ordered by id."""
    section, unit = aliased(OrgUnit), aliased(OrgUnit)
    stmt = (
        select(Person.id, Person.status, unit.id, unit.enabled)
        .outerjoin(section, Person.section_id == section.id)
        .outerjoin(unit, and_(unit.id == section.parent_id, unit.kind == OrgKind.unit))
        .order_by(Person.id)
    )
    if unit_id is not None:
        stmt = stmt.where(unit.id == unit_id)
    return [(r[0], r[1], r[2], bool(r[3])) for r in session.execute(stmt)]


def open_cycle(
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
    """Open ``process_key`` for ``period`` for every active person of the enabled units.

    With ``unit_id`` only that unit's people are opened, *whether or not the unit is enabled*
    (an explicit back-fill). ``progress(done, total)`` is called after each person;
    ``checkpoint()`` after each chunk of ``chunk_size`` people (the scheduler and the CLI commit
    there; without it everything stays in the caller's transaction). Only flushes.
    A process whose instances are about a unit (``periods.PROCESS_SUBJECTS``) opens once per
    unit instead, with the same rules (``cycles_units.open_units``).
    """
    period = check_period(process_key, period)
    _check_may_open(actor, unit_id)
    if unit_id is not None:
        unit = session.get(OrgUnit, unit_id)
        if unit is None or unit.kind is not OrgKind.unit:
            raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    repository.active_definition(session, process_key)  # an unknown process fails before any work
    check_generic_start(process_key)
    if subject_kind(process_key) == "unit":  # one instance per unit (the monthly analysis report)
        from app.services import cycles_units  # imports this module's summary types

        return cycles_units.open_units(
            session, actor, process_key, period, unit_id, progress, checkpoint=checkpoint, chunk_size=chunk_size
        )
    summary = OpenSummary(process_key, period, unit_id)
    eligible: list[int] = []
    unit_of: dict[int, int] = {}
    for person_id, status, person_unit, enabled in _people_in_scope(session, unit_id):
        reason = None
        if status is not PersonStatus.active:
            reason = SKIP_LEFT
        elif person_unit is None:
            reason = SKIP_NO_SECTION
        elif unit_id is None and not enabled:
            reason = SKIP_UNIT_NOT_ENABLED
        if reason:
            summary.skipped[reason] = summary.skipped.get(reason, 0) + 1
        else:
            assert person_unit is not None  # else skipped as SKIP_NO_SECTION
            eligible.append(person_id)
            unit_of[person_id] = person_unit
    with uow_cache.scope(session):  # role holders and notification preferences are read once, not per person
        _open_chunks(session, actor, summary, eligible, unit_of, progress, checkpoint, chunk_size)
    return summary


def _open_chunks(
    session: Session,
    actor: Actor,
    summary: OpenSummary,
    eligible: list[int],
    unit_of: dict[int, int],
    progress: Progress | None,
    checkpoint: Callable[[], None] | None,
    chunk_size: int,
) -> None:
    """Start the instances chunk by chunk, each chunk with a few multi-row inserts (``bulk_start``).

    Per chunk, one query finds who already has an instance (they are not asked again) and the
    active definition is resolved once per unit — per chunk, so a version activated by another
    transaction between two checkpoints is used from the next chunk on. ``progress`` is told
    about each person once the chunk is written, before the checkpoint commits it.
    """
    process_key, period = summary.process_key, summary.period
    starter = bulk_start.BulkStarter(session, actor, process_key, period)
    total, done = len(eligible), 0
    for offset in range(0, total, max(chunk_size, 1)):
        ids = eligible[offset : offset + max(chunk_size, 1)]
        existing = set(
            session.scalars(
                select(ProcessInstance.subject_id).where(
                    ProcessInstance.process_key == process_key,
                    ProcessInstance.period == period,
                    ProcessInstance.revision == 0,
                    ProcessInstance.subject_id.in_(ids),
                )
            )
        )
        summary.already_open += len(existing)
        new_ids = [pid for pid in ids if pid not in existing]
        # one query loads the chunk's people and sections (their names, sections and units are needed)
        people = {
            p.id: p
            for p in session.scalars(select(Person).options(selectinload(Person.section)).where(Person.id.in_(new_ids)))
        }
        definitions: dict[int, ProcessDefinition] = {}
        by_unit: dict[int, ProcessDefinition] = {}
        for pid in new_ids:
            unit = unit_of[pid]
            if unit not in by_unit:
                by_unit[unit] = repository.active_definition(session, process_key, unit)
            definitions[pid] = by_unit[unit]
        outcome = starter.start([people[pid] for pid in new_ids], definitions)
        summary.opened += outcome.opened
        summary.already_open += outcome.already_open
        for _pid in ids:
            done += 1
            if progress is not None:
                progress(done, total)
        session.flush()
        if checkpoint is not None:
            checkpoint()


@dataclass(frozen=True)
class UnitCycleStatus:
    """One unit's row of the cycle status: people, instances opened/running/completed, overdue tasks."""

    unit_id: int
    name: str
    enabled: bool
    people: int
    opened: int
    running: int
    completed: int
    overdue: int

    @property
    def not_opened(self) -> int:
        return max(self.people - self.opened, 0)

    @property
    def completed_pct(self) -> float:
        return round(100.0 * self.completed / self.opened, 1) if self.opened else 0.0


def cycle_status(
    session: Session, period: str, process_key: str = "periodic_appraisal", now: datetime | None = None
) -> list[UnitCycleStatus]:
    """Per unit: active people, instances of ``process_key`` for ``period`` by status, overdue open tasks."""
    period = check_period(process_key, period)
    now = now or utcnow()
    if subject_kind(process_key) == "unit":  # one row per unit and its one instance
        from app.services import cycles_units

        return list(cycles_units.unit_status(session, period, process_key, now))
    section = aliased(OrgUnit)
    units = session.scalars(
        select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order, OrgUnit.id)
    ).all()
    people: dict[int | None, int] = {
        unit_id: n
        for unit_id, n in session.execute(
            select(section.parent_id, func.count(Person.id))
            .join(section, Person.section_id == section.id)
            .where(Person.status == PersonStatus.active)
            .group_by(section.parent_id)
        )
    }
    by_status: dict[int | None, dict[InstanceStatus, int]] = {}
    rows = session.execute(
        select(section.parent_id, ProcessInstance.status, func.count(ProcessInstance.id))
        .join(Person, ProcessInstance.subject_id == Person.id)
        .join(section, Person.section_id == section.id)
        .where(ProcessInstance.process_key == process_key, ProcessInstance.period == period)
        .group_by(section.parent_id, ProcessInstance.status)
    )
    for unit_id, status, n in rows:
        by_status.setdefault(unit_id, {})[status] = n
    overdue: dict[int | None, int] = {
        unit_id: n
        for unit_id, n in session.execute(
            select(HumanTask.unit_id, func.count(HumanTask.id))
            .where(
                HumanTask.process_key == process_key,
                HumanTask.period == period,
                HumanTask.status == TaskStatus.ready,
                HumanTask.due_at < now,
            )
            .group_by(HumanTask.unit_id)
        )
    }
    out = []
    for unit in units:
        counts = by_status.get(unit.id, {})
        out.append(
            UnitCycleStatus(
                unit_id=unit.id,
                name=unit.name,
                enabled=unit.enabled,
                people=people.get(unit.id, 0),
                opened=sum(counts.values()),
                running=counts.get(InstanceStatus.running, 0),
                completed=counts.get(InstanceStatus.completed, 0),
                overdue=overdue.get(unit.id, 0),
            )
        )
    return out


def set_unit_enabled(session: Session, actor: Actor, unit_id: int, enabled: bool) -> OrgUnit:
    """Take a unit into (or out of) the rollout. Enabling opens nothing for the current period by itself."""
    if not actor.is_district_wide:
        raise Forbidden(T_("Only the performance office enables units."))
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    if unit.enabled != enabled:
        unit.enabled = enabled
        session.flush()
    return unit
