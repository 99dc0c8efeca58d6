"""The scheduler's exactly-once discipline on the real database: claims, takeover, catch-up, the timer job.

The clock is moved with ``time_machine``; jobs run through ``app.scheduler`` exactly as the
APScheduler triggers call them. Everything happens inside the rolled-back ``session`` fixture
(a job's commits release savepoints).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app import scheduler
from app.models import JobRun, JobRunStatus, JobTrigger, Notification, ProcessInstance
from app.services import cycles
from app.services.actor import SYSTEM
from app.workflow import runtime
from tests.test_workflow_timers import _to_section_score

SH = ZoneInfo("Asia/Shanghai")
PROCESS = "periodic_appraisal"


def _eligible(session: Any) -> int:
    """Active people of enabled units: who a monthly run opens."""
    return sum(r.people for r in cycles.cycle_status(session, "2031-01") if r.enabled)


def _instances(session: Any, period: str) -> list[int]:
    return list(
        session.scalars(
            select(ProcessInstance.subject_id).where(
                ProcessInstance.process_key == PROCESS, ProcessInstance.period == period
            )
        )
    )


def _runs(session: Any, job: str) -> list[JobRun]:
    session.expire_all()
    return list(session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.scheduled_for)))


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2031, 6, 29, 12, 0, tzinfo=SH), tick=False) as traveller:
        yield traveller


def test_cron_fire_times_in_the_district_time_zone(app: Any) -> None:
    scheduler.register_default_jobs()
    monthly = scheduler.cron_trigger(app.config, scheduler.JOBS["monthly_cycles"])
    now = datetime(2031, 7, 6, 10, 0, tzinfo=SH)
    assert scheduler.latest_fire(monthly, now) == datetime(2031, 7, 1, 1, 0, tzinfo=SH)
    weekly = scheduler.cron_trigger(app.config, scheduler.JOBS["weekly_logs"])
    assert scheduler.latest_fire(weekly, now) == datetime(2031, 6, 30, 8, 0, tzinfo=SH)  # a Monday
    timers = scheduler.cron_trigger(app.config, scheduler.JOBS["workflow_timers"])
    assert scheduler.latest_fire(timers, now + timedelta(seconds=59)) == now
    daily = scheduler.cron_trigger(app.config, scheduler.JOBS["overdue_digest"])
    week = scheduler.fire_times(daily, now - timedelta(days=7), now)
    assert len(week) == 7 and all(t.tzinfo is UTC for t in week)
    with pytest.raises(Exception, match="JIXIAO_CRON_DAILY"):
        scheduler.cron_trigger({**app.config, "CRON_DAILY": "every day"}, scheduler.JOBS["overdue_digest"])


def test_a_fire_time_runs_once_however_often_it_is_triggered(app: Any, session: Any, clock: Any) -> None:
    fire = datetime(2031, 7, 1, 1, 0, tzinfo=SH)
    clock.move_to(fire + timedelta(seconds=5))
    first = scheduler.run_due(app, "monthly_cycles")
    assert first is not None and first.claimed and first.error is None
    assert first.scheduled_for == fire
    assert first.counts == {
        "period": "2031-06",
        "opened": _eligible(session),
        "already_open": 0,
        "skipped_unit_not_enabled": 5,
    }
    # the same fire time again (another process, a late trigger, catch-up): not claimed, nothing runs
    again = scheduler.run_due(app, "monthly_cycles")
    assert again is not None and not again.claimed
    assert scheduler.catch_up(app, only=["monthly_cycles"]) == {}
    runs = _runs(session, "monthly_cycles")
    assert [(r.status, r.trigger, r.attempt) for r in runs] == [(JobRunStatus.succeeded, JobTrigger.schedule, 1)]
    assert runs[0].owner and runs[0].finished_at is not None
    subjects = _instances(session, "2031-06")
    assert len(subjects) == len(set(subjects)) == _eligible(session)


def test_a_run_that_crashed_half_way_is_taken_over_after_the_lease_and_completed(
    app: Any, session: Any, clock: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "CYCLE_CHUNK_SIZE", 10)
    fire = datetime(2031, 8, 1, 1, 0, tzinfo=SH)
    clock.move_to(fire + timedelta(seconds=1))

    def crash(done: int, total: int) -> None:
        if done == 25:
            raise scheduler.SimulatedCrash("killed")

    with pytest.raises(scheduler.SimulatedCrash):
        scheduler.execute(app, "monthly_cycles", fire.astimezone(UTC), progress=crash)
    session.rollback()  # the process died: its open chunk is lost, the committed chunks stay
    assert len(_instances(session, "2031-07")) == 20
    (run,) = _runs(session, "monthly_cycles")
    assert run.status is JobRunStatus.running

    # within the lease nobody takes it over: the holder might still be alive
    clock.move_to(fire + timedelta(minutes=10))
    assert not scheduler.run_due(app, "monthly_cycles").claimed  # type: ignore[union-attr]
    # after the lease the next process takes it over and completes it: no duplicates, no gaps
    clock.move_to(fire + timedelta(minutes=31))
    outcome = scheduler.run_due(app, "monthly_cycles")
    assert outcome is not None and outcome.claimed and outcome.error is None
    eligible = _eligible(session)
    assert outcome.counts is not None
    assert outcome.counts["opened"] == eligible - 20 and outcome.counts["already_open"] == 20
    subjects = _instances(session, "2031-07")
    assert len(subjects) == len(set(subjects)) == eligible
    (run,) = _runs(session, "monthly_cycles")
    assert (run.status, run.attempt) == (JobRunStatus.succeeded, 2)


def test_a_failed_run_is_retried_later_a_bounded_number_of_times(
    app: Any, session: Any, clock: Any, monkeypatch: Any
) -> None:
    calls: list[datetime] = []

    def flaky(ctx: scheduler.JobContext) -> dict[str, Any]:
        calls.append(ctx.scheduled_for)
        if len(calls) < 2:
            raise RuntimeError("database went away")
        return {"ok": 1}

    scheduler.register_default_jobs()
    monkeypatch.setitem(scheduler.JOBS, "flaky", scheduler.Job("flaky", flaky, "CRON_DAILY", "test"))
    scheduler.catch_up(app, only=["flaky"])  # first start: a baseline, nothing runs
    assert calls == []
    clock.move_to(datetime(2031, 6, 30, 7, 0, 1, tzinfo=SH))
    failed = scheduler.run_due(app, "flaky")
    assert failed is not None and failed.error == "RuntimeError: database went away"
    assert _runs(session, "flaky")[-1].status is JobRunStatus.failed
    assert scheduler.catch_up(app, only=["flaky"]) == {}  # too soon to retry
    clock.move_to(datetime(2031, 6, 30, 7, 6, tzinfo=SH))
    retried = scheduler.catch_up(app, only=["flaky"])["flaky"]
    assert [o.counts for o in retried] == [{"ok": 1}]
    last = _runs(session, "flaky")[-1]
    assert (last.status, last.attempt, last.error) == (JobRunStatus.succeeded, 2, None)
    assert calls == [datetime(2031, 6, 29, 23, 0, tzinfo=UTC)] * 2


def test_catch_up_after_a_week_of_downtime_runs_each_missed_job_once(app: Any, session: Any, clock: Any) -> None:
    # the scheduler ran on Sunday 29 June (first start: fire times before it are recorded, not run)
    assert scheduler.catch_up(app) == {}
    before = {job: _runs(session, job) for job in ("weekly_logs", "monthly_cycles", "overdue_digest")}
    assert all(len(runs) == 1 and runs[0].status is JobRunStatus.skipped for runs in before.values())
    # down until Sunday 6 July: missed Monday's weekly run, 1 July's monthly and quarterly runs, seven daily runs
    clock.move_to(datetime(2031, 7, 6, 10, 0, tzinfo=SH))
    done = scheduler.catch_up(app)
    assert sorted(done) == ["monthly_analysis", "monthly_cycles", "overdue_digest", "quarterly_publish", "weekly_logs"]
    assert all(len(outcomes) == 1 and outcomes[0].error is None for outcomes in done.values())
    assert done["monthly_cycles"][0].scheduled_for == datetime(2031, 7, 1, 1, 0, tzinfo=SH)
    assert done["monthly_cycles"][0].counts["period"] == "2031-06"  # type: ignore[index]
    assert done["weekly_logs"][0].counts["week"] == "2031-W27"  # type: ignore[index]
    assert done["quarterly_publish"][0].counts["quarter"] == "2031-Q2"  # type: ignore[index]
    assert done["overdue_digest"][0].scheduled_for == datetime(2031, 7, 6, 7, 0, tzinfo=SH)
    assert all(r.trigger is JobTrigger.catch_up for r in _runs(session, "weekly_logs")[1:])
    eligible = _eligible(session)
    assert len(_instances(session, "2031-06")) == eligible
    weekly = session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "weekly_log"))
    assert weekly == eligible  # one reminder per person, not seven
    # starting again finds nothing to do
    assert scheduler.catch_up(app) == {}


def test_catch_up_opens_every_missed_month_and_reminds_once(app: Any, session: Any, clock: Any) -> None:
    scheduler.catch_up(app, only=["monthly_cycles", "weekly_logs"])
    clock.move_to(datetime(2031, 8, 5, 9, 0, tzinfo=SH))  # down through 1 July and 1 August
    done = scheduler.catch_up(app, only=["monthly_cycles", "weekly_logs"])
    assert [o.counts["period"] for o in done["monthly_cycles"]] == ["2031-06", "2031-07"]  # type: ignore[index]
    assert [o.counts["week"] for o in done["weekly_logs"]] == ["2031-W32"]  # type: ignore[index]
    assert len(_instances(session, "2031-06")) == len(_instances(session, "2031-07")) == _eligible(session)


def test_run_now_is_one_claimed_manual_run(app: Any, session: Any, clock: Any) -> None:
    outcome = scheduler.run_now(app, "weekly_logs")
    assert outcome.claimed and outcome.counts == {
        "week": "2031-W26",
        "people": _eligible(session),
        "notified": _eligible(session),
        "missing": _eligible(session),  # nobody wrote last week's log, so everyone is reminded of it too
        "notified_missing": _eligible(session),
    }
    again = scheduler.run_now(app, "weekly_logs")  # a second click: the run exists, nobody is reminded twice
    assert not again.claimed
    clock.shift(timedelta(seconds=3))
    third = scheduler.run_now(app, "weekly_logs")
    assert third.claimed and third.counts["notified"] == 0  # type: ignore[index]
    assert [r.trigger for r in _runs(session, "weekly_logs")] == [JobTrigger.manual, JobTrigger.manual]
    with pytest.raises(scheduler.JobDisabled):
        scheduler.run_now(app, "email_outbox")  # no SMTP_HOST in tests


def test_the_timer_job_fires_a_due_reminder_through_its_claim(app: Any, session: Any, clock: Any) -> None:
    instance, _task = _to_section_score(session, "ljjd103", "2031-05")
    session.commit()
    start = datetime.now(UTC)
    clock.move_to(start + timedelta(days=1))
    assert scheduler.run_due(app, "workflow_timers").counts["fired"] == 0  # type: ignore[union-attr,index]
    clock.move_to(start + timedelta(days=3, minutes=1, seconds=20))
    outcome = scheduler.run_due(app, "workflow_timers")
    assert outcome is not None and outcome.counts is not None and outcome.counts["fired"] == 1
    assert outcome.scheduled_for == (start + timedelta(days=3, minutes=1)).replace(second=0, microsecond=0)
    reminders = session.scalars(
        select(Notification).where(Notification.instance_id == instance.id, Notification.kind == "reminder")
    ).all()
    assert len(reminders) == 1
    # the same minute in another process: not claimed
    assert not scheduler.run_due(app, "workflow_timers").claimed  # type: ignore[union-attr]


def test_overview_lists_schedule_last_and_next_run(app: Any, session: Any, clock: Any) -> None:
    scheduler.run_now(app, "overdue_digest")
    info = {i.job.name: i for i in scheduler.overview(session, app.config)}
    assert set(info) == {
        "weekly_logs",
        "monthly_cycles",
        "monthly_analysis",
        "quarterly_publish",
        "overdue_digest",
        "workflow_timers",
        "email_outbox",
    }
    assert info["monthly_cycles"].cron == "0 1 1 * *"
    assert info["monthly_cycles"].next_run == datetime(2031, 7, 1, 1, 0, tzinfo=SH)
    assert info["overdue_digest"].last is not None and info["overdue_digest"].last.status is JobRunStatus.succeeded
    assert not info["email_outbox"].enabled and info["email_outbox"].next_run is None


def test_opening_by_hand_and_by_the_scheduler_do_not_collide(app: Any, session: Any, clock: Any) -> None:
    by_hand = runtime.start_process(session, SYSTEM, PROCESS, "2031-06", _instances_person(session))
    session.commit()
    clock.move_to(datetime(2031, 7, 1, 1, 0, 3, tzinfo=SH))
    outcome = scheduler.run_due(app, "monthly_cycles")
    assert outcome is not None and outcome.counts is not None and outcome.counts["already_open"] == 1
    assert _instances(session, "2031-06").count(by_hand.instance.subject_id) == 1


def _instances_person(session: Any) -> int:
    from tests.conftest import demo_account

    return demo_account(session, "staff").person_id  # type: ignore[return-value]


def test_old_runs_of_the_per_minute_jobs_are_pruned_hourly(app: Any, session: Any, clock: Any) -> None:
    base = datetime(2031, 6, 25, 10, 0, tzinfo=SH)
    for minute in range(3):
        clock.move_to(base + timedelta(minutes=minute, seconds=5))
        scheduler.run_due(app, "workflow_timers")
    clock.move_to(datetime(2031, 6, 29, 13, 0, 5, tzinfo=SH))  # on the hour, four days later
    outcome = scheduler.run_due(app, "workflow_timers")
    assert outcome is not None and outcome.counts is not None and outcome.counts["pruned_runs"] == 3
    assert [r.scheduled_for for r in _runs(session, "workflow_timers")] == [datetime(2031, 6, 29, 13, 0, tzinfo=SH)]
