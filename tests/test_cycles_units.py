"""Cycles of a process whose subject is a unit (the monthly analysis report): one instance per unit.

Opening through ``cycles.open_cycle`` (the CLI, the office's page, the monthly job): enabled units
only, the back-fill of one unit, idempotent reruns, who may open, chunked commits; the status per
unit (opened, waiting at, overdue, completed); the CLI's output and the office's page.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import AnalysisReport, HumanTask, OrgKind, OrgUnit, ProcessInstance, TaskStatus
from app.services import cycles
from app.services.actor import SYSTEM, actor_for_user
from app.services.cycles_units import UnitSubjectStatus
from app.services.errors import Forbidden, Invalid
from app.services.periods import subject_kind
from app.workflow import runtime
from tests.conftest import demo_account

PROCESS = "monthly_analysis"
SECTIONS = {"overview": "总体平稳", "highlights": "亮点", "problems": "问题", "plan": "计划"}


def _unit(session: Any, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert unit is not None
    return unit


def _actor(session: Any, role: str, unit_code: str = "ljjd") -> Any:
    return actor_for_user(session, demo_account(session, role, unit_code=unit_code))


def _enabled(session: Any) -> list[int]:
    stmt = select(OrgUnit.id).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True)).order_by(OrgUnit.id)
    return list(session.scalars(stmt))


def _opened(session: Any, period: str) -> list[int]:
    stmt = select(ProcessInstance.subject_unit_id).where(
        ProcessInstance.process_key == PROCESS, ProcessInstance.period == period
    )
    return sorted(session.scalars(stmt))


def _ready(session: Any, instance_id: int) -> HumanTask:
    return session.scalar(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )


def test_the_process_declares_a_unit_subject() -> None:
    assert subject_kind(PROCESS) == "unit"
    assert subject_kind("periodic_appraisal") == subject_kind("a_process_the_office_added") == "person"


def test_opens_one_instance_per_enabled_unit_skips_the_others_and_reruns_open_nothing(session: Any) -> None:
    lcz = _unit(session, "lcz")
    lcz.enabled = False
    session.flush()
    units = session.scalar(select(func.count()).where(OrgUnit.kind == OrgKind.unit))
    enabled = _enabled(session)

    summary = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-05")

    assert (summary.opened, summary.already_open) == (len(enabled), 0)
    assert summary.skipped == {cycles.SKIP_UNIT_NOT_ENABLED: units - len(enabled)} and summary.considered == units
    assert _opened(session, "2031-05") == enabled
    instances = session.scalars(select(ProcessInstance).where(ProcessInstance.period == "2031-05")).all()
    assert all(i.subject_id is None for i in instances)
    # the process's own listener made each unit's report, waiting for its admin's draft
    reports = session.scalars(select(AnalysisReport).where(AnalysisReport.period == "2031-05")).all()
    assert sorted(r.unit_id for r in reports) == enabled
    first = _ready(session, instances[0].id)
    assert first.lane_role == "unit_admin" and first.unit_id == instances[0].subject_unit_id

    rerun = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-05")
    assert (rerun.opened, rerun.already_open) == (0, len(enabled))
    assert rerun.as_counts() == {
        "period": "2031-05",
        "opened": 0,
        "already_open": len(enabled),
        "skipped_unit_not_enabled": units - len(enabled),
    }
    # the back-fill opens the unit that is not enabled, and only it
    backfill = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-05", unit_id=lcz.id)
    assert (backfill.opened, backfill.already_open, backfill.skipped) == (1, 0, {})
    assert _opened(session, "2031-05") == sorted([*enabled, lcz.id])


def test_a_unit_opened_by_its_admin_first_counts_as_already_open(session: Any) -> None:
    ljjd = _unit(session, "ljjd")
    admin = _actor(session, "unit_admin")
    own = cycles.open_cycle(session, admin, PROCESS, "2031-06", unit_id=ljjd.id)
    assert (own.opened, own.already_open) == (1, 0)
    summary = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-06")
    assert summary.already_open == 1 and summary.opened == len(_enabled(session)) - 1


def test_who_may_open_and_what_is_refused(session: Any) -> None:
    ljjd, lcz = _unit(session, "ljjd"), _unit(session, "lcz")
    admin, staff = _actor(session, "unit_admin"), _actor(session, "staff")
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, admin, PROCESS, "2031-07")  # all units: the office's
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, admin, PROCESS, "2031-07", unit_id=lcz.id)  # another unit
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, staff, PROCESS, "2031-07", unit_id=ljjd.id)
    with pytest.raises(Invalid):
        cycles.open_cycle(session, SYSTEM, PROCESS, "2031-Q3")  # the report is monthly
    assert _opened(session, "2031-07") == []


def test_checkpoints_after_each_chunk_and_progress_counts_units(session: Any) -> None:
    enabled = _enabled(session)
    seen: list[tuple[int, int]] = []
    commits: list[int] = []

    def checkpoint() -> None:
        commits.append(len(_opened(session, "2031-08")))
        session.commit()

    summary = cycles.open_cycle(
        session,
        SYSTEM,
        PROCESS,
        "2031-08",
        progress=lambda d, t: seen.append((d, t)),
        checkpoint=checkpoint,
        chunk_size=2,
    )
    assert summary.opened == len(enabled)
    assert seen == [(i, len(enabled)) for i in range(1, len(enabled) + 1)]
    assert commits == [min(n, len(enabled)) for n in range(2, len(enabled) + 2, 2)]


def test_status_per_unit_follows_the_instance(session: Any) -> None:
    ljjd, lcz = _unit(session, "ljjd"), _unit(session, "lcz")
    admin = _actor(session, "unit_admin")
    cycles.open_cycle(session, SYSTEM, PROCESS, "2031-09", unit_id=ljjd.id)
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.subject_unit_id == ljjd.id))
    draft = _ready(session, instance.id)

    rows = {r.unit_id: r for r in cycles.cycle_status(session, "2031-09", PROCESS)}
    assert all(isinstance(r, UnitSubjectStatus) for r in rows.values())
    row = rows[ljjd.id]
    assert (row.state, row.instance_id, row.waiting, row.overdue) == ("running", instance.id, (draft.step_name,), 0)
    assert (row.people, row.opened, row.running, row.not_opened, row.completed_pct) == (1, 1, 1, 0, 0.0)
    assert (rows[lcz.id].state, rows[lcz.id].opened, rows[lcz.id].not_opened) == ("not_opened", 0, 1)
    assert draft.due_at is not None
    late = cycles.cycle_status(session, "2031-09", PROCESS, now=draft.due_at + timedelta(hours=1))
    assert next(r for r in late if r.unit_id == ljjd.id).overdue == 1

    runtime.complete_task(session, admin, draft.id, SECTIONS)
    principal = _actor(session, "unit_principal")
    runtime.complete_task(session, principal, _ready(session, instance.id).id, {"decision": "approve"})
    office = _actor(session, "perf_office")
    runtime.complete_task(session, office, _ready(session, instance.id).id, {"decision": "done", "comment": "好"})
    done = next(r for r in cycles.cycle_status(session, "2031-09", PROCESS) if r.unit_id == ljjd.id)
    assert (done.state, done.completed, done.running, done.waiting, done.completed_pct) == (
        "completed",
        1,
        0,
        (),
        100.0,
    )


def test_cli_opens_and_shows_status_per_unit(app: Any, session: Any) -> None:
    runner = app.test_cli_runner()
    lcz = _unit(session, "lcz")
    lcz.enabled = False
    session.commit()
    enabled = _enabled(session)
    opened = runner.invoke(args=["cycles", "open", "--process", PROCESS, "--period", "2031-10"])
    assert opened.exit_code == 0, opened.output
    assert f"opened:       {len(enabled)}" in opened.output and "unit not enabled" in opened.output
    again = runner.invoke(args=["cycles", "open", "--process", PROCESS, "--period", "2031-10"])
    assert "opened:       0" in again.output and f"already open: {len(enabled)}" in again.output
    backfill = runner.invoke(
        args=["cycles", "open", "--process", PROCESS, "--period", "2031-10", "--unit", str(lcz.id)]
    )
    assert backfill.exit_code == 0 and "opened:       1" in backfill.output

    status = runner.invoke(args=["cycles", "status", "--process", PROCESS, "--period", "2031-10"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    lcz_line = next(line for line in lines if line.startswith("龙川镇"))
    instance = session.scalar(select(ProcessInstance.id).where(ProcessInstance.subject_unit_id == lcz.id))
    assert f"#{instance}" in lcz_line and "running" in lcz_line and "撰写月分析报告" in lcz_line
    assert lines[-1].startswith(f"total: {len(enabled) + 1} opened")
    bad = runner.invoke(args=["cycles", "open", "--process", PROCESS, "--period", "2031-W40"])
    assert bad.exit_code != 0


def test_office_page_shows_units_and_opens_one(client: Any, session: Any, login_as: Any) -> None:
    jxb = _unit(session, "jxb")  # the office's own unit, not enabled
    login_as("perf_office")
    page = client.get(f"/office/scheduler?process={PROCESS}&period=2031-11")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-subject="unit"' in html
    assert re.search(rf'data-unit="{jxb.id}" data-state="not_opened" data-opened="0"', html)
    opened = client.post(f"/office/scheduler/units/{jxb.id}/open?process={PROCESS}&period=2031-11")
    assert opened.status_code == 302
    assert _opened(session, "2031-11") == [jxb.id]
    html = client.get(f"/office/scheduler?process={PROCESS}&period=2031-11").get_data(as_text=True)
    assert re.search(rf'data-unit="{jxb.id}" data-state="running" data-opened="1" data-running="1"', html)
    assert "撰写月分析报告" in html
