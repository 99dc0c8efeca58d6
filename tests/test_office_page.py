"""The performance office's scheduler page: access, jobs, run now, cycle status, back-fill, enabling units."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.models import JobRun, JobTrigger, Notification, OrgUnit, ProcessInstance
from tests.conftest import login

PROCESS = "periodic_appraisal"


def _unit(session: Any, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert unit is not None
    return unit


def test_only_the_performance_office_sees_the_page(client: Any, session: Any) -> None:
    for username in ("ljjd103", "ljjd102", "ljjd101", "ljjd_principal"):
        login(client, username)
        assert client.get("/office/scheduler").status_code == 403, username
        assert client.post("/office/scheduler/jobs/weekly_logs/run").status_code == 403
        assert 'data-nav="cycles"' not in client.get("/").get_data(as_text=True)
        client.post("/logout")
    login(client, "office1")
    assert 'data-nav="cycles"' in client.get("/").get_data(as_text=True)
    r = client.get("/office/scheduler")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for job in ("weekly_logs", "monthly_cycles", "quarterly_publish", "overdue_digest", "workflow_timers"):
        assert f'data-job="{job}"' in html and f'data-run="{job}"' in html
    assert "0 1 1 * *" in html
    assert 'data-job="email_outbox"' in html and 'data-run="email_outbox"' not in html  # off without SMTP_HOST
    assert 'id="cycle-status"' in html and html.count("data-unit=") == 7


def test_run_now_runs_the_job_once_and_shows_its_result(client: Any, session: Any) -> None:
    login(client, "office1")
    r = client.post("/office/scheduler/jobs/weekly_logs/run")
    assert r.status_code == 302
    run = session.scalar(select(JobRun).where(JobRun.job == "weekly_logs"))
    assert run is not None and run.trigger is JobTrigger.manual and run.counts and run.counts["notified"] > 100
    html = client.get("/office/scheduler").get_data(as_text=True)
    row = html[html.index('data-job="weekly_logs"') :]
    assert 'data-last-status="succeeded"' in row[:2000] and "notified=" in row[:2000]
    assert client.post("/office/scheduler/jobs/no_such_job/run").status_code == 404
    r = client.post("/office/scheduler/jobs/email_outbox/run", follow_redirects=True)
    assert r.status_code == 200 and session.scalar(select(JobRun).where(JobRun.job == "email_outbox")) is None


def test_cycle_status_back_fill_and_enabling_a_unit(client: Any, session: Any) -> None:
    login(client, "office1")
    office_unit = _unit(session, "jxb")  # not enabled
    ljjd = _unit(session, "ljjd")
    html = client.get("/office/scheduler?period=2031-09").get_data(as_text=True)
    assert re.search(rf'data-unit="{ljjd.id}" data-opened="0"', html)
    # enabling the office's unit opens nothing by itself
    r = client.post(f"/office/scheduler/units/{office_unit.id}/enabled?period=2031-09", data={"enabled": "1"})
    assert r.status_code == 302
    session.refresh(office_unit)
    assert office_unit.enabled
    opened = select(ProcessInstance).where(ProcessInstance.period == "2031-09", ProcessInstance.process_key == PROCESS)
    assert session.scalars(opened).all() == []
    # "Open" back-fills the period for that unit only
    r = client.post(f"/office/scheduler/units/{office_unit.id}/open?period=2031-09&process={PROCESS}")
    assert r.status_code == 302
    instances = session.scalars(opened).all()
    assert len(instances) == 5 and {i.subject.section.parent_id for i in instances} == {office_unit.id}
    html = client.get("/office/scheduler?period=2031-09").get_data(as_text=True)
    assert re.search(rf'data-unit="{office_unit.id}" data-opened="5" data-running="5"', html)
    # the subjects were told
    assert session.scalar(select(Notification).where(Notification.instance_id == instances[0].id)) is not None
    r = client.post(f"/office/scheduler/units/{office_unit.id}/enabled", data={"enabled": "0"})
    session.refresh(office_unit)
    assert r.status_code == 302 and not office_unit.enabled
    # a malformed period is refused, not crashed on
    assert client.get("/office/scheduler?period=September").status_code == 422
