"""Four scheduler processes at once: each person's month opens exactly once.

Real processes (``multiprocessing``, spawn), each building its own app and engine, on
COMMITTED data (other connections cannot see the ``session`` fixture's savepoint), so the test
deletes what it created. SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import (
    HumanTask,
    InstanceEvent,
    JobRun,
    JobRunStatus,
    Notification,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
)
from app.services import cycles
from app.workflow import repository
from tests.test_workflow_concurrency import _engine

PROCESS = "periodic_appraisal"
PROCESSES = 4
SH = ZoneInfo("Asia/Shanghai")
FIRE = datetime(2032, 3, 1, 1, 0, tzinfo=SH)  # the monthly fire time: opens 2032-02
JOB_PERIOD, OPEN_PERIOD = "2032-02", "2032-04"


def _child(url: str, mode: str, barrier: Any, results: Any) -> None:
    """One scheduler process: its own app, engine and session; released together with the others."""
    try:
        from app import create_app
        from app.extensions import db

        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SERVER_NAME": "localhost"})
        barrier.wait(timeout=120)
        if mode == "job":
            from app import scheduler

            outcome = scheduler.run_due(app, "monthly_cycles", now=FIRE.replace(second=30))
            assert outcome is not None
            results.put(("ok", outcome.claimed, outcome.counts, outcome.error))
        else:  # no claim at all: four processes open the same period at once
            from app.services.actor import SYSTEM

            with app.app_context():
                summary = cycles.open_cycle(
                    db.session, SYSTEM, PROCESS, OPEN_PERIOD, checkpoint=db.session.commit, chunk_size=20
                )
                db.session.commit()
                results.put(("ok", summary.opened, summary.already_open, None))
            with app.app_context():
                db.engine.dispose()
    except BaseException:
        results.put(("error", traceback.format_exc(), None, None))


def _run_processes(url: str, mode: str) -> list[tuple[Any, ...]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(url, mode, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    out = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0, f"a scheduler process exited with {p.exitcode}"
    errors = [r[1] for r in out if r[0] == "error"]
    assert not errors, "a scheduler process failed:\n" + "\n".join(errors)
    return out


@pytest.fixture
def factory(app: Flask, database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(database_url)
    make = sessionmaker(bind=engine, expire_on_commit=False)
    with make() as s:
        definitions_before = set(s.scalars(select(ProcessDefinition.id)))
        repository.active_definition(s, PROCESS)  # the shipped definition, committed, before the race
        s.commit()
    try:
        yield make
    finally:
        with make() as s:
            ids = select(ProcessInstance.id).where(
                ProcessInstance.process_key == PROCESS, ProcessInstance.period.in_([JOB_PERIOD, OPEN_PERIOD])
            )
            task_ids = select(HumanTask.id).where(HumanTask.instance_id.in_(ids))
            s.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)))
            s.execute(delete(HumanTask).where(HumanTask.instance_id.in_(ids)))
            s.execute(delete(InstanceEvent).where(InstanceEvent.instance_id.in_(ids)))
            s.execute(delete(Notification).where(Notification.instance_id.in_(ids)))
            s.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(ids)))
            s.execute(delete(JobRun).where(JobRun.job == "monthly_cycles"))
            s.flush()
            s.execute(
                delete(ProcessDefinition).where(
                    ProcessDefinition.id.not_in(definitions_before),
                    ProcessDefinition.id.not_in(select(ProcessInstance.definition_id)),
                )
            )
            s.commit()
        engine.dispose()


def _opened(s: Session, period: str) -> tuple[int, int]:
    """(instances, distinct subjects) of the period."""
    row = s.execute(
        select(func.count(ProcessInstance.id), func.count(func.distinct(ProcessInstance.subject_id))).where(
            ProcessInstance.process_key == PROCESS, ProcessInstance.period == period
        )
    ).one()
    return row[0], row[1]


def _eligible(s: Session) -> int:
    return sum(r.people for r in cycles.cycle_status(s, JOB_PERIOD) if r.enabled)


def test_four_scheduler_processes_open_each_persons_month_exactly_once(
    factory: sessionmaker[Session], database_url: str
) -> None:
    out = _run_processes(database_url, "job")
    claimed = [r for r in out if r[1]]
    assert len(claimed) == 1, out  # one process ran the fire time, three saw the claim and skipped
    _ok, _claimed, counts, error = claimed[0]
    assert error is None
    with factory() as s:
        eligible = _eligible(s)
        assert counts["opened"] == eligible and counts["period"] == JOB_PERIOD
        assert _opened(s, JOB_PERIOD) == (eligible, eligible)
        runs = s.scalars(select(JobRun).where(JobRun.job == "monthly_cycles")).all()
        assert [(r.status, r.attempt) for r in runs] == [(JobRunStatus.succeeded, 1)]
        tasks = s.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.period == JOB_PERIOD, HumanTask.process_key == PROCESS)
        )
        assert tasks == eligible  # each instance has its one first task


def test_four_processes_opening_the_same_period_without_a_claim_still_create_each_instance_once(
    factory: sessionmaker[Session], database_url: str
) -> None:
    out = _run_processes(database_url, "open")
    with factory() as s:
        eligible = _eligible(s)
        assert sum(r[1] for r in out) == eligible  # opened, across the four
        assert all(r[1] + r[2] == eligible for r in out)  # each saw everyone: opened or already open
        assert _opened(s, OPEN_PERIOD) == (eligible, eligible)
