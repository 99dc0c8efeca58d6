"""Time travel for the demo simulator: engine steps run now, their rows are then moved to the simulated moment.

Every domain service writes "now", and the engine has no notion of a simulated clock. So the
simulator (``Run.act``) completes a task at the real time and afterwards moves what that step
wrote — task created/completed/due times, history events, the appraisal record's, its appeals',
the indicator set's and the bonus item's timestamps — to the simulated moment. The audit trail is left alone on
purpose: it records when the simulation really ran.

Archived records. The archive guard (``app.services.appraisal.records.install_guard``) refuses
every ORM change to an archived (备案) record, rightly: an archived record's content is final (the
same holds for approved bonus items, ``bonus_flow.install_guard``).
Moving the timestamps of the very step that archived it is not a change of content, so it goes
through ``move_timestamps``: the single, deliberately narrow way around the guard. It is a Core
``UPDATE`` (which a ``before_flush`` hook does not see), it accepts only the timestamp columns
listed in ``TIMESTAMP_COLUMNS`` and refuses any other column, and only this package calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from app.models import (
    AppraisalAppeal,
    AppraisalRecord,
    BonusEvidence,
    BonusItem,
    HumanTask,
    IndicatorSetVersion,
    InstanceEvent,
    OrgUnit,
    Person,
    ProcessInstance,
    TaskCandidate,
    TaskStatus,
    UserAccount,
)
from app.models.base import utcnow
from app.services.actor import SYSTEM, Actor, actor_for_user
from app.services.appraisal import common
from app.services.cycles import open_cycle
from app.services.indicators import flow as indicator_flow
from app.workflow import runtime

APPRAISAL = "periodic_appraisal"
INDICATORS = "indicator_setting"

# The only columns time travel may write, per model: when things happened, never what they are.
TIMESTAMP_COLUMNS: dict[type, frozenset[str]] = {
    AppraisalRecord: frozenset(
        (
            "created_at",
            "updated_at",
            "summary_at",
            "scored_at",
            "reviewed_at",
            "feedback_at",
            "appeal_deadline",
            "acknowledged_at",
            "archived_at",
        )
    ),
    AppraisalAppeal: frozenset(("filed_at", "resolved_at")),
    IndicatorSetVersion: frozenset(("created_at", "submitted_at", "effective_at")),
    InstanceEvent: frozenset(("at",)),
    BonusItem: frozenset(("proposed_at", "checked_at", "decided_at", "created_at", "updated_at")),
    BonusEvidence: frozenset(("uploaded_at",)),
}
# What one engine step may have written, per model (``shift_since`` moves those written after a mark).
_STEP_COLUMNS: dict[type, tuple[str, ...]] = {
    AppraisalRecord: ("summary_at", "scored_at", "reviewed_at", "feedback_at", "acknowledged_at", "archived_at"),
    AppraisalAppeal: ("filed_at", "resolved_at"),
    IndicatorSetVersion: ("created_at", "submitted_at", "effective_at"),
}


def move_timestamps(session: Session, model: type, where: Any, values: Mapping[str, Any]) -> None:
    """Set timestamp columns of the ``model`` rows matching ``where`` in one bulk ``UPDATE``, archived or not.

    Only for the demo simulator (see the module docstring): it bypasses the ORM and so the archive
    guard, and therefore accepts nothing but the columns ``TIMESTAMP_COLUMNS`` lists for ``model``.
    The session's copies are not synchronised; callers expire them.
    """
    allowed = TIMESTAMP_COLUMNS.get(model)
    if allowed is None:
        raise ValueError(f"time travel does not move rows of {model.__name__}")
    other = set(values) - allowed
    if not values or other:
        raise ValueError(f"time travel moves only timestamp columns of {model.__name__}, not {sorted(other)}")
    session.execute(update(model).where(where).values(**values).execution_options(synchronize_session=False))


def shift_since(
    session: Session, model: type, where: Any, mark: datetime, when: datetime, extra: Mapping[str, Any] | None = None
) -> None:
    """Every timestamp of a step (``_STEP_COLUMNS``) written after ``mark`` becomes ``when``; plus ``extra``."""
    values = dict(extra or {})
    for name in _STEP_COLUMNS[model]:
        column = getattr(model, name)
        values[name] = case((column >= mark, when), else_=column)
    move_timestamps(session, model, where, values)


def local(day: date, hour: float) -> datetime:
    """``hour`` hours after local midnight of ``day``, in UTC."""
    return (datetime.combine(day, time(0), tzinfo=common.policy().tz) + timedelta(hours=hour)).astimezone(UTC)


def move_task(task: HumanTask, when: datetime) -> None:
    """A task begins at ``when`` and keeps its time allowance (open tasks are not archived: the ORM will do)."""
    if task.due_at is not None:
        task.due_at = when + (task.due_at - task.created_at)
    task.created_at = when


@dataclass
class QuarterSummary:
    """What the simulation did, for the CLI and the tests."""

    months: list[str]
    units: list[str] = field(default_factory=list)
    logs_on_time: int = 0
    logs_late: int = 0
    logs_missing: int = 0
    indicator_sets: int = 0
    appraisals: int = 0
    steps: int = 0
    appeals: int = 0
    adjustments: int = 0
    returns: int = 0
    skipped_months: int = 0
    bonus_items: int = 0

    def as_counts(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class Run:
    """State of one simulation: the real time bounding what may have happened (``now``), actors, the tally."""

    def __init__(self, session: Session, now: datetime, summary: QuarterSummary) -> None:
        self.session, self.now, self.summary = session, now, summary
        self._actors: dict[int, Actor] = {}

    def actor(self, person_id: int) -> Actor:
        if person_id not in self._actors:
            account = self.session.scalar(select(UserAccount).where(UserAccount.person_id == person_id))
            assert account is not None, f"demo person {person_id} has no account"
            self._actors[person_id] = actor_for_user(self.session, account)
        return self._actors[person_id]

    def candidate(self, task: HumanTask) -> int | None:
        return self.session.scalar(
            select(TaskCandidate.person_id).where(TaskCandidate.task_id == task.id).order_by(TaskCandidate.person_id)
        )

    def ready(self, instance_id: int) -> HumanTask | None:
        return self.session.scalar(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
            .order_by(HumanTask.id)
        )

    def act(
        self, instance: ProcessInstance, payload: dict[str, Any], when: datetime, *, window: bool = True
    ) -> HumanTask | None:
        """Complete the instance's waiting task at simulated time ``when``; ``None`` when nothing was done.

        ``window=False`` leaves an appeal window this step opens on the real clock: the appeal service
        checks the window against the real time, so a result that will be appealed keeps it open.
        """
        task = self.ready(instance.id)
        if task is None or when > self.now:
            return None
        who = self.candidate(task)
        if who is None:
            return None
        mark = utcnow()
        result = runtime.complete_task(self.session, self.actor(who), task.id, payload)
        result.task.completed_at = when
        for new in result.next_tasks:
            move_task(new, when)
        self.settle(instance, mark, when, window)
        self.summary.steps += 1
        return result.task

    def settle(self, instance: ProcessInstance, mark: datetime, when: datetime, window: bool = True) -> None:
        """Move what the last step wrote at real time (after ``mark``) to the simulated ``when``."""
        s = self.session
        s.flush()
        move_timestamps(
            s, InstanceEvent, (InstanceEvent.instance_id == instance.id) & (InstanceEvent.at >= mark), {"at": when}
        )
        if instance.completed_at is not None and instance.completed_at >= mark:
            instance.completed_at = when
        deadline = common.end_of_local_day(common.local_date(when) + timedelta(days=common.policy().appeal_days))
        record_id = s.scalar(select(AppraisalRecord.id).where(AppraisalRecord.instance_id == instance.id))
        if record_id is not None:
            values: dict[str, Any] = {"updated_at": when}
            if window:
                values["appeal_deadline"] = case(
                    (AppraisalRecord.feedback_at >= mark, deadline), else_=AppraisalRecord.appeal_deadline
                )
            shift_since(s, AppraisalRecord, AppraisalRecord.id == record_id, mark, when, values)
            shift_since(s, AppraisalAppeal, AppraisalAppeal.record_id == record_id, mark, when)
        else:
            versions = select(IndicatorSetVersion.id).where(IndicatorSetVersion.instance_id == instance.id)
            shift_since(s, IndicatorSetVersion, IndicatorSetVersion.id.in_(versions), mark, when)
        s.expire_all()


def start_instances(run: Run, process_key: str, period: str, unit: OrgUnit, start: datetime) -> list[int]:
    """The unit's instances of ``process_key``/``period``, opened if needed, all begun at ``start``."""
    s = run.session
    if process_key == INDICATORS:
        indicator_flow.open_for_unit(s, SYSTEM, unit.id, int(period))
    else:
        open_cycle(s, SYSTEM, process_key, period, unit.id)
    section_ids = select(OrgUnit.id).where(OrgUnit.parent_id == unit.id)
    instances = s.scalars(
        select(ProcessInstance)
        .join(Person, ProcessInstance.subject_id == Person.id)
        .where(
            ProcessInstance.process_key == process_key,
            ProcessInstance.period == period,
            Person.section_id.in_(section_ids),
        )
        .order_by(ProcessInstance.subject_id)
    ).all()
    for instance in instances:
        if instance.created_at > start:
            instance.created_at = start
            for task in s.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)):
                if task.created_at > start:
                    move_task(task, start)
            move_timestamps(
                s, InstanceEvent, (InstanceEvent.instance_id == instance.id) & (InstanceEvent.at > start), {"at": start}
            )
            move_timestamps(
                s,
                AppraisalRecord,
                AppraisalRecord.instance_id == instance.id,
                {"created_at": start, "updated_at": start},
            )
    s.flush()
    return [i.id for i in instances]


def worked_on(session: Session, instance_ids: list[int]) -> bool:
    """Whether any task of these instances was already done (an earlier run got this far)."""
    return (
        session.scalar(
            select(HumanTask.id).where(HumanTask.instance_id.in_(instance_ids), HumanTask.status != TaskStatus.ready)
        )
        is not None
    )
