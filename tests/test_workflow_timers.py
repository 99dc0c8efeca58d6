"""BPMN boundary timers of the periodic appraisal: reminder after 3 days, escalation after 7.

Real BPMN, real engine, real database; the clock is moved with ``time_machine``. The timer
job must only ever load the instances whose stored ``next_timer_at`` has passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, inspect, select

from app.models import (
    HumanTask,
    InstanceEvent,
    Notification,
    ProcessInstance,
    TaskStatus,
    UserAccount,
)
from app.services.actor import SYSTEM, Actor, actor_for_user
from app.workflow import engine as eng
from app.workflow import repository, runtime

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai, a Monday
PROCESS = "periodic_appraisal"


def _actor(session: Any, username: str) -> Actor:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None, username
    return actor_for_user(session, account)


def _person_id(session: Any, username: str) -> int:
    pid = session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))
    assert pid is not None, username
    return pid


def _to_section_score(session: Any, username: str, period: str) -> tuple[ProcessInstance, HumanTask]:
    """Start the appraisal of ``username`` and submit the summary: the section head's step is READY."""
    started = runtime.start_process(session, SYSTEM, PROCESS, period, _person_id(session, username))
    assert [t.step_id for t in started.tasks] == ["submit_summary"]
    done = runtime.complete_task(session, _actor(session, username), started.tasks[0].id, {"summary": "本月小结"})
    assert [t.step_id for t in done.next_tasks] == ["section_score"]
    session.flush()
    return started.instance, done.next_tasks[0]


def _notifications(session: Any, instance_id: int, kind: str) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.instance_id == instance_id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


def _notified_events(session: Any, instance_id: int) -> list[InstanceEvent]:
    return list(
        session.scalars(
            select(InstanceEvent)
            .where(InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "notified")
            .order_by(InstanceEvent.id)
        )
    )


def _engine_next_timer(instance: ProcessInstance) -> datetime | None:
    wf = eng.load(repository.loaded(instance.definition), instance.state, eng.Outbox())
    return eng.next_timer_at(wf)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_reminder_after_3_days_then_escalation_after_7_days_without_interrupting_the_step(
    session: Any, clock: Any
) -> None:
    instance, score = _to_section_score(session, "ljjd103", "2026-11")
    assert instance.next_timer_at == T0 + timedelta(days=3)

    # now: nothing is due
    assert runtime.fire_due_timers(session) == 0
    assert _notifications(session, instance.id, "reminder") == []
    assert _notified_events(session, instance.id) == []

    # 3 days and an hour later: the reminder goes to the section head of ljjd-1
    clock.move_to(T0 + timedelta(days=3, hours=1))
    assert runtime.fire_due_timers(session) == 1
    session.refresh(instance)
    reminders = _notifications(session, instance.id, "reminder")
    assert [n.recipient_id for n in reminders] == [_person_id(session, "ljjd101")]
    assert "股室负责人评分" in reminders[0].text
    events = _notified_events(session, instance.id)
    assert [(e.step_name, (e.details or {})["role"]) for e in events] == [("reminder", "section_head")]
    assert (events[0].details or {})["recipients"] == [_person_id(session, "ljjd101")]
    assert _notifications(session, instance.id, "escalation") == []
    # the timer moved on to the escalation, 7 days after the step became ready
    assert instance.next_timer_at == T0 + timedelta(days=7)
    # non-interrupting: the same task is still waiting for the section head
    session.refresh(score)
    assert score.status is TaskStatus.ready
    open_steps = session.scalars(
        select(HumanTask.step_id).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
    ).all()
    assert open_steps == ["section_score"]

    # firing again before the escalation is due does nothing (no second reminder)
    clock.move_to(T0 + timedelta(days=5))
    assert runtime.fire_due_timers(session) == 0
    assert len(_notifications(session, instance.id, "reminder")) == 1

    # 7 days and an hour: escalation to the unit leader in charge of ljjd-1
    clock.move_to(T0 + timedelta(days=7, hours=1))
    assert runtime.fire_due_timers(session) == 1
    session.refresh(instance)
    escalations = _notifications(session, instance.id, "escalation")
    assert [n.recipient_id for n in escalations] == [_person_id(session, "ljjd_leader1")]
    events = _notified_events(session, instance.id)
    assert [(e.step_name, (e.details or {})["role"]) for e in events] == [
        ("reminder", "section_head"),
        ("escalation", "unit_leader"),
    ]
    assert len(_notifications(session, instance.id, "reminder")) == 1
    # no timer waits any more; the step is still open and can be completed
    assert instance.next_timer_at is None
    session.refresh(score)
    assert score.status is TaskStatus.ready
    clock.move_to(T0 + timedelta(days=30))
    assert runtime.fire_due_timers(session) == 0
    done = runtime.complete_task(session, _actor(session, "ljjd101"), score.id, {"score": 85, "score_comment": "按期"})
    assert [t.step_id for t in done.next_tasks] == ["leader_review"]


def test_completing_the_step_cancels_its_timers(session: Any, clock: Any) -> None:
    instance, score = _to_section_score(session, "ljjd104", "2026-11")
    clock.move_to(T0 + timedelta(days=1))
    done = runtime.complete_task(session, _actor(session, "ljjd101"), score.id, {"score": 80, "score_comment": "好"})
    assert [t.step_id for t in done.next_tasks] == ["leader_review"]
    # only the leader review's reminder waits now, 3 days after it became ready
    assert instance.next_timer_at == T0 + timedelta(days=4)

    # past the moment the section_score reminder would have fired: nothing happens
    clock.move_to(T0 + timedelta(days=3, hours=12))
    assert runtime.fire_due_timers(session) == 0
    assert _notifications(session, instance.id, "reminder") == []
    # the leader review's reminder fires for the leader; the section head gets no reminder
    clock.move_to(T0 + timedelta(days=8, hours=1))
    assert runtime.fire_due_timers(session) == 1
    session.refresh(instance)
    head, leader = _person_id(session, "ljjd101"), _person_id(session, "ljjd_leader1")
    assert [n.recipient_id for n in _notifications(session, instance.id, "reminder")] == [leader]
    assert head not in [n.recipient_id for n in _notifications(session, instance.id, "escalation")]
    assert [(e.details or {})["role"] for e in _notified_events(session, instance.id)] == [
        "unit_leader",
        "unit_principal",
    ]


def test_completed_instance_has_no_timer(session: Any, clock: Any) -> None:
    instance, score = _to_section_score(session, "ljjd105", "2026-11")
    head, leader, staff = _actor(session, "ljjd101"), _actor(session, "ljjd_leader1"), _actor(session, "ljjd105")
    review = runtime.complete_task(session, head, score.id, {"score": 90, "score_comment": "优"}).next_tasks[0]
    assert instance.next_timer_at == T0 + timedelta(days=3)
    feedback = runtime.complete_task(session, leader, review.id, {"decision": "approve"}).next_tasks[0]
    assert feedback.step_id == "feedback"
    assert instance.next_timer_at is None  # the feedback step has no timers
    runtime.complete_task(session, staff, feedback.id, {"decision": "acknowledge"})
    assert instance.status.value == "completed" and instance.next_timer_at is None
    clock.move_to(T0 + timedelta(days=60))
    assert runtime.fire_due_timers(session) == 0


def test_timer_job_loads_only_due_instances(session: Any, clock: Any) -> None:
    due, _ = _to_section_score(session, "ljjd103", "2026-10")
    clock.move_to(T0 + timedelta(days=2))
    not_due, _ = _to_section_score(session, "ljjd104", "2026-10")
    assert not_due.next_timer_at == T0 + timedelta(days=5)
    due_id, not_due_id = due.id, not_due.id
    session.commit()
    session.expunge_all()  # an object in the identity map would hide a load

    loaded: list[int] = []

    def on_load(target: ProcessInstance, *_: Any) -> None:
        loaded.append(target.id)

    event.listen(ProcessInstance, "load", on_load)
    event.listen(ProcessInstance, "refresh", on_load)
    try:
        clock.move_to(T0 + timedelta(days=3, hours=1))
        assert runtime.fire_due_timers(session) == 1
        session.flush()
    finally:
        event.remove(ProcessInstance, "load", on_load)
        event.remove(ProcessInstance, "refresh", on_load)
    assert due_id in loaded
    assert not_due_id not in loaded
    assert session.get(ProcessInstance, due_id).next_timer_at == T0 + timedelta(days=7)
    assert _notifications(session, not_due_id, "reminder") == []
    assert len(_notifications(session, due_id, "reminder")) == 1


def test_next_timer_at_is_an_indexed_column_equal_to_the_engine_value(session: Any, clock: Any) -> None:
    indexes = inspect(session.connection()).get_indexes("process_instance")
    assert any(ix["column_names"][:1] == ["next_timer_at"] for ix in indexes), indexes

    instance, _ = _to_section_score(session, "ljjd106", "2026-11")
    session.commit()
    session.expire_all()
    stored = session.get(ProcessInstance, instance.id)
    assert stored.next_timer_at is not None and stored.next_timer_at.tzinfo is not None
    assert stored.next_timer_at == _engine_next_timer(stored) == T0 + timedelta(days=3)

    clock.move_to(T0 + timedelta(days=3, hours=1))
    runtime.fire_due_timers(session)
    session.commit()
    session.expire_all()
    stored = session.get(ProcessInstance, instance.id)
    assert stored.next_timer_at == _engine_next_timer(stored) == T0 + timedelta(days=7)
    # the due query the timer job runs agrees with the stored column
    due_now = session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.next_timer_at <= T0 + timedelta(days=6))
    ).all()
    assert instance.id not in due_now
