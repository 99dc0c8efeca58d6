"""The in-process APScheduler and the exactly-once discipline around it.

Every job is a service call in its own unit of work, scheduled by a cron expression from
settings (``CRON_*``) in the district's time zone. Any number of processes may run the
scheduler: before a job runs for a fire time, the process claims ``(job, fire time)`` in the
``job_run`` table (``app.services.job_runs``), so the fire time runs once. A run that crashed
is taken over after its lease, and every job is idempotent, so the takeover completes it.

Catch-up: at start and every few minutes each process looks for fire times that passed while
no scheduler ran. Jobs that open periods (monthly, quarterly) run every missed fire time, oldest
first, so no month is skipped; reminder jobs (weekly, daily) run only the latest one — a week of
downtime gives one weekly reminder and one daily digest, not seven. Fire times from before the
scheduler's very first start are recorded as skipped, not run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import current_session, db
from app.models import JobRun, JobRunStatus, JobTrigger
from app.models.base import utcnow
from app.services import job_runs
from config.settings import ConfigError

log = logging.getLogger(__name__)

CATCH_UP_EVERY = timedelta(minutes=5)
MAX_CATCH_UP = 12  # at most this many missed fire times of one job are run
FREQUENT = ("workflow_timers", "email_outbox")  # runs pruned after two days


class JobDisabled(RuntimeError):
    """The job is switched off by settings (e-mail without ``SMTP_HOST``)."""


class SimulatedCrash(BaseException):
    """Raised by tests from a progress hook to stop a job the way a killed process would."""


@dataclass
class JobContext:
    """What a job function gets: its session, its fire time, the settings and the run's hooks."""

    session: Session
    scheduled_for: datetime
    config: Mapping[str, Any]
    run_id: int
    progress: Callable[[int, int], None] | None = None

    @property
    def local(self) -> datetime:
        """The fire time in the district's time zone (periods are derived from it)."""
        return self.scheduled_for.astimezone(ZoneInfo(self.config["TIMEZONE"]))

    def checkpoint(self) -> None:
        """Commit the work so far and refresh the run's heartbeat (long jobs call it per chunk)."""
        job_runs.heartbeat(self.session, self.run_id)
        self.session.commit()


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[[JobContext], dict[str, Any] | int | None]
    cron_setting: str
    description: Any
    catch_up: str = "latest"  # "all" missed fire times, the "latest" only, or "none"
    enabled: Callable[[Mapping[str, Any]], bool] = field(default=lambda _config: True)


@dataclass(frozen=True)
class RunOutcome:
    job: str
    scheduled_for: datetime
    claimed: bool
    run_id: int | None = None
    counts: dict[str, Any] | None = None
    error: str | None = None


JOBS: dict[str, Job] = {}


def register_job(job: Job) -> None:
    JOBS[job.name] = job


def cron_trigger(config: Mapping[str, Any], job: Job) -> CronTrigger:
    """The job's cron expression from settings, in the district's time zone."""
    expr = config[job.cron_setting]
    try:
        return CronTrigger.from_crontab(expr, timezone=config["TIMEZONE"])
    except ValueError as exc:
        raise ConfigError(f"JIXIAO_{job.cron_setting}={expr!r} is not a cron expression: {exc}") from exc


def fire_times(trigger: CronTrigger, after: datetime, until: datetime, limit: int = MAX_CATCH_UP) -> list[datetime]:
    """Fire times in (after, until], the latest ``limit`` of them, oldest first, in UTC."""
    out: list[datetime] = []
    t = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while t is not None and t <= until:
        out.append(t.astimezone(UTC))
        t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
    return out[-limit:]


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last fire time at or before ``now``; searches growing windows so a per-minute cron stays cheap."""
    for window in (
        timedelta(minutes=2),
        timedelta(hours=2),
        timedelta(days=2),
        timedelta(days=35),
        timedelta(days=400),
    ):
        times = fire_times(trigger, now - window, now, limit=1)
        if times:
            return times[-1]
    return None


def execute(
    app: Flask,
    name: str,
    scheduled_for: datetime,
    trigger: JobTrigger = JobTrigger.schedule,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> RunOutcome:
    """Claim ``name`` for ``scheduled_for`` and, if this process won, run it as its own unit of work.

    A job that raises is recorded as failed (and retried later); a process that dies mid-run
    leaves its run ``running`` until the lease expires and another process takes it over.
    """
    register_default_jobs()
    job = JOBS[name]
    with app.app_context():
        session = current_session()
        try:
            lease = timedelta(minutes=app.config["JOB_LEASE_MINUTES"])
            claim = job_runs.claim(session, name, scheduled_for, trigger, lease=lease, now=now)
            session.commit()
        except Exception:
            session.rollback()
            db.session.remove()
            raise
        if claim is None:
            db.session.remove()
            return RunOutcome(name, scheduled_for, claimed=False)
        ctx = JobContext(session, scheduled_for, app.config, claim.run_id, progress)
        try:
            result = job.fn(ctx)
            counts = result if isinstance(result, dict) else {"count": int(result or 0)}
            job_runs.finish(session, claim.run_id, counts)
            session.commit()
            log.info("job %s for %s done: %s", name, scheduled_for.isoformat(), counts)
            return RunOutcome(name, scheduled_for, True, claim.run_id, counts)
        except Exception as exc:
            session.rollback()
            error = f"{type(exc).__name__}: {exc}"
            job_runs.fail(session, claim.run_id, error)
            session.commit()
            log.exception("job %s for %s failed", name, scheduled_for.isoformat())
            return RunOutcome(name, scheduled_for, True, claim.run_id, error=error)
        finally:
            db.session.remove()


def run_due(app: Flask, name: str, now: datetime | None = None) -> RunOutcome | None:
    """What the cron trigger calls: run the job's latest fire time at or before now (once across processes)."""
    register_default_jobs()
    now = now or utcnow()
    fired = latest_fire(cron_trigger(app.config, JOBS[name]), now)
    if fired is None:
        return None
    return execute(app, name, fired, JobTrigger.schedule, now=now)


def run_now(app: Flask, name: str, now: datetime | None = None) -> RunOutcome:
    """The office page's "run now": one claimed run whose fire time is now."""
    register_default_jobs()
    if not JOBS[name].enabled(app.config):
        raise JobDisabled(name)
    at = (now or utcnow()).replace(microsecond=0)
    return execute(app, name, at, JobTrigger.manual, now=now)


def catch_up(app: Flask, now: datetime | None = None, only: list[str] | None = None) -> dict[str, list[RunOutcome]]:
    """Run fire times that passed while no scheduler ran (see the module docstring for the policy)."""
    register_default_jobs()
    now = now or utcnow()
    done: dict[str, list[RunOutcome]] = {}
    for job in JOBS.values():
        if job.catch_up == "none" or (only is not None and job.name not in only) or not job.enabled(app.config):
            continue
        trigger = cron_trigger(app.config, job)
        latest = latest_fire(trigger, now)
        if latest is None:
            continue
        with app.app_context():
            session = current_session()
            try:
                last = job_runs.last_run(session, job.name, scheduled_only=True)
                if last is None:
                    job_runs.record_skipped(session, job.name, latest, "before the scheduler's first start")
                    session.commit()
                    continue
                if job.catch_up == "all":  # every fire time after the last one that finished, failed ones again
                    anchor = job_runs.last_run(session, job.name, scheduled_only=True, finished_only=True)
                    if anchor is None:
                        anchor = job_runs.last_run(session, job.name, scheduled_only=True, first=True)
                        assert anchor is not None
                        after = anchor.scheduled_for - timedelta(microseconds=1)
                    else:
                        after = anchor.scheduled_for
                    times = fire_times(trigger, after, now)
                else:
                    times = [latest]
                existing = job_runs.runs_at(session, job.name, times)
                todo = [t for t in times if not _finished(existing.get(t))]
                session.commit()
            finally:
                db.session.remove()
        for t in todo:
            outcome = execute(app, job.name, t, JobTrigger.catch_up, now=now)
            if outcome.claimed:
                done.setdefault(job.name, []).append(outcome)
    return done


def _finished(run: JobRun | None) -> bool:
    return run is not None and run.status in (JobRunStatus.succeeded, JobRunStatus.skipped)


@dataclass(frozen=True)
class JobInfo:
    job: Job
    cron: str
    enabled: bool
    next_run: datetime | None
    last: JobRun | None
    recent: list[JobRun]


def overview(session: Session, config: Mapping[str, Any], now: datetime | None = None) -> list[JobInfo]:
    """For the office page: each job's schedule, last run (when, result, counts) and next run."""
    register_default_jobs()
    now = now or utcnow()
    out = []
    for job in JOBS.values():
        trigger = cron_trigger(config, job)
        enabled = job.enabled(config)
        nxt = trigger.get_next_fire_time(None, now) if enabled else None
        recent = job_runs.recent_runs(session, job.name, limit=5)
        out.append(JobInfo(job, config[job.cron_setting], enabled, nxt, recent[0] if recent else None, recent))
    return out


_defaults: list[bool] = []


def register_default_jobs() -> None:
    """The jobs every deployment runs (``app.scheduled_jobs``); their schedules come from ``CRON_*``."""
    if _defaults:
        return
    from app.scheduled_jobs import DEFAULT_JOBS

    for job in DEFAULT_JOBS:
        register_job(job)
    _defaults.append(True)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start APScheduler with one cron job per enabled job plus the periodic catch-up (also run at once)."""
    register_default_jobs()
    scheduler = BackgroundScheduler(timezone=app.config["TIMEZONE"])
    active = [job for job in JOBS.values() if job.enabled(app.config)]
    for job in active:
        scheduler.add_job(
            run_due,
            trigger=cron_trigger(app.config, job),
            args=(app, job.name),
            id=job.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
    scheduler.add_job(
        catch_up,
        "interval",
        seconds=int(CATCH_UP_EVERY.total_seconds()),
        args=(app,),
        id="catch_up",
        next_run_time=datetime.now(ZoneInfo(app.config["TIMEZONE"])),
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    log.info("scheduler started with %d jobs", len(active))
    return scheduler
