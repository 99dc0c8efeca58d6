"""Dashboards: figures checked against the records they summarise, who may see which dashboard, Excel exports.

The data is the demo's 机关事务管理中心 after a simulated quarter (app/services/demo_activity/),
with the clock fixed so the figures do not depend on the day the suite runs.
"""

from __future__ import annotations

import io
import statistics
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import AppraisalRecord, HumanTask, OrgUnit, Person, TaskStatus, UserAccount
from app.services.actor import actor_for_user
from app.services.appraisal import weeks as week_states
from app.services.dashboard import office, section, staff, unit
from app.services.dashboard.common import table_xlsx
from app.services.dashboard.differentiation import reviewer_differentiation, undifferentiated
from app.services.demo_activity import simulate_quarter
from app.services.errors import Forbidden

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)
CODE = "jgsw"


@pytest.fixture
def quarter(session):
    simulate_quarter(session, TODAY, unit_codes=[CODE], now=NOW)
    session.commit()
    return session.scalar(select(OrgUnit).where(OrgUnit.code == CODE))


def _actor(session, username):
    return actor_for_user(session, session.scalar(select(UserAccount).where(UserAccount.username == username)))


def _records(session, unit_id, months):
    return session.scalars(
        select(AppraisalRecord)
        .join(Person, AppraisalRecord.person_id == Person.id)
        .join(OrgUnit, Person.section_id == OrgUnit.id)
        .where(OrgUnit.parent_id == unit_id, AppraisalRecord.period.in_(months))
    ).all()


def test_unit_progress_ranking_and_differentiation_match_the_records(session, quarter) -> None:
    dash = unit.unit_dashboard(session, _actor(session, f"{CODE}102"), quarter.id, "2026-Q3", now=NOW)
    records = _records(session, quarter.id, ["2026-07", "2026-08", "2026-09"])
    assert records, "the simulation wrote appraisal records"
    progress = {r["section_id"]: r for r in dash.panel("cycle_progress").table.rows}
    by_section = Counter((r.person.section_id, r.status.value) for r in records)
    for (section_id, status), n in by_section.items():
        assert progress[section_id][status] == n
    assert sum(r["opened"] for r in progress.values()) == len(records)

    ranking = dash.panel("score_ranking").table.rows
    for row in ranking:
        finals = [
            r.final_score for r in records if r.person.section_id == row["section_id"] and r.final_score is not None
        ]
        assert row["scored"] == len(finals)
        assert row["mean"] == pytest.approx(float(sum(finals) / len(finals)), abs=0.01)
    assert [r["rank"] for r in ranking] == list(range(1, len(ranking) + 1))
    assert [r["mean"] for r in ranking] == sorted((r["mean"] for r in ranking), reverse=True)

    figures = {r.reviewer_id: r for r in reviewer_differentiation(session, quarter.id, "2026-Q3")}
    scored = [r for r in records if r.score is not None and r.scored_by_id is not None]
    assert sum(f.scored for f in figures.values()) == len(scored)
    for rid, f in figures.items():
        mine = [r.score for r in scored if r.scored_by_id == rid]
        counts = Counter(mine)
        assert f.full_marks == sum(1 for s in mine if s >= Decimal(100))
        assert f.equal_scores == sum(n for n in counts.values() if n > 1)
        assert f.stddev == pytest.approx(statistics.pstdev(float(s) for s in mine), abs=0.01)
        assert f.spread == pytest.approx(float(max(mine) - min(mine)), abs=0.01)
    assert any(undifferentiated(f) for f in figures.values()), "the lenient head is flagged"
    assert not all(undifferentiated(f) for f in figures.values())


def test_section_log_completion_and_late_people_match_the_week_states(session, quarter) -> None:
    head = _actor(session, f"{CODE}101")
    section_id = next(iter(head.scopes[next(r for r in head.scopes if r.value == "section_head")]))
    dash = section.section_dashboard(session, head, section_id, "2026-10", now=NOW)
    members = session.scalars(select(Person.id).where(Person.section_id == section_id)).all()
    rows = {r["week"]: r for r in dash.panel("log_completion").table.rows}
    states = week_states.states_for(session, list(members), list(rows), TODAY)
    for week, row in rows.items():
        got = Counter(s.status for pid in members for s in states[pid] if s.week == week)
        assert (row["on_time"], row["late"], row["missing"]) == (got["on_time"], got["late"], got["missing"])
    assert sum(r["on_time"] + r["late"] for r in rows.values()) > 0
    late = {r["person_id"]: r for r in dash.panel("late_people").table.rows}
    for pid in members:
        got = Counter(s.status for s in states[pid])
        if got["late"] or got["missing"]:
            assert (late[pid]["late"], late[pid]["missing"]) == (got["late"], got["missing"])
    backlog = dash.panel("review_backlog").table.rows
    open_scoring = session.scalars(
        select(HumanTask.id).where(
            HumanTask.section_id == section_id,
            HumanTask.status == TaskStatus.ready,
            HumanTask.form_key == "appraisal_score",
        )
    ).all()
    assert sorted(r["task_id"] for r in backlog) == sorted(open_scoring)


def test_staff_dashboard_shows_my_scores_and_indicator_progress(session, quarter) -> None:
    me = _actor(session, f"{CODE}103")
    dash = staff.staff_dashboard(session, me, "2026", now=NOW)
    mine = {
        r.period: r for r in session.scalars(select(AppraisalRecord).where(AppraisalRecord.person_id == me.person_id))
    }
    scores = {r["period"]: r["final"] for r in dash.panel("my_scores").table.rows}
    assert scores == {p: r.final_score for p, r in mine.items()}
    progress = dash.panel("my_indicators").table.rows
    assert progress and any(r["progress"] > 0 for r in progress)


def test_office_sees_every_unit_with_the_records_figures(session, quarter) -> None:
    dash = office.office_dashboard(session, _actor(session, "office1"), "2026-Q3", now=NOW)
    row = next(r for r in dash.panel("units").table.rows if r["unit_id"] == quarter.id)
    records = _records(session, quarter.id, ["2026-07", "2026-08", "2026-09"])
    assert row["appraisals"] == len(records)
    archived = sum(1 for r in records if r.status.value == "archived")
    assert row["archived_pct"] == pytest.approx(round(100 * archived / len(records), 1))
    assert 0 < row["logs_pct"] <= 100
    with pytest.raises(Forbidden):
        office.office_dashboard(session, _actor(session, f"{CODE}102"), "2026-Q3")


def test_nobody_sees_another_units_or_persons_dashboard(client, session, quarter, login_as) -> None:
    other_section = session.scalar(select(OrgUnit.id).where(OrgUnit.code == f"{CODE}-1"))
    other_person = session.scalar(select(UserAccount.person_id).where(UserAccount.username == f"{CODE}103"))
    login_as("staff")  # a member of 龙景街道
    for url in (
        f"/dashboard/unit/{quarter.id}",
        f"/dashboard/section/{other_section}",
        "/dashboard/office",
        f"/dashboard/me?person_id={other_person}",
        f"/dashboard/registration/{other_person}/2026",
        f"/dashboard/unit/export/cycle_progress.xlsx?id={quarter.id}&period=2026-10",
        "/analytics/processes",
    ):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    login_as("unit_admin")  # 龙景街道's administrator
    assert client.get(f"/dashboard/unit/{quarter.id}").status_code == 403
    assert client.get(f"/analytics/processes?unit={quarter.id}").status_code == 403
    assert client.get(f"/dashboard/registration/{other_person}/2026").status_code == 403
    client.post("/logout")
    login_as("unit_admin", unit_code=CODE)
    assert client.get(f"/dashboard/unit/{quarter.id}?period=2026-09").status_code == 200
    page = client.get(f"/dashboard/registration/{other_person}/2026").get_data(as_text=True)
    assert "registration-form" in page


def test_every_role_gets_its_dashboard_as_home_page(client, session, quarter, login_as) -> None:
    for role, kind in (
        ("staff", "staff"),
        ("section_head", "section"),
        ("unit_admin", "unit"),
        ("perf_office", "office"),
    ):
        login_as(role, unit_code=CODE)
        html = client.get("/").get_data(as_text=True)
        assert f'data-kind="{kind}"' in html and 'id="my-roles"' in html, role
        client.post("/logout")


def test_export_holds_the_panels_table(client, session, quarter, login_as, app_ctx) -> None:
    login_as("unit_admin", unit_code=CODE)
    r = client.get(f"/dashboard/unit/export/score_ranking.xlsx?id={quarter.id}&period=2026-09")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    dash = unit.unit_dashboard(session, _actor(session, f"{CODE}102"), quarter.id, "2026-09")
    table = dash.panel("score_ranking").table
    assert len(rows) == 2 + len(table.rows) and len(table.rows) > 0
    for got, want in zip(rows[2:], table.rows, strict=True):
        assert got[0] == want["rank"] and got[1] == want["section"] and got[3] == pytest.approx(want["mean"])
    # text cells stay text: a name starting with "=" never becomes a formula
    panel = dash.panel("score_ranking")
    panel.table.rows[0]["section"] = "=1+1"
    book = load_workbook(io.BytesIO(table_xlsx(panel, str, "t")))
    assert book.active.cell(row=3, column=2).data_type == "s"
