"""The in-process APScheduler: jobs are plain service calls, each in its own unit of work."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.extensions import db

log = logging.getLogger(__name__)

# name → (callable(session), trigger kwargs). Features register their jobs here.
JOBS: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {}


def register_job(name: str, fn: Callable[[Any], Any], **trigger: Any) -> None:
    JOBS[name] = (fn, trigger)


def run_job(app: Flask, name: str) -> Any:
    """Run one job in an app context as one transaction."""
    fn, _trigger = JOBS[name]
    with app.app_context():
        try:
            result = fn(db.session)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception("scheduler job %s failed", name)
            raise
        finally:
            db.session.remove()


def register_default_jobs() -> None:
    """The jobs every deployment runs; schedules come from settings where they vary."""
    from app.workflow.runtime import fire_due_timers

    # Due BPMN timers (reminders, escalations); only instances whose next_timer_at passed are loaded.
    register_job("workflow_timers", fire_due_timers, trigger="interval", minutes=1)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    register_default_jobs()
    scheduler = BackgroundScheduler(timezone=app.config["TIMEZONE"])
    for name, (_fn, trigger) in JOBS.items():
        scheduler.add_job(
            run_job, args=(app, name), id=name, replace_existing=True, coalesce=True, max_instances=1, **trigger
        )
    scheduler.start()
    log.info("scheduler started with %d jobs", len(JOBS))
    return scheduler
