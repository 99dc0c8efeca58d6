"""Process analytics: step durations, waiting and overdue work per step and unit, checked against human_task rows."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.models import HumanTask, OrgUnit, ProcessDefinition, ProcessInstance, TaskStatus
from app.services.demo_activity import simulate_quarter
from app.workflow import analytics

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)


def _definition(session) -> ProcessDefinition:
    return session.scalar(
        select(ProcessDefinition)
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.process_key == "periodic_appraisal")
    )


def test_percentile_interpolates_between_ranks() -> None:
    assert analytics.percentile([], 0.5) is None
    assert analytics.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert analytics.percentile([float(i) for i in range(1, 11)], 0.9) == 9.1


def test_step_figures_match_the_task_rows(session) -> None:
    simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW)
    definition = _definition(session)
    figures = {f.step_id: f for f in analytics.step_figures(session, definition.id, now=NOW)}
    tasks = session.scalars(
        select(HumanTask).join(ProcessInstance).where(ProcessInstance.definition_id == definition.id)
    ).all()
    assert {"submit_summary", "section_score", "leader_review", "feedback"} <= set(figures)
    for step_id, f in figures.items():
        done = [
            (t.completed_at - t.created_at).total_seconds() / 3600
            for t in tasks
            if t.step_id == step_id and t.status is TaskStatus.completed
        ]
        waiting = [t for t in tasks if t.step_id == step_id and t.status is TaskStatus.ready]
        assert f.completed == len(done)
        assert f.median_hours == round(statistics.median(done), 1)
        assert f.p90_hours == round(statistics.quantiles(done, n=10, method="inclusive")[-1], 1)
        assert f.waiting == len(waiting)
        assert f.overdue == sum(1 for t in waiting if t.due_at is not None and t.due_at < NOW)
    assert figures["section_score"].median_hours > 1, "durations are the simulated days, not the seconds of the run"
    assert sum(f.overdue for f in figures.values()) > 0

    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "jgsw"))
    per_unit = analytics.overdue_by_unit(session, definition.id, unit_id=unit.id, now=NOW)
    assert sum(o.overdue for o in per_unit) == sum(f.overdue for f in figures.values())
    assert {o.unit_name for o in per_unit} == {unit.name}


def test_heat_map_page_for_the_office_and_a_unit_admin_only(client, session, login_as) -> None:
    simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW)
    session.commit()
    definition = _definition(session)
    login_as("perf_office")
    page = client.get(f"/analytics/processes/{definition.id}").get_data(as_text=True)
    assert 'id="heatmap"' in page and 'data-step="section_score"' in page
    assert client.get(f"/analytics/processes/{definition.id}/diagram.bpmn").status_code == 200
    client.post("/logout")
    login_as("unit_admin", unit_code="jgsw")
    assert 'data-step="section_score"' in client.get(f"/analytics/processes/{definition.id}").get_data(as_text=True)
    client.post("/logout")
    login_as("section_head", unit_code="jgsw")
    assert client.get(f"/analytics/processes/{definition.id}").status_code == 403


def test_heat_bands_are_shares_of_the_slowest_steps_median() -> None:
    assert [analytics.heat_band(h, 40.0) for h in (0.0, 9.9, 10.0, 19.9, 20.0, 29.9, 30.0, 40.0)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]
    assert analytics.heat_band(None, 40.0) is None and analytics.heat_band(3.0, None) is None
    assert analytics.heat_band(0.0, 0.0) == 0


def test_step_colour_follows_duration_and_overdue_work_is_counted_apart(session) -> None:
    simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW)
    figures = analytics.step_figures(session, _definition(session).id, now=NOW)
    slowest = max(f.median_hours for f in figures if f.median_hours is not None)
    for f in figures:
        assert f.heat == analytics.heat_band(f.median_hours, slowest)
        assert f.slowest_share == round(f.median_hours / slowest, 2)
    assert sorted({f.heat for f in figures})[-1] == 3 and len({f.heat for f in figures}) > 1
    quick_but_late = [f for f in figures if f.overdue and f.heat is not None and f.heat < 3]
    assert quick_but_late, "a step with overdue work keeps the colour of its duration"
