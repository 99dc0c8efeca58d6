"""A quarter published and its bonus distributed, in Chromium, by the people who do it.

The server has its own SQLite file: the demo district, one simulated quarter of 龙景街道 (logs,
summaries, scoring, archived months), and that quarter's results computed and confirmed through
the results and grading services, as a unit does before publishing. Then, in the browser: the
unit admin prepares the publication, the principal approves it from the inbox, a staff member
reads the published list and files an objection, the admin answers it; the admin computes a
bonus distribution and submits it, the principal confirms it, and the payroll workbook downloads
with amounts that add up to the pool. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, browser_login, demo_server

pytestmark = pytest.mark.browser

QUARTER = "2026-Q3"
POOL = "30000.00"


@dataclass(frozen=True)
class Quarter:
    url: str
    admin: str
    principal: str
    staff: str  # a staff member with a confirmed result of the quarter
    people: int  # how many confirmed results the quarter has


def _confirmed_quarter(session: Any) -> tuple[str, str, str, int]:
    """The quarter simulated for 龙景街道, its results computed and confirmed; who acts in the test."""
    from sqlalchemy import select

    from app.models import OrgUnit, Person, Role, RoleAssignment, UserAccount
    from app.services.actor import actor_for_user
    from app.services.appraisal import grading, results
    from app.services.demo_activity import simulate_quarter
    from tests.conftest import demo_account

    # July to September of 2026 happened (the simulation stops at 20 October)
    simulate_quarter(session, date(2026, 10, 1), unit_codes=["ljjd"], now=datetime(2026, 10, 20, tzinfo=UTC))
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
    admin = demo_account(session, "unit_admin", unit_code="ljjd")
    principal = demo_account(session, "unit_principal", unit_code="ljjd")
    computed = results.compute_period_results(session, actor_for_user(session, admin), unit.id, QUARTER)
    assert computed, "the simulated quarter left no archived months to compute from"
    grading.confirm_grades(session, actor_for_user(session, principal), unit.id, QUARTER)
    graded = {r.person_id for r in computed}
    leaders = select(RoleAssignment.person_id).where(RoleAssignment.role != Role.staff)
    staff = session.scalar(
        select(UserAccount.username)
        .join(Person, Person.id == UserAccount.person_id)
        .where(Person.id.in_(graded), Person.id.not_in(leaders))
        .order_by(Person.staff_no)
        .limit(1)
    )
    assert staff is not None
    return admin.username, principal.username, staff, len(computed)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quarter]:
    tmp = tmp_path_factory.mktemp("publication")
    with demo_server(tmp, _confirmed_quarter, name="jixiao-publication-server") as (url, names):
        assert names is not None
        yield Quarter(url, *names)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"publication-{name}.png"), full_page=True)


def _logout(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#logout").click()


def _submit_task(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#task-submit").click()


def _approve_from_inbox(page: Any, url: str, process: str, step_name: str) -> None:
    """The principal opens the approval step from the inbox (filtered to the process) and approves."""
    page.goto(f"{url}/tasks?process={process}&period={QUARTER}")
    row = page.locator('#task-table tr[data-step="approve"]', has_text=step_name)
    expect(row).to_be_visible()
    with page.expect_navigation():
        row.locator("a").first.click()
    page.check('input[name="decision"][value="approve"]')
    _submit_task(page)


def test_a_quarter_is_published_objected_to_answered_and_its_bonus_distributed(page, quarter: Quarter) -> None:
    url = quarter.url
    # the unit admin prepares the publication and submits it with a note
    browser_login(page, url, quarter.admin)
    page.goto(f"{url}/publication/")
    page.fill("#prepare-form input[name='period']", QUARTER)
    with page.expect_navigation():
        page.locator("#prepare-submit").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "draft")
    expect(page.locator("#rows tbody tr")).to_have_count(quarter.people)
    publication_url = page.url
    with page.expect_navigation():
        page.locator("#my-task a").click()
    page.fill('textarea[name="note"]', "第三季度成绩已确认，请审批公示")
    _submit_task(page)
    _logout(page)

    # the principal approves from the inbox
    browser_login(page, url, quarter.principal)
    _approve_from_inbox(page, url, "publication", "主要领导审批公示")
    page.goto(publication_url)
    expect(page.locator("#status")).to_have_attribute("data-status", "published")
    expect(page.locator("#window")).to_be_visible()
    _shot(page, "published")
    _logout(page)

    # a staff member reads the list and objects to their own row
    browser_login(page, url, quarter.staff)
    page.goto(f"{url}/publication/mine")
    expect(page.locator("#status")).to_have_attribute("data-status", "published")
    expect(page.locator("#rows tbody tr")).to_have_count(quarter.people)  # the scheme publishes the unit's list
    expect(page.locator("#own-row")).to_be_visible()
    page.fill("#objection-form textarea[name='text']", "本季度信息报送加分未计入，请复核")
    with page.expect_navigation():
        page.locator("#objection-form button[type='submit']").click()
    expect(page.locator("#own-row [data-objection]")).to_contain_text("信息报送加分未计入")
    _shot(page, "objection")
    _logout(page)

    # the admin answers; the answer is shown under the objection
    browser_login(page, url, quarter.admin)
    page.goto(publication_url)
    pending = page.locator("#objections [data-objection]").first
    expect(pending).to_contain_text("信息报送加分未计入")
    pending.locator("textarea").fill("已核实，该加分项将在第四季度计入")
    with page.expect_navigation():
        pending.locator("button[type='submit']").click()
    expect(page.locator("#objections [data-objection]").first).to_contain_text("已核实，该加分项将在第四季度计入")
    _shot(page, "answered")

    # the bonus distribution: computed, submitted, confirmed, exported
    page.goto(f"{url}/publication/distributions")
    page.fill("#distribution-form input[name='period']", QUARTER)
    page.fill("#distribution-form input[name='pool']", POOL)
    with page.expect_navigation():
        page.locator("#distribution-submit").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "draft")
    expect(page.locator("#amount-sum")).to_have_text(POOL)
    expect(page.locator("#formula-numbers")).to_contain_text(f"amount = {POOL} × c ÷")
    distribution_url = page.url
    with page.expect_navigation():
        page.locator("#my-task a").click()
    _submit_task(page)
    _logout(page)

    browser_login(page, url, quarter.principal)
    _approve_from_inbox(page, url, "bonus_distribution", "主要领导确认分配")
    _logout(page)

    browser_login(page, url, quarter.admin)
    page.goto(distribution_url)
    expect(page.locator("#status")).to_have_attribute("data-status", "confirmed")
    _shot(page, "distribution")
    with page.expect_download() as caught:
        page.locator("#export").click()
    download = caught.value
    assert download.suggested_filename == f"bonus-{QUARTER}-r0.xlsx"
    body = Path(download.path()).read_bytes()  # the saved file has no .xlsx suffix, which openpyxl insists on
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert len(rows) == quarter.people + 2  # header, one row per person, the total row
    assert sum(Decimal(str(r[6])) for r in rows[1:-1]) == Decimal(POOL)
    assert Decimal(str(rows[-1][6])) == Decimal(POOL)
