"""The unit's monthly analysis report: figures from the records, the flow, the office's view, access, the job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app import scheduler
from app.models import (
    AnalysisReport,
    AppraisalRecord,
    HumanTask,
    LogEntry,
    OrgKind,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessInstance,
    ReportStatus,
    TaskStatus,
    WeeklyLog,
)
from app.services.actor import SYSTEM, actor_for_user
from app.services.analysis import figures, reports
from app.services.errors import Forbidden, Invalid
from app.workflow import designer, migrate, repository, runtime
from tests.conftest import demo_account

MONTH = "2031-03"  # far from the demo's own months: nothing else lives there
SECTIONS = {"overview": "总体平稳", "highlights": "亮点", "problems": "问题", "plan": "计划"}


def _actor(session: Any, role: str, unit_code: str = "ljjd") -> Any:
    return actor_for_user(session, demo_account(session, role, unit_code=unit_code))


def _unit(session: Any, code: str = "ljjd") -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _ready(session: Any, report: AnalysisReport) -> HumanTask:
    return session.scalar(
        select(HumanTask).where(HumanTask.instance_id == report.instance_id, HumanTask.status == TaskStatus.ready)
    )


def _people(session: Any, unit: OrgUnit) -> list[Person]:
    sections = select(OrgUnit.id).where(OrgUnit.parent_id == unit.id)
    return list(
        session.scalars(
            select(Person)
            .where(Person.section_id.in_(sections), Person.status == PersonStatus.active)
            .order_by(Person.id)
        )
    )


def test_report_figures_match_the_records(session: Any) -> None:
    unit = _unit(session)
    people = _people(session, unit)[:5]
    as_of = datetime(2031, 4, 3, 2, 0, tzinfo=UTC)
    scores = [Decimal("95"), Decimal("82.5"), Decimal("58"), None, None]
    for person in people:
        runtime.start_process(session, SYSTEM, "periodic_appraisal", MONTH, person.id)
    records = {
        r.person_id: r
        for r in session.scalars(select(AppraisalRecord).where(AppraisalRecord.period == MONTH))
        if r.person_id in {p.id for p in people}
    }
    for index, (person, score) in enumerate(zip(people, scores, strict=True)):
        record = records[person.id]
        record.created_at = as_of - timedelta(days=3)
        if index < 3:
            record.summary_at = as_of - timedelta(days=1)
        if score is not None:
            record.score, record.scored_at = score, as_of - timedelta(hours=5)
    records[people[0].id].archived_at = as_of - timedelta(hours=1)
    records[people[1].id].adjusted_score, records[people[1].id].reviewed_at = Decimal("88"), as_of - timedelta(hours=2)
    records[people[2].id].scored_at = as_of + timedelta(days=1)  # scored after the snapshot: not counted
    # weekly logs: person 0 writes every week on time, person 1 writes week 10 late, the rest nothing
    weeks = ["2031-W10", "2031-W11", "2031-W12", "2031-W13"]  # the ISO weeks whose Thursday is in March 2031
    for week in weeks:
        monday = datetime.fromisocalendar(2031, int(week[6:]), 1).replace(tzinfo=UTC)
        log = WeeklyLog(person_id=people[0].id, week=week, first_written_at=monday + timedelta(days=2))
        log.entries.append(LogEntry(position=0, content="工作"))
        session.add(log)
    late = WeeklyLog(person_id=people[1].id, week="2031-W10", first_written_at=datetime(2031, 3, 20, 3, tzinfo=UTC))
    late.entries.append(LogEntry(position=0, content="补记"))
    session.add(late)
    session.flush()

    got = figures.compute(session, unit.id, MONTH, as_of)

    everyone = len(_people(session, unit))
    assert got["completion"] == {"people_in_cycle": 5, "submitted": 3, "archived": 1, "completion_rate": 60.0}
    final = [Decimal("95"), Decimal("88")]  # the leader's adjustment counts; the later score does not
    assert got["scores"]["scored"] == 2
    assert got["scores"]["mean"] == float(sum(final) / 2)
    assert (got["scores"]["min"], got["scores"]["max"]) == (88.0, 95.0)
    assert got["scores"]["bands"] == {"below_60": 0, "60_69": 0, "70_79": 0, "80_89": 1, "90_100": 1}
    expected = everyone * 4
    assert got["logs"]["expected"] == expected
    assert got["logs"]["on_time"] == 4
    assert got["logs"]["late"] == 1
    assert got["logs"]["missing"] == expected - 5
    assert got["previous"]["period"] == "2031-02"
    assert got["previous"]["completion"]["people_in_cycle"] == 0
    assert got["changes"]["late_or_missing_logs"] == got["logs"]["late"] + got["logs"]["missing"] - (
        got["previous"]["logs"]["late"] + got["previous"]["logs"]["missing"]
    )
    # tasks: open and past their due date at the moment; one finished in time before it no longer counts
    unit_tasks = list(session.scalars(select(HumanTask).where(HumanTask.unit_id == unit.id)))

    def overdue(rows: list[HumanTask]) -> int:
        return sum(
            1
            for t in rows
            if t.due_at is not None
            and t.due_at < as_of
            and t.created_at <= as_of
            and (t.completed_at is None or t.completed_at > as_of)
        )

    assert got["tasks"]["overdue_open"] == overdue(unit_tasks) > 0
    mine = next(t for t in unit_tasks if t.period == MONTH)
    mine.status, mine.completed_at = TaskStatus.completed, mine.created_at + timedelta(minutes=5)
    session.flush()
    assert figures.compute(session, unit.id, MONTH, as_of)["tasks"]["overdue_open"] == overdue(unit_tasks)
    assert overdue(unit_tasks) == got["tasks"]["overdue_open"] - 1


def _draft(session: Any, actor: Any, report: AnalysisReport, **changes: str) -> None:
    runtime.complete_task(session, actor, _ready(session, report).id, {**SECTIONS, **changes})


def test_flow_drafted_returned_redrafted_approved_and_reviewed(session: Any) -> None:
    unit = _unit(session)
    admin, principal, office = (
        _actor(session, "unit_admin"),
        _actor(session, "unit_principal"),
        _actor(session, "perf_office"),
    )
    report, created = reports.open_report(session, office, unit.id, MONTH)
    assert created and report.status is ReportStatus.drafting
    task = _ready(session, report)
    assert task.subject_id is None and task.unit_id == unit.id and task.lane_role == "unit_admin"
    assert {c.person_id for c in task.candidates} == {admin.person_id}
    session.commit()
    with pytest.raises(Invalid) as missing:
        runtime.complete_task(session, admin, task.id, {**SECTIONS, "plan": ""})
    assert "plan" in missing.value.fields
    session.rollback()
    report = session.get(AnalysisReport, report.id)

    _draft(session, admin, report)
    assert report.status is ReportStatus.approving and report.figures is not None and report.figures_at is not None
    assert {c.person_id for c in _ready(session, report).candidates} == {principal.person_id}
    runtime.complete_task(session, principal, _ready(session, report).id, {"decision": "return", "comment": "补充问题"})
    assert report.status is ReportStatus.drafting and report.returned
    _draft(session, admin, report, problems="问题已补充")
    runtime.complete_task(session, principal, _ready(session, report).id, {"decision": "approve"})
    assert report.status is ReportStatus.reviewing and report.approved_by_id == principal.person_id
    review = _ready(session, report)
    assert review.lane_role == "perf_office" and office.person_id in {c.person_id for c in review.candidates}
    runtime.complete_task(session, office, review.id, {"decision": "done", "comment": "分析到位"})
    assert report.status is ReportStatus.closed and report.review_comment == "分析到位"
    assert session.get(ProcessInstance, report.instance_id).status.value == "completed"
    assert [(c.step, c.decision, c.text) for c in report.comments] == [
        ("approve", "return", "补充问题"),
        ("review", "done", "分析到位"),
    ]
    assert report.problems == "问题已补充"
    assert reports.check_snapshot(session, office, report) == {}
    # opening again finds the same report
    again, created = reports.open_report(session, admin, unit.id, MONTH)
    assert again.id == report.id and not created


def test_office_overview_and_side_by_side(session: Any, client: Any, login_as: Any) -> None:
    office, admin = _actor(session, "perf_office"), _actor(session, "unit_admin")
    ljjd, lcz = _unit(session), _unit(session, "lcz")
    report, _ = reports.open_report(session, office, ljjd.id, MONTH)
    reports.open_report(session, office, lcz.id, MONTH)
    _draft(session, admin, report)
    states = {row.unit.id: row.state for row in reports.overview(session, office, MONTH)}
    assert states[ljjd.id] == "approving" and states[lcz.id] == "drafting"
    enabled = session.scalars(select(OrgUnit.id).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True)))
    assert set(enabled) <= set(states)
    assert [r.unit_id for r in reports.reports_of(session, office, MONTH)] == [ljjd.id]
    with pytest.raises(Forbidden):
        reports.overview(session, admin, MONTH)
    session.commit()
    login_as("perf_office")
    page = client.get(f"/analysis/office?period={MONTH}")
    assert page.status_code == 200 and f'data-unit="{lcz.id}" data-state="drafting"' in page.text
    side = client.get(f"/analysis/office/compare?period={MONTH}&unit={ljjd.id}&layout=stacked")
    assert side.status_code == 200 and f'data-report="{report.id}"' in side.text and "亮点" in side.text


def test_access_other_units_admin_and_staff_cannot_read_or_edit(session: Any, client: Any, login_as: Any) -> None:
    office = _actor(session, "perf_office")
    report, _ = reports.open_report(session, office, _unit(session).id, MONTH)
    other_admin, staff = _actor(session, "unit_admin", "lcz"), _actor(session, "staff")
    for actor in (other_admin, staff):
        with pytest.raises(Forbidden):
            reports.get_report(session, actor, report.id)
        with pytest.raises(Forbidden):
            reports.save_draft(session, actor, report, SECTIONS)
        with pytest.raises(Forbidden):
            runtime.complete_task(session, actor, _ready(session, report).id, SECTIONS)
    with pytest.raises(Forbidden):
        reports.open_report(session, other_admin, report.unit_id, MONTH)
    session.commit()
    login_as("unit_admin", unit_code="lcz")
    assert client.get(f"/analysis/reports/{report.id}").status_code == 403
    client.post("/logout")
    login_as("staff")
    assert client.get(f"/analysis/reports/{report.id}").status_code == 403
    assert client.get("/analysis/reports").status_code == 403
    client.post("/logout")
    login_as("unit_admin")
    mine = client.get(f"/analysis/reports/{report.id}")  # the admin is who the draft waits for: a link to it
    assert mine.status_code == 200 and f'href="/analysis/tasks/{_ready(session, report).id}"' in mine.text
    client.post("/logout")
    login_as("unit_principal")
    assert 'id="report-act"' not in client.get(f"/analysis/reports/{report.id}").text  # readable, nothing to do
    client.post("/logout")
    login_as("unit_admin")
    page = client.get(f"/analysis/tasks/{_ready(session, report).id}")
    assert page.status_code == 200 and 'name="overview"' in page.text


def test_draft_page_saves_submits_and_rejects_an_incomplete_report(session: Any, client: Any, login_as: Any) -> None:
    report, _ = reports.open_report(session, _actor(session, "perf_office"), _unit(session).id, MONTH)
    task_id = _ready(session, report).id
    session.commit()
    login_as("unit_admin")
    saved = client.post(f"/analysis/tasks/{task_id}", data={**SECTIONS, "plan": "", "action": "save"})
    assert saved.status_code == 302
    session.expire_all()
    assert session.get(AnalysisReport, report.id).highlights == "亮点"
    refused = client.post(f"/analysis/tasks/{task_id}", data={**SECTIONS, "plan": "", "action": "submit"})
    assert refused.status_code == 422 and "亮点" in refused.text
    session.expire_all()
    assert session.get(AnalysisReport, report.id).status is ReportStatus.drafting
    done = client.post(f"/analysis/tasks/{task_id}", data={**SECTIONS, "action": "submit"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(AnalysisReport, report.id).status is ReportStatus.approving


def test_api_lists_and_opens_reports(session: Any, client: Any, api_token: Any) -> None:
    unit = _unit(session)
    headers = api_token("perf_office")
    opened = client.post("/api/v1/analysis-reports", json={"unit_id": unit.id, "period": MONTH}, headers=headers)
    assert opened.status_code == 201 and opened.get_json()["status"] == "drafting"
    again = client.post("/api/v1/analysis-reports", json={"unit_id": unit.id, "period": MONTH}, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == opened.get_json()["id"]
    overview = client.get(f"/api/v1/analysis-reports/overview?period={MONTH}", headers=headers).get_json()
    row = next(i for i in overview["items"] if i["unit"]["id"] == unit.id)
    assert row["state"] == "drafting" and row["report_id"] == opened.get_json()["id"]
    staff = api_token("staff")
    assert client.get(f"/api/v1/analysis-reports/{opened.get_json()['id']}", headers=staff).status_code == 403
    bad = client.get("/api/v1/analysis-reports?period=2031-Q1", headers=headers)
    assert bad.status_code == 422


def test_monthly_job_opens_each_enabled_unit_once(app: Any, session: Any) -> None:
    scheduler.register_default_jobs()
    fire = datetime(2031, 4, 1, 1, 0, tzinfo=UTC)
    outcome = scheduler.execute(app, "monthly_analysis", fire, now=fire + timedelta(seconds=5))
    enabled = list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == OrgKind.unit, OrgUnit.enabled.is_(True))))
    units = session.scalar(select(func.count()).where(OrgUnit.kind == OrgKind.unit))
    assert outcome.error is None
    assert outcome.counts == {
        "period": "2031-03",
        "opened": len(enabled),
        "already_open": 0,
        "skipped_unit_not_enabled": units - len(enabled),  # the office's own unit is not in the rollout
    }
    rerun = reports.open_month(session, SYSTEM, "2031-03")
    assert (rerun.opened, rerun.already_open) == (0, len(enabled))
    opened = session.scalars(select(AnalysisReport.unit_id).where(AnalysisReport.period == "2031-03")).all()
    assert sorted(opened) == sorted(enabled)


def _version_two() -> str:
    """The shipped report flow with the draft step renamed and the principal's step given a new id."""
    xml = repository.shipped_files()[reports.PROCESS].read_text(encoding="utf-8")
    xml = xml.replace('name="撰写月分析报告"', 'name="撰写并核对月分析报告"')
    return xml.replace('"principal_approve"', '"principal_sign"').replace(">principal_approve<", ">principal_sign<")


def test_office_moves_running_reports_onto_a_new_version_of_their_unit(
    session: Any, client: Any, login_as: Any
) -> None:
    office, admin = _actor(session, "perf_office"), _actor(session, "unit_admin")
    principal = _actor(session, "unit_principal")
    ljjd, lcz = _unit(session), _unit(session, "lcz")
    at_draft, _ = reports.open_report(session, office, ljjd.id, MONTH)
    at_approve, _ = reports.open_report(session, office, ljjd.id, "2031-02")
    _draft(session, admin, at_approve)
    elsewhere, _ = reports.open_report(session, office, lcz.id, MONTH)
    version = designer.save_draft(session, office, reports.PROCESS, _version_two())
    designer.deploy(session, office, reports.PROCESS, version.id, ljjd.id)  # for 龙景街道 only

    _target, candidates = migrate.preview(session, reports.PROCESS, version.id)
    by_instance = {c.instance.id: c for c in candidates}
    assert set(by_instance) == {at_draft.instance_id, at_approve.instance_id}  # not the other unit's
    assert elsewhere.instance_id not in by_instance
    assert by_instance[at_draft.instance_id].can_move and by_instance[at_draft.instance_id].waiting == [
        "撰写月分析报告"
    ]
    refused = by_instance[at_approve.instance_id]
    assert not refused.can_move and "principal_approve" in (refused.reason or "")
    session.commit()
    login_as("perf_office")
    page = client.get(f"/processes/{reports.PROCESS}/versions/{version.id}/migrate")
    assert page.status_code == 200 and f'data-instance="{at_draft.instance_id}" data-can-move="yes"' in page.text
    assert ljjd.name in page.text
    client.post("/logout")

    result = migrate.migrate(
        session, office, reports.PROCESS, version.id, [at_draft.instance_id, at_approve.instance_id]
    )
    assert result.moved == [at_draft.instance_id] and at_approve.instance_id in result.refused
    moved = session.get(ProcessInstance, at_draft.instance_id)
    assert moved.definition_id == version.id and moved.subject_unit_id == ljjd.id
    task = _ready(session, at_draft)
    assert task.step_name == "撰写并核对月分析报告" and {c.person_id for c in task.candidates} == {admin.person_id}
    _draft(session, admin, at_draft)
    sign = _ready(session, at_draft)
    assert sign.step_id == "principal_sign" and {c.person_id for c in sign.candidates} == {principal.person_id}
    assert at_draft.status is ReportStatus.approving
    assert session.get(ProcessInstance, at_approve.instance_id).definition.version == 1


def test_the_draft_task_is_on_the_unit_admins_own_dashboard(session: Any) -> None:
    """A task about a unit (no person subject) is listed among "My tasks", named after the unit."""
    from app.services.dashboard import staff as staff_dashboard

    unit = _unit(session)
    admin = _actor(session, "unit_admin")
    report, _ = reports.open_report(session, _actor(session, "perf_office"), unit.id, MONTH)
    task = _ready(session, report)
    dash = staff_dashboard.staff_dashboard(session, admin, MONTH[:4])
    mine = {r["task_id"]: r for r in dash.panel("my_tasks").table.rows}
    assert task.id in mine
    assert mine[task.id]["subject"] == unit.name and mine[task.id]["period"] == MONTH
