"""A month of periodic appraisal driven through the browser by four people in turn:
staff writes a weekly log and submits the summary prefilled from it, the section head scores,
the leader in charge returns it once then approves, the person acknowledges and finds the
archived record; the instance page draws the BPMN diagram with the steps marked.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

STAFF = "ljjd304"  # plain staff of 龙景街道 / 社会事务办公室 (section 3)
HEAD = "ljjd301"  # head of that section
LEADER = "ljjd_leader1"  # in charge of sections 1 and 3


def _logout(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#logout").click()


def _open_first_task(page: Any, live_server: str, step: str) -> None:
    page.goto(f"{live_server}/tasks")
    row = page.locator(f'#task-table tr[data-step="{step}"]').first
    expect(row).to_be_visible()
    with page.expect_navigation():
        row.locator("a").first.click()


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#task-submit").click()


def test_a_month_of_appraisal_through_the_browser(page, live_server, browser_login, page_problems) -> None:
    page_problems.allow_console_error(r"status of 422")  # the refused return without a comment
    browser_login(page, live_server, STAFF)
    # a weekly log of the month first: the summary is prefilled from it
    page.goto(f"{live_server}/appraisal/logs?week=2026-W41")
    page.fill('textarea[name="entries-0-content"]', "走访社区 12 户")
    with page.expect_navigation():
        page.locator("#add-row").click()
    expect(page.locator("#log-rows tr[data-row]")).to_have_count(2)
    with page.expect_navigation():
        page.locator("#save-log").click()
    expect(page.locator("#evidence-card")).to_be_visible()
    page.goto(f"{live_server}/tasks?scope=related")
    page.select_option("#start-process", "periodic_appraisal")
    page.fill("#start-period", "2026-10")
    with page.expect_navigation():
        page.locator("#start-submit").click()
    expect(page.locator("#task-form")).to_be_visible()
    expect(page.locator('textarea[name="summary"]')).to_contain_text("走访社区 12 户")
    page.fill('textarea[name="summary"]', "本月完成社区走访 42 户，整改问题 5 项")
    _submit(page)
    _logout(page)

    browser_login(page, live_server, HEAD)
    expect(page.locator('[data-badge="tasks"]')).to_be_visible()
    _open_first_task(page, live_server, "section_score")
    expect(page.locator('#task-data [data-key="summary"]')).to_contain_text("社区走访")
    page.fill('input[name="score"]', "86")
    page.fill('textarea[name="score_comment"]', "走访扎实，整改及时")
    _submit(page)
    _logout(page)

    browser_login(page, live_server, LEADER)
    _open_first_task(page, live_server, "leader_review")
    page.check('input[name="decision"][value="return"]')
    _submit(page)  # no comment: refused, the choice is kept
    expect(page.locator("#task-form .invalid-feedback")).to_be_visible()
    expect(page.locator('input[name="decision"][value="return"]')).to_be_checked()
    page.fill('textarea[name="comment"]', "请补充整改问题的依据")
    _submit(page)
    _logout(page)

    browser_login(page, live_server, HEAD)
    _open_first_task(page, live_server, "section_score")
    expect(page.locator('#task-data [data-key="comment"]')).to_contain_text("补充整改")
    page.fill('input[name="score"]', "84")
    page.fill('textarea[name="score_comment"]', "已补充依据")
    _submit(page)
    _logout(page)

    browser_login(page, live_server, LEADER)
    _open_first_task(page, live_server, "leader_review")
    page.check('input[name="decision"][value="approve"]')
    _submit(page)
    _logout(page)

    browser_login(page, live_server, STAFF)
    _open_first_task(page, live_server, "feedback")
    expect(page.locator('#task-data [data-key="score"]')).to_contain_text("84")
    page.check('input[name="decision"][value="acknowledge"]')
    _submit(page)

    page.goto(f"{live_server}/appraisal/records")
    with page.expect_navigation():
        page.locator('#records tr[data-period="2026-10"] a').click()
    expect(page.locator("#record-status")).to_have_attribute("data-status", "archived")
    expect(page.locator("#final-score")).to_have_text("84")

    page.goto(f"{live_server}/tasks?scope=related")
    with page.expect_navigation():
        page.locator("#my-instances a").first.click()
    expect(page.locator("#diagram")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#history tr[data-kind='completed']")).to_have_count(6)
    expect(page.locator("#diagram .djs-element.step-done")).to_have_count(4)
    page.screenshot(path=str(ARTIFACTS / "appraisal_instance.png"), full_page=True)
