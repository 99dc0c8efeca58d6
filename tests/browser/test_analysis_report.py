"""A unit's monthly analysis report (月分析报告) driven through the browser by three people in turn:
the unit admin opens the month's report, saves a draft over the prefilled overview and submits it;
the principal approves; the office reviews it with a comment and reads it on the side-by-side page.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

MONTH = "2026-08"  # a month no other browser test opens a report for
ADMIN = "ljjd102"  # the unit administrator of 龙景街道
PRINCIPAL = "ljjd_principal"
OFFICE = "office1"
HIGHLIGHTS = "社区网格化走访覆盖全部 12 个网格"
PROBLEMS = "个别股室周记实迟交"
PLAN = "每周五前提醒未写周记实人员"
REVIEW = "分析到位，问题找得准，请抓好整改"


def _logout(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#logout").click()


def _click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def _to_waiting_step(page: Any, live_server: str, report_id: str) -> None:
    """From the report's page to the step that waits for the logged-in person."""
    page.goto(f"{live_server}/analysis/reports/{report_id}")
    _click(page, "#report-act")
    expect(page.locator("#report-form")).to_be_visible()


def _open_appraisal_for_the_unit(page: Any, live_server: str) -> int:
    """The office opens the month's appraisal for 龙景街道 on the cycles page; returns how many people it opened."""
    page.goto(f"{live_server}/office/scheduler?process=periodic_appraisal&period={MONTH}")
    row = page.locator("#cycle-status tr", has_text="龙景街道")
    _click(page, "#cycle-status tr:has-text('龙景街道') [data-open-unit]")
    opened = int(row.get_attribute("data-opened") or "0")
    assert opened > 0
    return opened


def test_a_report_drafted_approved_and_reviewed_in_the_browser(page, live_server, browser_login) -> None:
    browser_login(page, live_server, OFFICE)
    in_cycle = _open_appraisal_for_the_unit(page, live_server)  # so the report's figures have people in them
    _logout(page)
    browser_login(page, live_server, ADMIN)
    page.goto(f"{live_server}/analysis/reports")
    page.fill("#period", MONTH)
    _click(page, "#open-report")
    expect(page.locator("#report-state")).to_be_visible()
    report_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert report_id.isdigit(), page.url
    _to_waiting_step(page, live_server, report_id)
    # section (1) comes prefilled with the month's figures; the admin keeps them and adds a sentence
    overview = page.locator('textarea[name="overview"]')
    expect(overview).to_contain_text(MONTH)
    overview.fill(overview.input_value() + "\n全街道考核运行平稳。")
    page.fill('textarea[name="highlights"]', HIGHLIGHTS)
    _click(page, "#report-save")  # a draft: kept, not submitted
    expect(page.locator('textarea[name="highlights"]')).to_have_value(HIGHLIGHTS)
    expect(page.locator('textarea[name="overview"]')).to_contain_text("全街道考核运行平稳。")
    page.fill('textarea[name="problems"]', PROBLEMS)
    page.fill('textarea[name="plan"]', PLAN)
    _click(page, "#report-submit")
    page.goto(f"{live_server}/analysis/reports/{report_id}")
    expect(page.locator("#report-state")).to_have_text("主要领导审定中")
    expect(page.locator("#report-act")).to_have_count(0)
    _logout(page)

    browser_login(page, live_server, PRINCIPAL)
    _to_waiting_step(page, live_server, report_id)
    expect(page.locator("main")).to_contain_text(HIGHLIGHTS)
    page.check('input[name="decision"][value="approve"]')
    _click(page, "#report-submit")
    _logout(page)

    browser_login(page, live_server, OFFICE)
    page.goto(f"{live_server}/analysis/office?period={MONTH}")
    row = page.locator("#units tr[data-state='reviewing']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("龙景街道")
    _to_waiting_step(page, live_server, report_id)
    page.check('input[name="decision"][value="done"]')
    page.fill('textarea[name="comment"]', REVIEW)
    _click(page, "#report-submit")

    page.goto(f"{live_server}/analysis/office/compare?period={MONTH}")
    card = page.locator(f'#compare [data-report="{report_id}"]')
    expect(card).to_contain_text("龙景街道")
    for text in (HIGHLIGHTS, PROBLEMS, PLAN, REVIEW):
        expect(card).to_contain_text(text)
    expect(card.locator('[data-fig="people_in_cycle"]')).to_have_text(str(in_cycle))  # the figures match the records
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "analysis_report_side_by_side.png"), full_page=True)
    page.goto(f"{live_server}/analysis/office?period={MONTH}")
    expect(page.locator("#units tr[data-state='closed']")).to_contain_text("龙景街道")
    # the cycles page shows the report's process per unit: this one done, the others not opened
    page.goto(f"{live_server}/office/scheduler?process=monthly_analysis&period={MONTH}")
    expect(page.locator("#cycle-status[data-subject='unit'] tr[data-state='completed']")).to_contain_text("龙景街道")
    expect(page.locator("#cycle-status tr[data-state='not_opened']").first).to_be_visible()
