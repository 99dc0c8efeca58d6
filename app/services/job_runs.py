"""Claiming scheduled job runs through the database, so that a job fires once across processes.

Several app processes (gunicorn workers, two servers on one database) may each run the
scheduler. Before a job runs for a fire time it *claims* that fire time by inserting the
``job_run`` row; the unique key ``(job, scheduled_for)`` lets exactly one insert win, and the
others skip. The winner commits the claim at once (the caller does), then runs the job, touching
``heartbeat_at`` at every checkpoint. A run that crashed half-way leaves a ``running`` row whose
heartbeat goes silent: after the lease the next process takes it over with a conditional UPDATE
(again exactly one winner) and runs the job again, which completes it because every job is
idempotent. A run that failed with an error is retried the same way, a few times.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import JobRun, JobRunStatus, JobTrigger
from app.models.base import utcnow

MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)


def owner_id() -> str:
    """``host:pid`` of this process, recorded on the runs it holds."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@dataclass(frozen=True)
class Claim:
    run_id: int
    attempt: int
    taken_over: bool  # True when a crashed or failed earlier attempt was taken over


def claim(
    session: Session,
    job: str,
    scheduled_for: datetime,
    trigger: JobTrigger,
    *,
    lease: timedelta,
    owner: str | None = None,
    now: datetime | None = None,
) -> Claim | None:
    """Claim ``job`` for ``scheduled_for``; ``None`` when another process holds or finished it.

    Call it at the start of a fresh transaction and commit right after, so that the claim is
    visible to the other processes before the job's work begins.
    """
    now = now or utcnow()
    owner = owner or owner_id()
    values = {
        "job": job,
        "scheduled_for": scheduled_for,
        "trigger": trigger,
        "status": JobRunStatus.running,
        "started_at": now,
        "heartbeat_at": now,
        "owner": owner,
        "attempt": 1,
    }
    run_id = _insert_if_absent(session, values)
    if run_id is not None:
        return Claim(run_id, 1, False)
    taken = session.execute(
        update(JobRun)
        .where(
            JobRun.job == job,
            JobRun.scheduled_for == scheduled_for,
            JobRun.attempt < MAX_ATTEMPTS,
            or_(
                and_(JobRun.status == JobRunStatus.running, JobRun.heartbeat_at < now - lease),
                and_(JobRun.status == JobRunStatus.failed, JobRun.finished_at < now - RETRY_AFTER),
            ),
        )
        .values(
            status=JobRunStatus.running,
            owner=owner,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            attempt=JobRun.attempt + 1,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.execute(
        select(JobRun.id, JobRun.attempt).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)
    ).one()
    return Claim(row.id, row.attempt, True)


def _insert_if_absent(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT the run unless ``(job, scheduled_for)`` exists; its id, or None when another process has it.

    PostgreSQL and SQLite skip the conflict in the statement (no error in the server log every
    minute from the processes that lose); other databases fall back to a savepoint.
    """
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(JobRun)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["job", "scheduled_for"])
            .returning(JobRun.id)
        )
        return session.execute(stmt).scalar()
    run = JobRun(**values)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
        return run.id
    except IntegrityError:
        return None


def record_skipped(session: Session, job: str, scheduled_for: datetime, reason: str) -> bool:
    """Record a fire time that will not run (before the scheduler's first start); False if already recorded."""
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(
                JobRun(
                    job=job,
                    scheduled_for=scheduled_for,
                    trigger=JobTrigger.catch_up,
                    status=JobRunStatus.skipped,
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=now,
                    owner=owner_id(),
                    error=reason,
                )
            )
            session.flush()
        return True
    except IntegrityError:
        return False


def heartbeat(session: Session, run_id: int) -> None:
    """Tell the other processes this run is alive (called at every checkpoint of a long job)."""
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def finish(session: Session, run_id: int, counts: dict[str, Any] | None) -> None:
    now = utcnow()
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status=JobRunStatus.succeeded, finished_at=now, heartbeat_at=now, counts=counts, error=None)
        .execution_options(synchronize_session=False)
    )


def fail(session: Session, run_id: int, error: str) -> None:
    now = utcnow()
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status=JobRunStatus.failed, finished_at=now, heartbeat_at=now, error=error[:4000])
        .execution_options(synchronize_session=False)
    )


def last_run(
    session: Session, job: str, *, scheduled_only: bool = False, finished_only: bool = False, first: bool = False
) -> JobRun | None:
    """The job's run with the latest (``first``: earliest) fire time.

    ``scheduled_only`` ignores "run now" runs; ``finished_only`` keeps succeeded and skipped runs.
    """
    stmt = select(JobRun).where(JobRun.job == job)
    if scheduled_only:
        stmt = stmt.where(JobRun.trigger != JobTrigger.manual)
    if finished_only:
        stmt = stmt.where(JobRun.status.in_([JobRunStatus.succeeded, JobRunStatus.skipped]))
    order = JobRun.scheduled_for.asc() if first else JobRun.scheduled_for.desc()
    return session.scalar(stmt.order_by(order).limit(1))


def runs_at(session: Session, job: str, times: list[datetime]) -> dict[datetime, JobRun]:
    """Existing runs of ``job`` for the given fire times."""
    if not times:
        return {}
    rows = session.scalars(select(JobRun).where(JobRun.job == job, JobRun.scheduled_for.in_(times)))
    return {r.scheduled_for: r for r in rows}


def recent_runs(session: Session, job: str, limit: int = 10) -> list[JobRun]:
    return list(
        session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc()).limit(limit))
    )


def prune(session: Session, jobs: list[str], older_than: datetime) -> int:
    """Delete finished runs of frequent jobs (timers, e-mail) older than ``older_than``; keeps each job's latest."""
    removed = 0
    for job in jobs:
        latest = session.scalar(select(func.max(JobRun.scheduled_for)).where(JobRun.job == job))
        result = session.execute(
            delete(JobRun).where(
                JobRun.job == job,
                JobRun.status == JobRunStatus.succeeded,
                JobRun.scheduled_for < older_than,
                JobRun.scheduled_for != latest,
            )
        )
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed
