"""Concurrency: two people completing one task, two starts of one instance, role changes.

The races run in real threads, each with its own engine and session, on data that is
COMMITTED (other connections could not see the savepoint of the ``session`` fixture), so
those tests build and delete their own data. SQLite by default; PostgreSQL when
TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import configure_engine, engine_options
from app.models import (
    HumanTask,
    InstanceEvent,
    Notification,
    OrgUnit,
    ProcessDefinition,
    ProcessInstance,
    Role,
    RoleAssignment,
    TaskCandidate,
    TaskStatus,
    UserAccount,
)
from app.services import org
from app.services.actor import SYSTEM, actor_for_user
from app.services.errors import Conflict
from app.workflow import inbox, repository, runtime

PROCESS = "periodic_appraisal"
PAIRS = 10
T = TypeVar("T")


def _engine(url: str) -> Engine:
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    return engine


def _person_id(session: Session, username: str) -> int:
    pid = session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))
    assert pid is not None, username
    return pid


def _get(session: Session, model: type[T], ident: int) -> T:
    row = session.get(model, ident)
    assert row is not None, (model.__name__, ident)
    return row


def _actor(session: Session, username: str) -> Any:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None, username
    return actor_for_user(session, account)


@dataclass
class Committed:
    """Builds committed data in its own session and deletes all of it afterwards."""

    factory: sessionmaker[Session]
    instance_ids: list[int] = field(default_factory=list)
    role_ids: list[int] = field(default_factory=list)
    definition_ids_before: set[int] = field(default_factory=set)
    keys: list[tuple[int, str]] = field(default_factory=list)  # (subject, period) that races may create

    def __post_init__(self) -> None:
        with self.factory() as s:
            self.definition_ids_before = set(s.scalars(select(ProcessDefinition.id)))

    def ensure_definition(self) -> None:
        with self.factory() as s:
            repository.active_definition(s, PROCESS)
            s.commit()

    def grant(self, username: str, role: Role, org_code: str) -> None:
        with self.factory() as s:
            node = s.scalar(select(OrgUnit).where(OrgUnit.code == org_code))
            assert node is not None, org_code
            ra = RoleAssignment(person_id=_person_id(s, username), role=role, org_unit_id=node.id)
            s.add(ra)
            s.commit()
            self.role_ids.append(ra.id)

    def start(self, username: str, period: str, *, submit: bool = False) -> int:
        """Start the appraisal of ``username``; with ``submit`` also hand in the summary. Returns the open task."""
        with self.factory() as s:
            subject = _person_id(s, username)
            self.keys.append((subject, period))
            result = runtime.start_process(s, SYSTEM, PROCESS, period, subject)
            assert result.created, f"leftover instance for {username} {period}"
            self.instance_ids.append(result.instance.id)
            task = result.tasks[0]
            if submit:
                task = runtime.complete_task(s, _actor(s, username), task.id, {"summary": "小结"}).next_tasks[0]
            task_id = task.id
            s.commit()
        return task_id

    def cleanup(self) -> None:
        with self.factory() as s:
            ids = set(self.instance_ids)
            for subject, period in self.keys:
                ids |= set(
                    s.scalars(
                        select(ProcessInstance.id).where(
                            ProcessInstance.process_key == PROCESS,
                            ProcessInstance.subject_id == subject,
                            ProcessInstance.period == period,
                        )
                    )
                )
            if ids:
                task_ids = select(HumanTask.id).where(HumanTask.instance_id.in_(ids))
                s.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)))
                s.execute(delete(HumanTask).where(HumanTask.instance_id.in_(ids)))
                s.execute(delete(InstanceEvent).where(InstanceEvent.instance_id.in_(ids)))
                s.execute(delete(Notification).where(Notification.instance_id.in_(ids)))
                s.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(ids)))
            if self.role_ids:
                s.execute(delete(RoleAssignment).where(RoleAssignment.id.in_(self.role_ids)))
            s.flush()
            in_use = select(ProcessInstance.definition_id)
            s.execute(
                delete(ProcessDefinition).where(
                    ProcessDefinition.id.not_in(self.definition_ids_before), ProcessDefinition.id.not_in(in_use)
                )
            )
            s.commit()


@pytest.fixture
def committed(app: Flask, database_url: str) -> Iterator[Committed]:
    engine = _engine(database_url)
    with app.app_context():
        data = Committed(sessionmaker(bind=engine, expire_on_commit=False))
        try:
            yield data
        finally:
            data.cleanup()
            engine.dispose()


@pytest.fixture
def thread_engines(database_url: str) -> Iterator[list[Engine]]:
    """One engine per racing thread: separate pools, separate connections."""
    engines = [_engine(database_url), _engine(database_url)]
    yield engines
    for engine in engines:
        engine.dispose()


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    trace: str = ""


def _race(engines: list[Engine], work: list[Callable[[Session, threading.Barrier], Any]]) -> list[Outcome]:
    """Run each ``work(session)`` in its own thread and session, released together by a barrier, then commit."""
    barrier = threading.Barrier(len(work))
    outcomes = [Outcome() for _ in work]

    def run(i: int) -> None:
        with Session(engines[i], expire_on_commit=False) as s:
            try:
                outcomes[i].value = work[i](s, barrier)
                s.commit()
            except BaseException as exc:
                outcomes[i].error, outcomes[i].trace = exc, traceback.format_exc()
                s.rollback()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a racing thread hung"
    return outcomes


def _completer(username: str, task_id: int, payload: dict[str, Any]) -> Callable[..., Any]:
    def work(s: Session, barrier: threading.Barrier) -> int:
        actor = _actor(s, username)
        s.rollback()  # the actor is plain data; hold no transaction while waiting for the other thread
        barrier.wait(timeout=60)
        return runtime.complete_task(s, actor, task_id, payload).task.id

    return work


def _one_wins(outcomes: list[Outcome]) -> Outcome:
    """Exactly one succeeded, the other got a Conflict; anything else fails with its traceback."""
    unexpected = [o for o in outcomes if o.error is not None and not isinstance(o.error, Conflict)]
    assert not unexpected, "a racer failed with something other than Conflict:\n" + "\n".join(
        o.trace for o in unexpected
    )
    winners = [o for o in outcomes if o.error is None]
    assert len(winners) == 1, [repr(o.error) for o in outcomes]
    loser = next(o for o in outcomes if o.error is not None)
    return loser


def _check_completed_once(factory: sessionmaker[Session], task_id: int, next_step: str) -> None:
    with factory() as s:
        task = _get(s, HumanTask, task_id)
        assert task.status is TaskStatus.completed
        completed = s.scalar(  # one per finished step: the loser recorded nothing
            select(func.count())
            .select_from(InstanceEvent)
            .where(InstanceEvent.instance_id == task.instance_id, InstanceEvent.kind == "completed")
        )
        assert completed == (1 if task.step_id == "submit_summary" else 2)
        ready = s.scalars(
            select(HumanTask.step_id).where(
                HumanTask.instance_id == task.instance_id, HumanTask.status == TaskStatus.ready
            )
        ).all()
        assert ready == [next_step]


def test_same_person_completing_one_task_twice_at_once_gets_one_success_and_one_conflict(
    committed: Committed, thread_engines: list[Engine]
) -> None:
    task_ids = [committed.start("ljjd103", f"2031-{m:02d}") for m in range(1, PAIRS + 1)]
    for task_id in task_ids:
        outcomes = _race(
            thread_engines,
            [_completer("ljjd103", task_id, {"summary": f"第{n}次提交"}) for n in (1, 2)],
        )
        loser = _one_wins(outcomes)
        assert "already completed" in loser.error.message  # type: ignore[union-attr]
        _check_completed_once(committed.factory, task_id, "section_score")


def test_two_candidates_of_a_shared_task_completing_at_once_get_one_success_and_one_conflict(
    committed: Committed, thread_engines: list[Engine]
) -> None:
    committed.grant("ljjd104", Role.section_head, "ljjd-1")  # ljjd-1 now has two heads
    task_ids = [
        committed.start(username, f"2032-{m:02d}", submit=True)
        for m in range(1, PAIRS // 2 + 1)
        for username in ("ljjd105", "ljjd106")
    ]
    with committed.factory() as s:
        heads = {_person_id(s, "ljjd101"), _person_id(s, "ljjd104")}
        for task_id in task_ids:
            assert {c.person_id for c in _get(s, HumanTask, task_id).candidates} == heads
    for task_id in task_ids:
        outcomes = _race(
            thread_engines,
            [
                _completer("ljjd101", task_id, {"score": 81, "score_comment": "负责人甲"}),
                _completer("ljjd104", task_id, {"score": 92, "score_comment": "负责人乙"}),
            ],
        )
        _one_wins(outcomes)
        _check_completed_once(committed.factory, task_id, "leader_review")
        with committed.factory() as s:
            task = _get(s, HumanTask, task_id)
            winner = 0 if outcomes[0].error is None else 1
            assert task.completed_by_id == _person_id(s, ("ljjd101", "ljjd104")[winner])


def test_concurrent_starts_of_the_same_instance_create_it_once_and_both_return_it(
    committed: Committed, thread_engines: list[Engine]
) -> None:
    committed.ensure_definition()  # the race is about the instance, not the first deployment
    with committed.factory() as s:
        subject = _person_id(s, "ljjd105")

    def starter(period: str) -> Callable[..., Any]:
        def work(s: Session, barrier: threading.Barrier) -> tuple[int, bool]:
            barrier.wait(timeout=60)
            result = runtime.start_process(s, SYSTEM, PROCESS, period, subject)
            return result.instance.id, result.created

        return work

    for m in range(1, PAIRS // 2 + 1):
        period = f"2033-{m:02d}"
        committed.keys.append((subject, period))
        outcomes = _race(thread_engines, [starter(period), starter(period)])
        errors = [o.trace for o in outcomes if o.error is not None]
        assert not errors, "a concurrent start failed:\n" + "\n".join(errors)
        (first_id, first_created), (second_id, second_created) = (o.value for o in outcomes)
        assert first_id == second_id
        assert sorted([first_created, second_created]) == [False, True]
        with committed.factory() as s:
            rows = s.scalars(
                select(ProcessInstance.id).where(
                    ProcessInstance.process_key == PROCESS,
                    ProcessInstance.subject_id == subject,
                    ProcessInstance.period == period,
                )
            ).all()
            assert rows == [first_id]
            tasks = s.scalars(select(HumanTask.step_id).where(HumanTask.instance_id == first_id)).all()
            assert tasks == ["submit_summary"]


# --- role changes (no threads: the ordinary rolled-back session) -----------------------


def _start_to_score(session: Any, username: str, period: str) -> HumanTask:
    subject = _person_id(session, username)
    started = runtime.start_process(session, SYSTEM, PROCESS, period, subject)
    done = runtime.complete_task(session, _actor(session, username), started.tasks[0].id, {"summary": "小结"})
    (task,) = done.next_tasks
    assert task.step_id == "section_score"
    return task


def _candidates(session: Any, task: HumanTask) -> set[int]:
    return set(session.scalars(select(TaskCandidate.person_id).where(TaskCandidate.task_id == task.id)))


def _inbox(session: Any, username: str, scope: str) -> set[int]:
    page = inbox.list_tasks(session, _actor(session, username), scope, per_page=500)
    return {t.id for t in page.items}


def test_new_section_head_inherits_open_tasks_and_the_old_one_no_longer_sees_them(session: Any) -> None:
    tasks = [_start_to_score(session, u, "2026-11") for u in ("ljjd203", "ljjd204", "ljjd205")]
    elsewhere = _start_to_score(session, "ljjd103", "2026-11")  # section ljjd-1: not touched
    old_head, new_head = _person_id(session, "ljjd201"), _person_id(session, "ljjd206")
    ids = {t.id for t in tasks}
    assert all(_candidates(session, t) == {old_head} for t in tasks)
    assert ids <= _inbox(session, "ljjd201", "mine")
    assert not ids & _inbox(session, "ljjd206", "mine")

    admin = _actor(session, "ljjd102")  # unit_admin of 龙景街道
    section = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd-2"))
    org.assign_role(session, admin, new_head, Role.section_head, section.id)
    # two heads for a moment: the tasks are shared, claimable by either
    for t in tasks:
        session.refresh(t)
        assert _candidates(session, t) == {old_head, new_head} and t.candidate_count == 2
    assert ids <= _inbox(session, "ljjd206", "claimable")
    claimed = runtime.claim(session, _actor(session, "ljjd201"), tasks[0].id)
    assert claimed.claimed_by_id == old_head

    old_role = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.person_id == old_head,
            RoleAssignment.role == Role.section_head,
            RoleAssignment.org_unit_id == section.id,
        )
    )
    org.revoke_role(session, admin, old_role.id)
    session.commit()
    for t in tasks:
        session.refresh(t)
        assert _candidates(session, t) == {new_head}
        assert t.candidate_count == 1 and t.assigned_role == "section_head" and t.assignment_warning is None
        assert t.status is TaskStatus.ready
    assert tasks[0].claimed_by_id is None  # the departed head's claim was dropped
    assert ids <= _inbox(session, "ljjd206", "mine")
    assert not ids & _inbox(session, "ljjd201", "mine")
    assert not ids & _inbox(session, "ljjd201", "claimable")
    # the new head can act on them; the old one cannot
    with pytest.raises(Exception, match="not among"):
        runtime.complete_task(session, _actor(session, "ljjd201"), tasks[1].id, {"score": 80, "score_comment": "x"})
    done = runtime.complete_task(session, _actor(session, "ljjd206"), tasks[1].id, {"score": 80, "score_comment": "x"})
    assert [t.step_id for t in done.next_tasks] == ["leader_review"]
    # another section's task kept its head
    session.refresh(elsewhere)
    assert _candidates(session, elsewhere) == {_person_id(session, "ljjd101")}


def test_concurrent_first_starts_store_the_shipped_definition_once(
    committed: Committed, thread_engines: list[Engine]
) -> None:
    """Two people start the very first instance of a process (its shipped BPMN not stored yet) at once."""
    with committed.factory() as s:
        # The race is about the very first start: remove a committed, unused definition another test left.
        used = select(ProcessInstance.definition_id)
        s.execute(delete(ProcessDefinition).where(ProcessDefinition.key == PROCESS, ProcessDefinition.id.not_in(used)))
        s.commit()
        left = s.scalar(select(func.count()).select_from(ProcessDefinition).where(ProcessDefinition.key == PROCESS))
        assert left == 0, "a committed instance still uses the stored definition; clean up the test that left it"
        subjects = [_person_id(s, "ljjd105"), _person_id(s, "ljjd106")]

    def starter(subject: int, period: str) -> Callable[..., Any]:
        def work(s: Session, barrier: threading.Barrier) -> int:
            barrier.wait(timeout=60)
            return runtime.start_process(s, SYSTEM, PROCESS, period, subject).instance.id

        return work

    for m in range(1, 6):
        period = f"2034-{m:02d}"
        committed.keys.extend((subject, period) for subject in subjects)
        outcomes = _race(thread_engines, [starter(subjects[0], period), starter(subjects[1], period)])
        errors = [o.trace for o in outcomes if o.error is not None]
        assert not errors, f"a first start failed (round {m}):\n" + "\n".join(errors)
        with committed.factory() as s:
            versions = s.scalars(select(ProcessDefinition.version).where(ProcessDefinition.key == PROCESS)).all()
            assert versions == [1]
            instance_ids = [o.value for o in outcomes]
            used = s.scalars(select(ProcessInstance.definition_id).where(ProcessInstance.id.in_(instance_ids)))
            assert len(set(used)) == 1
        committed.cleanup()  # back to "nothing stored" for the next round
