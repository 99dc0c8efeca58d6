"""The scheduler runs its jobs as units of work against the real database."""

from __future__ import annotations

from app.scheduler import JOBS, register_default_jobs, run_job


def test_default_jobs_include_the_workflow_timer_job() -> None:
    register_default_jobs()
    fn, trigger = JOBS["workflow_timers"]
    assert trigger == {"trigger": "interval", "minutes": 1}
    assert fn.__name__ == "fire_due_timers"


def test_run_job_executes_the_timer_job_in_its_own_transaction(app, session) -> None:
    register_default_jobs()
    assert run_job(app, "workflow_timers") == 0
