"""The quarterly job opens the evaluation rounds: per quarter or after Q4 per year, once per (unit, period)."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from app import scheduler
from app.models import (
    EvaluationAssignment,
    EvaluationRound,
    HumanTask,
    InstanceEvent,
    Notification,
    OrgKind,
    OrgUnit,
    ProcessInstance,
    TaskCandidate,
)
from app.services.actor import SYSTEM
from app.services.appraisal import scheme
from tests.test_workflow_concurrency import _engine

SH = ZoneInfo("Asia/Shanghai")
PROCESSES = 4
RACE_PERIOD = "2033-Q2"


def _enabled_units(session: Any) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True))))


def _rounds(session: Any, period: str) -> dict[int, int]:
    session.expire_all()
    rows = session.execute(
        select(EvaluationRound.unit_id, func.count())
        .where(EvaluationRound.period == period)
        .group_by(EvaluationRound.unit_id)
    )
    return dict(rows.all())


def test_the_quarterly_run_opens_each_enabled_units_round_once(app: Any, session: Any) -> None:
    units = _enabled_units(session)
    yearly = units[0]
    scheme.save_scheme(session, SYSTEM, yearly.id, 2031, {"evaluation_period": "year"})
    session.commit()
    fire = datetime(2031, 10, 1, 2, 0, 20, tzinfo=SH)
    outcome = scheduler.run_due(app, "quarterly_publish", now=fire)
    assert outcome is not None and outcome.claimed and outcome.error is None
    counts = outcome.counts
    assert counts is not None and counts["quarter"] == "2031-Q3"
    assert counts["rounds_opened"] == len(units) - 1 and counts["units_not_due"] == 1
    assert _rounds(session, "2031-Q3") == {u.id: 1 for u in units[1:]}
    closes = session.scalar(select(EvaluationRound.closes_on).where(EvaluationRound.period == "2031-Q3").limit(1))
    assert closes == date(2031, 10, 15)  # EVALUATION_DAYS after the fire date
    tasks = session.scalar(
        select(func.count())
        .select_from(HumanTask)
        .where(HumanTask.process_key == "evaluation_rating", HumanTask.period == "2031-Q3")
    )
    raters = session.scalar(
        select(func.count(func.distinct(EvaluationAssignment.rater_id)))
        .join(EvaluationRound, EvaluationRound.id == EvaluationAssignment.round_id)
        .where(EvaluationRound.period == "2031-Q3")
    )
    assert tasks == raters == counts["rating_processes"]
    # a manual rerun of the same quarter creates nothing
    again = scheduler.run_now(app, "quarterly_publish")
    assert again.counts is not None
    before = session.scalar(select(func.count()).select_from(EvaluationAssignment))
    from app.services.appraisal import evaluation_flow

    rerun = evaluation_flow.open_due_rounds(session, "2031-Q3")
    assert rerun["rounds_opened"] == 0 and rerun["rounds_already_open"] == len(units) - 1
    assert rerun["rating_processes"] == 0
    assert session.scalar(select(func.count()).select_from(EvaluationAssignment)) == before
    # the run after Q4 opens the yearly unit's round of the year (and the quarterly units' Q4)
    after_q4 = scheduler.run_due(app, "quarterly_publish", now=datetime(2032, 1, 1, 2, 0, 20, tzinfo=SH))
    assert after_q4 is not None and after_q4.counts is not None
    assert after_q4.counts["quarter"] == "2031-Q4" and after_q4.counts["units_not_due"] == 0
    assert _rounds(session, "2031") == {yearly.id: 1}
    assert _rounds(session, "2031-Q4") == {u.id: 1 for u in units[1:]}


def test_disabled_units_get_no_round(app: Any, session: Any) -> None:
    disabled = session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(False))).all()
    from app.services.appraisal import evaluation_flow

    evaluation_flow.open_due_rounds(session, "2031-Q2")
    opened = _rounds(session, "2031-Q2")
    assert opened and not set(opened) & {u.id for u in disabled}


# --- four processes at once, on committed data ------------------------------------------------------------


def _child(url: str, unit_id: int, barrier: Any, results: Any) -> None:
    try:
        from app import create_app
        from app.extensions import db
        from app.services.appraisal import evaluation

        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SERVER_NAME": "localhost"})
        with app.app_context():
            barrier.wait(timeout=120)
            outcome = evaluation.open_round(db.session, SYSTEM, unit_id, RACE_PERIOD)
            db.session.commit()
            results.put(("ok", outcome.created, outcome.assignments, outcome.processes_opened))
            db.engine.dispose()
    except BaseException:
        results.put(("error", traceback.format_exc(), None, None))


@pytest.fixture
def factory(app: Flask, database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(database_url)
    make = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        yield make
    finally:
        with make() as s:
            ids = select(ProcessInstance.id).where(
                ProcessInstance.process_key == "evaluation_rating", ProcessInstance.period == RACE_PERIOD
            )
            task_ids = select(HumanTask.id).where(HumanTask.instance_id.in_(ids))
            s.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids)))
            s.execute(delete(HumanTask).where(HumanTask.instance_id.in_(ids)))
            s.execute(delete(InstanceEvent).where(InstanceEvent.instance_id.in_(ids)))
            s.execute(delete(Notification).where(Notification.instance_id.in_(ids)))
            s.execute(delete(ProcessInstance).where(ProcessInstance.id.in_(ids)))
            rounds = select(EvaluationRound.id).where(EvaluationRound.period == RACE_PERIOD)
            s.execute(delete(EvaluationAssignment).where(EvaluationAssignment.round_id.in_(rounds)))
            s.execute(delete(EvaluationRound).where(EvaluationRound.period == RACE_PERIOD))
            s.commit()
        engine.dispose()


def test_four_processes_opening_the_same_round_create_it_once(
    factory: sessionmaker[Session], database_url: str
) -> None:
    with factory() as s:
        unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd"))
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(database_url, unit_id, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    out = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [r[1] for r in out if r[0] == "error"]
    assert not errors, "\n".join(errors)
    assert sum(1 for r in out if r[1]) == 1, out  # one process created the round
    created = next(r for r in out if r[1])
    assert all(r[2] == 0 for r in out if not r[1])  # the others added no assignment
    with factory() as s:
        assert (
            s.scalar(select(func.count()).select_from(EvaluationRound).where(EvaluationRound.period == RACE_PERIOD))
            == 1
        )
        assignments = s.scalar(
            select(func.count())
            .select_from(EvaluationAssignment)
            .join(EvaluationRound, EvaluationRound.id == EvaluationAssignment.round_id)
            .where(EvaluationRound.period == RACE_PERIOD)
        )
        assert assignments == created[2]
        instances, subjects = s.execute(
            select(func.count(ProcessInstance.id), func.count(func.distinct(ProcessInstance.subject_id))).where(
                ProcessInstance.process_key == "evaluation_rating", ProcessInstance.period == RACE_PERIOD
            )
        ).one()
        assert instances == subjects == sum(r[3] for r in out)
