"""Reliability (issue 9): no lost update when two people save the same indicator draft, no half-written
state when a worker dies in the middle of a task completion, and one TOTP code accepted once even when two
logins race with it.

Both run against real concurrent connections on COMMITTED data (the ``session`` fixture's savepoint is
invisible to other connections), so they build and delete their own data. Like the other concurrency
tests (tests/test_workflow_concurrency.py, tests/test_scheduler_processes.py) they select no backend:
SQLite by default and PostgreSQL when TEST_DATABASE_URL is set — CI runs them on both, nothing is skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import (
    AppraisalRecord,
    AuditEvent,
    HumanTask,
    IndicatorSet,
    InstanceEvent,
    Person,
    ProcessInstance,
    TaskStatus,
    UserAccount,
)
from app.services import totp
from app.services.errors import Conflict
from app.services.indicators import sets
from app.workflow import runtime
from tests import test_workflow_concurrency as concurrency
from tests.test_workflow_concurrency import Committed, _actor, _engine, _race

# The fixtures of the other concurrency tests: committed data cleaned up afterwards, one engine per thread.
committed = concurrency.committed
thread_engines = concurrency.thread_engines

ROOT = Path(__file__).resolve().parent.parent
DRAFT_YEAR = 2031  # a year no other test drafts in
OWNER = "ljjd203"
KILL_PERIOD = "2031-07"
KILL_OWNER = "ljjd204"
TOTP_OWNER = "ljjd206"
ROUNDS = 5


def _rows(name: str) -> list[dict[str, Any]]:
    return [{"category": "key_work", "name": name, "standard": "按期完成", "weight": 90, "method": "核查"}]


@pytest.fixture
def draft(app: Flask, database_url: str) -> Iterator[tuple[sessionmaker[Session], int]]:
    """A committed indicator set of OWNER for DRAFT_YEAR, in drafting; deleted afterwards."""
    engine = _engine(database_url)
    make = sessionmaker(bind=engine, expire_on_commit=False)
    with make() as s:
        person = s.scalar(select(Person).join(UserAccount).where(UserAccount.username == OWNER))
        assert person is not None
        set_id = sets.ensure_set(s, person, DRAFT_YEAR).id
        s.commit()
    try:
        yield make, set_id
    finally:
        with make() as s:
            found = s.get(IndicatorSet, set_id)
            if found is not None:
                s.delete(found)
            s.commit()
        engine.dispose()


def test_two_editors_of_one_draft_never_overwrite_each_other(
    draft: tuple[sessionmaker[Session], int], thread_engines: list[Engine]
) -> None:
    make, set_id = draft
    for n in range(ROUNDS):
        with make() as s:
            opened = s.get(IndicatorSet, set_id)
            assert opened is not None
            lock = opened.lock_version  # both editors opened the draft at this version

        def editor(name: str, lock: int = lock) -> Any:
            def work(s: Session, barrier: threading.Barrier) -> int:
                actor = _actor(s, OWNER)
                s.rollback()
                barrier.wait(timeout=60)
                sets.save_draft(s, actor, set_id, _rows(name), lock)
                return lock

            return work

        names = (f"甲{n}", f"乙{n}")
        outcomes = _race(thread_engines, [editor(names[0]), editor(names[1])])
        winners = [i for i, o in enumerate(outcomes) if o.error is None]
        losers = [o for o in outcomes if o.error is not None]
        assert len(winners) == 1, [o.trace for o in outcomes]
        (loser,) = losers
        assert isinstance(loser.error, Conflict), loser.trace
        assert "reload" in loser.error.message.msgid  # says what happened and what to do
        with make() as s:
            saved = s.get(IndicatorSet, set_id)
            assert saved is not None and saved.lock_version == lock + 1
            items = sets.latest(saved).items
            assert [i.name for i in items] == [names[winners[0]]]  # the winner's rows, whole, and only them


# ---------------------------------------------------------------- a worker killed mid-completion

WORKER = """
import json, os, sys, time
from app import create_app
from app.extensions import db
from app.services.actor import actor_for_user
from app.models import UserAccount
from app.workflow import hooks, runtime
from sqlalchemy import select

url, username, task_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app({"ENV": "testing", "DATABASE_URL": url, "SERVER_NAME": "localhost"})


def stall(session, instance, task, decision):
    # Test-only listener: runs last inside the completion's transaction, after every write is flushed.
    print(json.dumps({"ready": instance.id, "pid": os.getpid()}), flush=True)
    time.sleep(600)


hooks.register_listener("periodic_appraisal", stall)
with app.app_context():
    account = db.session.scalar(select(UserAccount).where(UserAccount.username == username))
    runtime.complete_task(db.session, actor_for_user(db.session, account), task_id, {"summary": "写了一半的小结"})
    db.session.commit()
print(json.dumps({"committed": True}), flush=True)
"""


def _snapshot(s: Session, task_id: int) -> dict[str, Any]:
    task = s.get(HumanTask, task_id)
    assert task is not None
    instance = s.get(ProcessInstance, task.instance_id)
    assert instance is not None
    record = s.scalar(select(AppraisalRecord).where(AppraisalRecord.instance_id == instance.id))
    assert record is not None
    return {
        "task": (task.status, task.completed_by_id, task.completed_at, task.claimed_by_id),
        "instance": (instance.status, instance.state, instance.next_timer_at),
        "tasks": s.scalar(select(func.count(HumanTask.id)).where(HumanTask.instance_id == instance.id)),
        "history": s.scalar(select(func.count(InstanceEvent.id)).where(InstanceEvent.instance_id == instance.id)),
        "record": {c.key: getattr(record, c.key) for c in AppraisalRecord.__table__.columns},
        "audit": s.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "task.complete", AuditEvent.object_id == str(task_id)
            )
        ),
    }


def test_a_worker_killed_inside_a_completion_leaves_nothing_half_written(
    committed: Committed, database_url: str
) -> None:
    committed.ensure_definition()
    task_id = committed.start(KILL_OWNER, KILL_PERIOD)
    with committed.factory() as s:
        before = _snapshot(s, task_id)
    assert before["task"][0] is TaskStatus.ready and before["history"] >= 1

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, KILL_OWNER, str(task_id)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stdout.readline() if worker.stdout else ""
        assert line, (
            f"the worker exited before reaching the completion: {worker.stderr.read() if worker.stderr else ''}"
        )
        assert json.loads(line)["pid"] == worker.pid
        os.kill(worker.pid, signal.SIGKILL)  # in the middle: every write flushed, nothing committed
        assert worker.wait(timeout=60) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=60)

    with committed.factory() as s:
        after = _snapshot(s, task_id)
    assert after == before  # task open, instance state, tasks, history, record and audit trail untouched

    # the task is not stuck: it completes normally afterwards, and exactly once
    with committed.factory() as s:
        result = runtime.complete_task(s, _actor(s, KILL_OWNER), task_id, {"summary": "重新提交的小结"})
        s.commit()
        assert result.next_tasks
    with committed.factory() as s:
        done = _snapshot(s, task_id)
        assert done["task"][0] is TaskStatus.completed and done["history"] == before["history"] + 1
        assert done["record"]["summary"] == "重新提交的小结" and done["audit"] == 1


# ---------------------------------------------------------------- one TOTP code, two racing logins


@pytest.fixture
def totp_account(app: Flask, database_url: str) -> Iterator[tuple[sessionmaker[Session], int, str]]:
    """TOTP_OWNER with a committed second factor; switched off again afterwards."""
    engine = _engine(database_url)
    make = sessionmaker(bind=engine, expire_on_commit=False)
    secret = pyotp.random_base32(32)
    with make() as s:
        account = s.scalar(select(UserAccount).where(UserAccount.username == TOTP_OWNER))
        assert account is not None
        account.totp_secret, account.totp_last_step = secret, None
        s.commit()
        user_id = account.id
    try:
        yield make, user_id, secret
    finally:
        with make() as s:
            account = s.get(UserAccount, user_id)
            assert account is not None
            account.totp_secret = account.totp_last_step = None
            s.commit()
        engine.dispose()


def test_a_code_sent_by_two_racing_logins_is_accepted_once(
    totp_account: tuple[sessionmaker[Session], int, str], thread_engines: list[Engine]
) -> None:
    make, user_id, secret = totp_account
    start = datetime.now(UTC).replace(microsecond=0)
    for n in range(ROUNDS):
        at = start + timedelta(seconds=30 * n)  # a fresh time step each round
        code = pyotp.TOTP(secret).at(at)

        def login(s: Session, barrier: threading.Barrier, at: datetime = at, code: str = code) -> bool:
            account = s.get(UserAccount, user_id)
            assert account is not None and account.totp_secret == secret
            s.expunge(account)  # keeps what was read: the last accepted step, before either claims this one
            s.rollback()  # no transaction held at the barrier (SQLite writers begin IMMEDIATE)
            barrier.wait(timeout=60)
            s.add(account)
            return totp.check_code(s, account, code, at)

        outcomes = _race(thread_engines, [login, login])
        assert [o.error for o in outcomes] == [None, None], [o.trace for o in outcomes]
        assert sorted(o.value for o in outcomes) == [False, True]  # the replay alongside is refused
        with make() as s:
            account = s.get(UserAccount, user_id)
            assert account is not None and account.totp_last_step == pyotp.TOTP(secret).timecode(at)
