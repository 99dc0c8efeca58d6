"""Dashboard panels on the appraisal results: bonus and deduction points, grades within the quota, differentiation
flags, my grades and items, the registration form's grades — each checked against the records the services wrote.

Items go through the bonus process (proposal by the section head, evidence, the principal's approval) and results
through ``compute_period_results`` / ``confirm_grades`` on the demo's 机关事务管理中心 after a simulated quarter.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import BonusItem, HumanTask, OrgUnit, Person, ResultStatus, TaskStatus, UserAccount
from app.services import evidence
from app.services.actor import Actor, actor_for_user
from app.services.appraisal import bonus_items, grading, results
from app.services.appraisal.bonus import counted_points
from app.services.appraisal.differentiation import Thresholds, reasons_for
from app.services.appraisal.scheme import PERIOD_GRADES
from app.services.dashboard import office, staff, unit
from app.services.dashboard.differentiation import reviewer_differentiation
from app.services.dashboard.grades import GRADES, quarter_of
from app.services.dashboard.registration import registration_form
from app.services.demo_activity import simulate_quarter
from app.services.errors import Conflict
from app.workflow import runtime
from tests.conftest import demo_account

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)
CODE = "jgsw"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
D = Decimal


@pytest.fixture
def quarter(session: Any) -> OrgUnit:
    simulate_quarter(session, TODAY, unit_codes=[CODE], now=NOW)
    session.commit()
    return session.scalar(select(OrgUnit).where(OrgUnit.code == CODE))


def _actor(session: Any, role: str) -> Actor:
    return actor_for_user(session, demo_account(session, role, unit_code=CODE))


def _member(session: Any) -> Person:
    return session.scalar(
        select(Person).join(UserAccount, UserAccount.person_id == Person.id).where(UserAccount.username == f"{CODE}103")
    )


def _item(session: Any, tmp_path: Path, person: Person, kind: str, points: str, day: date, *, decide: bool = True):
    """An item proposed by the section head with evidence, approved by the principal unless ``decide`` is off."""
    head = _actor(session, "section_head")
    data = {"kind": kind, "points": points, "occurred_on": day.isoformat(), "reason": "专项工作成效突出"}
    item = bonus_items.propose(session, head, person.id, data, TODAY).item
    bonus_items.add_evidence(session, head, item.id, evidence.Upload("表彰文件.pdf", PDF), tmp_path, 5 * 1024 * 1024)
    if decide:
        task = session.scalar(
            select(HumanTask).where(HumanTask.instance_id == item.instance_id, HumanTask.status == TaskStatus.ready)
        )
        runtime.complete_task(
            session, _actor(session, "unit_principal"), task.id, {"decision": "approve", "comment": "同意"}
        )
    return item


def test_months_and_quarters_map_to_their_quarter() -> None:
    assert [quarter_of(p) for p in ("2026-01", "2026-10", "2026-12", "2026-Q2", "2026")] == [
        "2026-Q1",
        "2026-Q4",
        "2026-Q4",
        "2026-Q2",
        "2026-Q4",
    ]


def test_unit_and_staff_see_the_counted_points_of_approved_items(session, quarter, tmp_path) -> None:
    me = _member(session)
    _item(session, tmp_path, me, "innovation", "3", date(2026, 10, 12))
    _item(session, tmp_path, me, "commendation", "4", date(2026, 11, 3))  # the quarter's cap of 5 is reached
    _item(session, tmp_path, me, "criticism", "1.5", date(2026, 10, 20))
    _item(session, tmp_path, me, "information", "2", date(2026, 11, 4), decide=False)  # not approved: not counted
    _item(session, tmp_path, me, "innovation", "1", date(2026, 8, 4))  # the quarter before

    dash = unit.unit_dashboard(session, _actor(session, "unit_admin"), quarter.id, "2026-10", now=NOW)
    panel = dash.panel("bonus_points")
    assert "2026-Q4" in panel.title
    (row,) = [r for r in panel.table.rows if r["name"] == me.name]
    want = counted_points(session, me.id, "2026-Q4")
    assert (row["bonus_raw"], row["bonus"], row["deduction_raw"], row["deduction"], row["net"]) == (
        D(7),
        D(5),
        D("1.5"),
        D("1.5"),
        D("3.5"),
    )
    assert (row["bonus"], row["net"]) == (want.bonus_counted, want.net)
    assert row["flagged"] and row["capped"] == want.capped_note
    assert len(panel.table.rows) == 1, "only people with approved items of the quarter are listed"

    mine = staff.staff_dashboard(session, _actor(session, "staff"), "2026", now=NOW).panel("my_points").table.rows
    items = session.scalars(select(BonusItem).where(BonusItem.person_id == me.id)).all()
    assert len(mine) == len(items) == 5
    assert sorted(r["points"] for r in mine) == [D("-1.5"), D(1), D(2), D(3), D(4)]
    assert Counter(str(r["status"]) for r in mine) == {"Approved": 4, "Awaiting approval": 1}
    assert [r["occurred_on"] for r in mine] == sorted(r["occurred_on"] for r in mine)


def test_grades_within_the_quota_match_the_computed_results(session, quarter) -> None:
    admin = _actor(session, "unit_admin")
    empty = unit.unit_dashboard(session, admin, quarter.id, "2026-09", now=NOW).panel("grades")
    assert empty.table.rows == []
    computed = results.compute_period_results(session, admin, quarter.id, "2026-Q3")
    assert computed, "the simulated August and September were archived"

    # the month after the quarter still shows the latest quarter with results
    for period in ("2026-09", "2026-Q3", "2026-10"):
        panel = unit.unit_dashboard(session, admin, quarter.id, period, now=NOW).panel("grades")
        rows = {r["grade"]: r for r in panel.table.rows}
        held, by_threshold = Counter(r.grade for r in computed), Counter(r.computed_grade for r in computed)
        cap = int(D("0.4") * len(computed))
        for g in PERIOD_GRADES:
            assert (rows[GRADES[g]]["people"], rows[GRADES[g]]["computed"]) == (held[g], by_threshold[g])
        top = rows[GRADES["good"]]
        assert top["quota"] == cap and top["flagged"] == (held["good"] > cap)
        assert "2026-Q3" in panel.note and sum(r["people"] for r in rows.values()) == len(computed)

    by_unit = office.office_dashboard(session, _actor(session, "perf_office"), "2026-Q3", now=NOW)
    (row,) = [r for r in by_unit.panel("grades_by_unit").table.rows if r["unit_id"] == quarter.id]
    assert row["graded"] == len(computed) and row["quota"] == int(D("0.4") * len(computed))
    assert all(row[f"grade_{g}"] == Counter(r.grade for r in computed)[g] for g in PERIOD_GRADES)
    assert row["confirmed"] == 0


def test_confirmed_grades_reach_my_dashboard_and_the_registration_form(session, quarter) -> None:
    admin, me = _actor(session, "unit_admin"), _member(session)
    results.compute_period_results(session, admin, quarter.id, "2026-Q3")
    assert staff.staff_dashboard(session, _actor(session, "staff"), "2026", now=NOW).panel("my_grades").table.rows == []
    form = registration_form(session, admin, me.id, "2026")
    assert [(g.period, g.grade) for g in form.grades] == [("2026-Q3", "—")], "a draft shows no grade"
    try:
        grading.confirm_grades(session, admin, quarter.id, "2026-Q3")
    except Conflict as over:
        keep = [c["person_id"] for c in over.details["candidates"]][
            : grading.grading_state(session, quarter.id, "2026-Q3")[0].cap
        ]
        grading.confirm_grades(session, admin, quarter.id, "2026-Q3", {pid: "good" for pid in keep})
    mine = next(r for r in results.period_results(session, quarter.id, "2026-Q3") if r.person_id == me.id)
    assert mine.status is ResultStatus.confirmed

    rows = staff.staff_dashboard(session, _actor(session, "staff"), "2026", now=NOW).panel("my_grades").table.rows
    assert [(r["period"], r["total"], r["grade"]) for r in rows] == [("2026-Q3", mine.total, GRADES[mine.grade])]
    form = registration_form(session, admin, me.id, "2026")
    assert [(g.period, g.grade, g.total) for g in form.grades] == [("2026-Q3", GRADES[mine.grade], mine.total)]
    office_row = next(
        r
        for r in office.office_dashboard(session, _actor(session, "perf_office"), "2026-Q3", now=NOW)
        .panel("grades_by_unit")
        .table.rows
        if r["unit_id"] == quarter.id
    )
    assert office_row["confirmed"] == office_row["graded"] and not office_row["flagged"]


def test_differentiation_panel_flags_by_the_flag_services_thresholds(session, quarter) -> None:
    strict = Thresholds(min_scores=3, full_marks_share=0.8, min_spread=3.0, equal_share=0.8)
    panel = unit.unit_dashboard(
        session, _actor(session, "unit_admin"), quarter.id, "2026-Q3", now=NOW, limits=strict
    ).panel("differentiation")
    figures = {r.reviewer_name: r for r in reviewer_differentiation(session, quarter.id, "2026-Q3")}
    assert len(panel.table.rows) == len(figures)
    for row in panel.table.rows:
        reasons = reasons_for(figures[row["reviewer"]], strict)
        assert row["flagged"] == bool(reasons)
        assert row["flag"] == (reasons or "Yes")
    assert any(r["flagged"] for r in panel.table.rows), "the lenient head's full marks are flagged"
    assert not all(r["flagged"] for r in panel.table.rows)


def test_unit_page_renders_the_new_panels_with_the_reasons(client, session, quarter, login_as, tmp_path) -> None:
    _item(session, tmp_path, _member(session), "innovation", "2", date(2026, 10, 12))
    results.compute_period_results(session, _actor(session, "unit_admin"), quarter.id, "2026-Q3")
    session.commit()
    login_as("unit_admin", unit_code=CODE)
    page = client.get(f"/dashboard/unit/{quarter.id}?period=2026-Q4").get_data(as_text=True)
    for key in ("bonus_points", "grades", "differentiation"):
        assert f'data-table="{key}"' in page, key
    page = client.get(f"/dashboard/unit/{quarter.id}?period=2026-Q3").get_data(as_text=True)
    assert 'data-flagged="true"' in page and "scores at full marks" not in page, "reasons are shown translated"
    r = client.get(f"/dashboard/unit/export/differentiation.xlsx?id={quarter.id}&period=2026-Q3")
    assert r.status_code == 200
