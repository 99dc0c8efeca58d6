"""A year's indicators agreed through the browser: the person drafts (the weight total follows the typing),
the section head comments on one indicator and returns the draft, the person sees the comment and
resubmits, the head and then the unit principal approve, and the set shows as effective.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

STAFF = "ljjd203"  # plain staff of 龙景街道, section 2
HEAD = "ljjd201"  # head of that section
PRINCIPAL = "ljjd_principal"
YEAR = 2029


def _logout(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#logout").click()


def _click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def _open_review(page: Any, live_server: str, step: str) -> None:
    page.goto(f"{live_server}/tasks")
    row = page.locator(f'#task-table tr[data-step="{step}"]').first
    expect(row).to_be_visible()
    with page.expect_navigation():
        row.locator("a").first.click()
    expect(page.locator("#review-form")).to_be_visible()


def _fill_row(page: Any, n: int, name: str, standard: str, weight: str, method: str = "") -> None:
    page.fill(f'input[name="rows-{n}-name"]', name)
    page.fill(f'textarea[name="rows-{n}-standard"]', standard)
    page.fill(f'input[name="rows-{n}-weight"]', weight)
    if method:
        page.fill(f'textarea[name="rows-{n}-method"]', method)


def test_indicators_agreed_through_return_and_two_approvals(page, live_server, browser_login) -> None:
    browser_login(page, live_server, STAFF)
    page.goto(f"{live_server}/indicators/me?year={YEAR}")
    _click(page, "#start-setting")
    expect(page.locator("#draft-form")).to_be_visible()
    expect(page.locator("#criteria")).to_contain_text("可考性")

    page.select_option("#add-category", "key_work")
    _click(page, "#add-row")
    _fill_row(page, 0, "社区网格化管理", "全年完成网格巡查1200次", "60", "按巡查记录考核")
    expect(page.locator("#weight-total")).to_have_text("60")
    page.select_option("#add-category", "duties")
    _click(page, "#add-row")  # the server re-renders: the first row's typing is kept
    expect(page.locator('input[name="rows-0-name"]')).to_have_value("社区网格化管理")
    _fill_row(page, 1, "信访接待", "按时办结率100%", "30")
    expect(page.locator("#weight-total")).to_have_text("90")
    expect(page.locator("#weight-total")).to_have_attribute("data-ok", "false")
    page.fill('input[name="rows-1-weight"]', "40")
    expect(page.locator("#weight-total")).to_have_text("100")
    expect(page.locator("#weight-total")).to_have_attribute("data-ok", "true")
    page.fill("#note", "请审核")
    _click(page, "#submit-draft")
    expect(page.locator("#set-status")).to_have_attribute("data-status", "in_review")
    _logout(page)

    browser_login(page, live_server, HEAD)
    _open_review(page, live_server, "section_review")
    expect(page.locator("#drafter-note")).to_contain_text("请审核")
    first = page.locator("#items tr[data-item]").first
    first.locator("textarea").fill("巡查次数请按季度分解")
    page.check("#decision-return")
    page.fill("#comment", "重点工作标准需细化")
    page.screenshot(path=str(ARTIFACTS / "indicator_review.png"), full_page=True)
    _click(page, "#review-submit")
    _logout(page)

    browser_login(page, live_server, STAFF)
    page.goto(f"{live_server}/indicators/me?year={YEAR}")
    expect(page.locator("#set-status")).to_have_attribute("data-status", "returned")
    _click(page, "#open-task")
    expect(page.locator("#returned-comment")).to_contain_text("重点工作标准需细化")
    expect(page.locator('[data-comment-for="0"]')).to_contain_text("巡查次数请按季度分解")
    page.fill('textarea[name="rows-0-standard"]', "全年完成网格巡查1200次，每季度不少于300次")
    page.screenshot(path=str(ARTIFACTS / "indicator_draft.png"), full_page=True)
    _click(page, "#submit-draft")
    _logout(page)

    browser_login(page, live_server, HEAD)
    _open_review(page, live_server, "section_review")
    expect(page.locator("#items")).to_contain_text("每季度不少于300次")
    page.check("#decision-approve")
    _click(page, "#review-submit")
    _logout(page)

    browser_login(page, live_server, PRINCIPAL)
    _open_review(page, live_server, "principal_approve")
    page.check("#decision-approve")
    _click(page, "#review-submit")
    _logout(page)

    browser_login(page, live_server, STAFF)
    page.goto(f"{live_server}/indicators/me?year={YEAR}")
    expect(page.locator("#set-status")).to_have_attribute("data-status", "effective")
    expect(page.locator("#current-items")).to_contain_text("社区网格化管理")
    expect(page.locator("#current-items [data-total]")).to_have_text("100")
    expect(page.locator("#versions tr[data-version]")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "indicator_set.png"), full_page=True)
