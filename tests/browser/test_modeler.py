"""The process designer in the browser (issue 7).

The performance office opens the appraisal process in the modeler, adds an approval step (unit
principal lane, generic review form), saves a draft, sees the diff, simulates it for a demo person and
deploys it for one unit (龙景街道). A new instance in that unit goes through the new step; an instance
in another unit and one already running do not. A file with ``__import__('os')`` in a condition, one
with an external entity and one with an unknown role are each refused with a clear message and change
nothing. At the end the unit's variant is rolled back, so later tests find the district version.

The steps around the new one are driven through the JSON API (``page.request``) to keep the story
short; the office's work and the principal's new task are done in the browser.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.services.demo import DEMO_PASSWORD
from tests.test_process_designer import XXE, shipped, with_condition, with_lane_renamed, with_step

pytestmark = pytest.mark.browser

KEY = "periodic_appraisal"
PERIOD = "2026-07"
OFFICE = "office1"
NEW_STAFF = "ljjd305"  # 龙景街道, section 3: starts after the deploy → goes through the new step
RUNNING_STAFF = "ljjd306"  # 龙景街道, section 3: started before the deploy → stays on version 1
OTHER_STAFF = "lcz305"  # 龙川镇, section 3: another unit → the district version
PRINCIPAL = "ljjd_principal"
STEP_NAME = "主要领导审批"
ACTORS = {  # who completes each existing step, per unit
    "ljjd": {"section_score": "ljjd301", "leader_review": "ljjd_leader1"},
    "lcz": {"section_score": "lcz301", "leader_review": "lcz_leader1"},
}
PAYLOADS = {
    "submit_summary": {"summary": "本月完成走访 30 户"},
    "section_score": {"score": 88, "score_comment": "扎实"},
    "leader_review": {"decision": "approve"},
}


def _token(page: Any, username: str) -> dict[str, str]:
    r = page.request.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.ok, r.text()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _start(page: Any, username: str) -> int:
    r = page.request.post(f"/api/v1/processes/{KEY}/start", data={"period": PERIOD}, headers=_token(page, username))
    assert r.status == 201, r.text()
    return int(r.json()["instance_id"])


def _instance(page: Any, instance_id: int) -> dict[str, Any]:
    r = page.request.get(f"/api/v1/process-instances/{instance_id}", headers=_token(page, OFFICE))
    assert r.ok, r.text()
    return r.json()  # type: ignore[no-any-return]


def _complete(page: Any, instance_id: int, username: str) -> list[str]:
    """Complete the instance's one waiting task as ``username``; return the steps waiting next."""
    headers = _token(page, username)
    tasks = page.request.get(f"/api/v1/tasks?scope=mine&process={KEY}&period={PERIOD}", headers=headers).json()
    task = next(t for t in tasks["items"] if t["instance_id"] == instance_id)
    r = page.request.post(f"/api/v1/tasks/{task['id']}/complete", data=PAYLOADS[task["step_id"]], headers=headers)
    assert r.ok, r.text()
    return [t["step_name"] for t in r.json()["next_tasks"]]


def _through_review(page: Any, instance_id: int, staff: str, unit: str) -> list[str]:
    """From the summary (or the score) through the leader's review; the names of the steps waiting then."""
    waiting = _instance(page, instance_id)["current_steps"]
    if "submit_summary" in waiting:
        _complete(page, instance_id, staff)
    _complete(page, instance_id, ACTORS[unit]["section_score"])
    return _complete(page, instance_id, ACTORS[unit]["leader_review"])


def _logout(page: Any) -> None:
    with page.expect_navigation():
        page.locator("#logout").click()


def _upload(page: Any, live_server: str, name: str, content: str) -> None:
    page.goto(f"{live_server}/processes/{KEY}")
    page.set_input_files(
        "#upload-file", files=[{"name": name, "mimeType": "application/xml", "buffer": content.encode()}]
    )
    with page.expect_navigation():
        page.locator("#upload-submit").click()


def test_office_adds_a_step_and_deploys_it_for_one_unit(page, live_server, browser_login, page_problems) -> None:
    page_problems.allow_console_error(r"status of 422")  # the refused uploads answer 422
    page_problems.allow_console_error(r"status of 404 .*favicon")
    running = _start(page, RUNNING_STAFF)
    _complete(page, running, RUNNING_STAFF)  # waits at the section head's score, on version 1

    browser_login(page, live_server, OFFICE)
    page.locator('[data-nav-group="office"]').click()  # the performance office's drop-down
    page.locator('[data-nav="processes"]').click()
    with page.expect_navigation():
        page.locator(f'#process-list tr[data-process="{KEY}"] a').first.click()
    with page.expect_navigation():
        page.locator("#edit-active").click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true", timeout=20_000)

    # The approval step goes on the "approved" flow out of the leader's review, into a new principal lane.
    page.select_option("#element-picker", "f_review_ok")
    expect(page.locator("#p-id")).to_have_text("f_review_ok")
    page.locator("#add-step").click()
    expect(page.locator("#p-type")).to_have_text("UserTask")
    page.fill("#p-name", STEP_NAME)
    page.locator("#p-name").press("Tab")
    page.select_option("#p-lane", "unit_principal")
    page.select_option("#p-form", "review")
    # Conditions are checked as they are typed.
    page.select_option("#element-picker", "f_review_return")
    page.fill("#p-condition", "__import__('os')")
    expect(page.locator('.check-status[data-for="p-condition"]')).to_have_class(re.compile(r"\bbad\b"))
    page.fill("#p-condition", "decision == 'return'")
    expect(page.locator('.check-status[data-for="p-condition"]')).to_have_class(re.compile(r"\bok\b"))
    page.fill("#save-comment", "增加单位主要领导审批")
    page.locator("#save-draft").click()
    expect(page.locator("#save-message")).to_have_class(re.compile(r"alert-success"))
    version = int(page.locator("#modeler").get_attribute("data-saved-version") or 0)
    assert version >= 2

    # The diff: the new step listed and coloured on the diagram.
    with page.expect_navigation():
        page.locator("#link-diff").click()
    added = page.locator('#changes tr[data-kind="added"][data-type="userTask"]', has_text=STEP_NAME)
    expect(added).to_have_count(1)
    expect(page.locator('#changes tr[data-kind="rerouted"][data-element="f_review_ok"]')).to_have_count(1)
    expect(page.locator("#diagram-this")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#diagram-this .diff-added").first).to_be_attached()

    # Simulation for a demo person: the new step goes to the unit principal, by name.
    principal = page.request.get("/api/v1/me", headers=_token(page, PRINCIPAL)).json()["name"]
    with page.expect_navigation():
        page.locator("#simulate-version").click()
    page.fill("#sim-person", NEW_STAFF)
    page.fill("#sim-period", PERIOD)
    with page.expect_navigation():
        page.locator("#sim-run").click()
    expect(page.locator("#sim-outcome")).to_have_attribute("data-outcome", "completed")
    expect(page.locator("#sim-steps tr", has_text=STEP_NAME).locator(".sim-people")).to_have_text(principal)

    # Deploy for 龙景街道 only.
    page.goto(f"{live_server}/processes/{KEY}")
    row = page.locator(f'#versions tr[data-version="{version}"]')
    scope = row.locator('select[name="scope"]')
    unit_id = scope.locator("option", has_text="龙景街道").get_attribute("value")
    scope.select_option(unit_id)
    with page.expect_navigation():
        row.locator('[data-action="deploy"]').click()
    expect(page.locator(f'#scopes li[data-scope="{unit_id}"]')).to_have_attribute("data-version", str(version))
    expect(page.locator('#scopes li[data-scope="district"]')).to_have_attribute("data-version", "1")
    versions_before = page.locator("#versions tbody tr").count()

    # Refused files: each says why, none adds a version.
    refused = [
        ("condition.bpmn", with_condition(shipped(), "f_review_return", "__import__('os').system('id')"), "__import__"),
        ("xxe.bpmn", XXE, "DTD"),
        ("role.bpmn", with_lane_renamed(with_step(shipped()), "unit_principal", "boss"), "'boss', which is not a role"),
    ]
    for name, content, words in refused:
        _upload(page, live_server, name, content)
        expect(page.locator("#problems")).to_contain_text(words)
        expect(page.locator("#versions tbody tr")).to_have_count(versions_before)
    _logout(page)

    # A new instance in 龙景街道 runs the new version and reaches the principal's step.
    new = _start(page, NEW_STAFF)
    assert _instance(page, new)["version"] == version
    assert _through_review(page, new, NEW_STAFF, "ljjd") == [STEP_NAME]
    browser_login(page, live_server, PRINCIPAL)
    page.goto(f"{live_server}/tasks")
    task_row = page.locator("#task-table tr", has_text=STEP_NAME).first
    expect(task_row).to_be_visible()
    with page.expect_navigation():
        task_row.locator("a").first.click()
    page.check('input[name="decision"][value="approve"]')
    with page.expect_navigation():
        page.locator("#task-submit").click()
    assert _instance(page, new)["current_steps"] == ["feedback"]
    _logout(page)

    # Another unit's instance and the one already running do not meet the new step.
    other = _start(page, OTHER_STAFF)
    assert _instance(page, other)["version"] == 1
    assert STEP_NAME not in _through_review(page, other, OTHER_STAFF, "lcz")
    assert _instance(page, other)["current_steps"] == ["feedback"]
    assert _instance(page, running)["version"] == 1
    assert STEP_NAME not in _through_review(page, running, RUNNING_STAFF, "ljjd")
    assert _instance(page, running)["current_steps"] == ["feedback"]

    # Leave the district as it was: roll the unit's variant back (recorded with who and when).
    browser_login(page, live_server, OFFICE)
    page.goto(f"{live_server}/processes/{KEY}")
    with page.expect_navigation():
        page.locator(f'[data-rollback="{unit_id}"]').click()
    expect(page.locator(f'#scopes li[data-scope="{unit_id}"]')).to_have_count(0)
    expect(page.locator('#events tr[data-action="rollback"]').first).to_contain_text(
        page.locator("#whoami").inner_text().strip()
    )
