"""Every role's dashboard and the process heat map, in Chromium, on the demo district after a simulated quarter.

This module runs its own server (own SQLite file): the simulation writes three months of history,
which the shared ``live_server`` of the other browser tests must not see. Screenshots of each
page are saved in test-artifacts/ as the issue's evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, browser_login, demo_server


def _simulated_quarter(tmp: Path) -> Callable[[Any], None]:
    def prepare(session: Any) -> None:
        from sqlalchemy import select

        from app.models import OrgUnit
        from app.services.actor import SYSTEM
        from app.services.appraisal.common import local_today
        from app.services.appraisal.results import compute_period_results
        from app.services.dashboard.grades import quarter_of
        from app.services.demo_activity import simulate_quarter

        done = simulate_quarter(session, local_today(datetime.now(UTC)), evidence_store=tmp / "evidence")
        # the quarter of the simulation's second (complete) month gets its results computed, as a unit would
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
        compute_period_results(session, SYSTEM, unit.id, quarter_of(done.months[1]))

    return prepare


@pytest.fixture(scope="module")
def quarter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("dashboards")
    with demo_server(tmp, _simulated_quarter(tmp), name="jixiao-quarter-server") as (url, _):
        yield url


def _numbers(page: Any, panel: str) -> list[float]:
    cells = page.locator(f'[data-table="{panel}"] td.text-end').all_inner_texts()
    return [float(c) for c in (re.sub(r"[^\d.]", "", x) for x in cells) if c]


def _check_dashboard(page: Any, kind: str, panels: list[str], shot: str) -> None:
    expect(page.locator("#dashboard-title")).to_have_attribute("data-kind", kind)
    expect(page.locator(".dash-chart[data-rendered='true'] canvas").first).to_be_visible()
    for key in panels:
        expect(page.locator(f'[data-table="{key}"]')).to_have_count(1)
        assert sum(_numbers(page, key)) > 0, f"{kind}: panel {key} shows only zeros"
    assert page.locator(".dash-chart[data-rendered='error']").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{shot}.png"), full_page=True)


def test_each_roles_home_page_is_its_dashboard_with_real_numbers(page, quarter_server) -> None:
    for username, kind, panels in (
        ("ljjd103", "staff", ["my_scores", "my_indicators"]),
        ("ljjd201", "section", ["log_completion"]),
        ("ljjd102", "unit", ["cycle_progress", "score_ranking", "differentiation", "bonus_points", "grades"]),
        ("office1", "office", ["units", "distribution", "grades_by_unit"]),
    ):
        browser_login(page, quarter_server, username)
        assert page.url.rstrip("/") == quarter_server
        _check_dashboard(page, kind, panels, kind)
        with page.expect_navigation():
            page.click("#logout")


def test_office_drills_down_from_units_to_a_unit_and_a_section(page, quarter_server) -> None:
    browser_login(page, quarter_server, "office1")
    with page.expect_navigation():
        page.locator('[data-table="units"] a[data-drill="unit"]').first.click()
    _check_dashboard(page, "unit", ["cycle_progress"], "office-unit")
    with page.expect_navigation():
        page.locator('[data-table="cycle_progress"] a[data-drill="section"]').nth(1).click()
    _check_dashboard(page, "section", ["log_completion"], "office-section")


def test_heat_map_paints_measured_step_times_on_the_diagram(page, quarter_server) -> None:
    browser_login(page, quarter_server, "office1")
    page.goto(f"{quarter_server}/analytics/processes")
    with page.expect_navigation():
        page.locator("#analytics-versions tr", has_text="periodic_appraisal").get_by_role("link").first.click()
    heat = page.locator("#heatmap")
    expect(heat).to_have_attribute("data-rendered", "true")
    assert int(heat.get_attribute("data-painted") or 0) >= 4
    expect(page.locator(".heat-badge").first).to_be_visible()
    # the fill is the step's time band from the table, not its lateness: the slowest step is band 3 and
    # not every step is; overdue work is a marker of its own on exactly the steps with overdue tasks
    bands = {}
    for row in page.locator("#step-figures tr[data-step]").all():
        bands[row.get_attribute("data-step")] = row.locator('[data-col="heat"]').get_attribute("data-heat")
    for step, band in bands.items():
        assert page.locator(f'#heatmap .djs-element.heat-{band}[data-element-id="{step}"]').count() == 1, step
    assert "3" in bands.values() and set(bands.values()) != {"3"}, bands
    overdue_steps = page.locator('#step-figures [data-col="overdue"] .badge').count()
    assert overdue_steps > 0
    expect(page.locator("#heatmap .heat-overdue")).to_have_count(overdue_steps)
    expect(page.locator("#heat-legend [data-band]")).to_have_count(6)
    median = page.locator('#step-figures tr[data-step="section_score"] [data-col="median"]').inner_text()
    assert float(median) > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-heatmap.png"), full_page=True)
