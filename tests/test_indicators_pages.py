"""The indicator pages as a browser without JavaScript uses them: drafting, review, my set, overviews,
exports, printing and the office's common library. Real database, real workflow."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.models import (
    Category,
    CommonIndicator,
    HumanTask,
    IndicatorItem,
    IndicatorSet,
    IndicatorSetVersion,
    OrgUnit,
    ProcessInstance,
    SetStatus,
    TaskStatus,
    UnitTask,
    UnitTaskAssignment,
    UnitType,
    VersionStatus,
)
from app.services.actor import SYSTEM, actor_for_user
from app.services.indicators import flow, sets
from app.workflow import runtime
from tests.conftest import demo_account, login

YEAR = 2031
ROWS = [
    {
        "category": "key_work",
        "name": "预算编制",
        "standard": "按期完成年度预算编制",
        "weight": "60",
        "method": "按节点考核",
    },
    {"category": "duties", "name": "日常报销审核", "standard": "差错率低于1%", "weight": "40", "method": "抽查"},
]


def _form(rows: list[dict[str, Any]], action: str, lock: int | None = None, **extra: str) -> dict[str, str]:
    data = {"action": action, **extra}
    if lock is not None:
        data["lock_version"] = str(lock)
    for n, row in enumerate(rows):
        for key, value in row.items():
            if value is not None:
                data[f"rows-{n}-{key}"] = str(value)
    return data


def _switch(client, session, role: str, **kw: Any):
    client.post("/logout")
    account = demo_account(session, role, **kw)
    login(client, account.username)
    client.post("/lang/en")
    return account


def _actor(session, role: str):
    return actor_for_user(session, demo_account(session, role))


def _open_task(session, person_id: int, form_key: str = "indicator_draft") -> HumanTask:
    return session.scalar(
        select(HumanTask)
        .where(HumanTask.subject_id == person_id, HumanTask.status == TaskStatus.ready, HumanTask.form_key == form_key)
        .order_by(HumanTask.id.desc())
    )


def _start(session, year: int = YEAR) -> tuple[Any, HumanTask]:
    account = demo_account(session, "staff")
    flow.start_for(session, SYSTEM, account.person, year)
    session.commit()
    return account, _open_task(session, account.person_id)


def _set(session, person_id: int, year: int = YEAR) -> IndicatorSet:
    session.expire_all()
    return sets.find_set(session, person_id, year)


def _names(s: IndicatorSet) -> list[str]:
    return [i.name for i in sets.latest(s).items]


def _row_names(html: str) -> list[str]:
    return re.findall(r'name="rows-\d+-name" value="([^"]*)"', html)


def _common(session, year: int = YEAR, weight: str = "10", **kw: Any) -> CommonIndicator:
    item = CommonIndicator(
        year=year,
        name=kw.pop("name", "依法行政"),
        standard="无违法违规行为",
        weight=Decimal(weight),
        method="查阅记录",
        **kw,
    )
    session.add(item)
    session.commit()
    return item


def _submit_via_service(session, account, task: HumanTask, rows: list[dict[str, Any]] = ROWS) -> HumanTask:
    runtime.complete_task(session, actor_for_user(session, account), task.id, {"indicators": rows})
    session.commit()
    return _open_task(session, account.person_id, "indicator_review")


def _make_effective(session, year: int = YEAR) -> tuple[Any, IndicatorSet]:
    account, task = _start(session, year)
    review = _submit_via_service(session, account, task)
    runtime.complete_task(session, _actor(session, "section_head"), review.id, {"decision": "approve"})
    session.commit()
    final = _open_task(session, account.person_id, "indicator_review")
    runtime.complete_task(session, _actor(session, "unit_principal"), final.id, {"decision": "approve"})
    session.commit()
    return account, _set(session, account.person_id, year)


# --- drafting -------------------------------------------------------------------------------


def test_drafting_round_trip_adds_moves_removes_and_saves_rows(client, session) -> None:
    account, task = _start(session)
    _switch(client, session, "staff")
    page = client.get(f"/indicators/tasks/{task.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="draft-form"' in html and 'id="criteria"' in html and "Measurability" in html
    lock = sets.find_set(session, account.person_id, YEAR).lock_version

    r = client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS[:1], "add", lock, add_category="key_work"))
    assert r.status_code == 200
    assert _row_names(r.get_data(as_text=True)) == ["预算编制", ""]  # the typed row is kept, a blank one added

    rows = [ROWS[0], {**ROWS[0], "name": "项目评审", "weight": "20"}, {**ROWS[1], "weight": "20"}]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "up-1", lock))
    assert _row_names(r.get_data(as_text=True)) == ["项目评审", "预算编制", "日常报销审核"]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "down-1", lock))  # across categories: no move
    assert _row_names(r.get_data(as_text=True)) == ["预算编制", "项目评审", "日常报销审核"]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "remove-0", lock))
    assert _row_names(r.get_data(as_text=True)) == ["项目评审", "日常报销审核"]

    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "save", lock))
    assert r.status_code == 302
    s = _set(session, account.person_id)
    assert _names(s) == ["预算编制", "项目评审", "日常报销审核"] and s.lock_version > lock
    follow = client.get(f"/indicators/tasks/{task.id}").get_data(as_text=True)
    assert "Draft saved." in follow and _row_names(follow) == ["预算编制", "项目评审", "日常报销审核"]
    # a draft may be saved before the weights add up; the page says what is still missing
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows[:2], "save", s.lock_version))
    assert r.status_code == 302
    follow = client.get(f"/indicators/tasks/{task.id}").get_data(as_text=True)
    assert "Before you submit" in follow and "add up to 80" in follow


def test_a_stale_save_is_refused_and_keeps_what_was_typed(client, session) -> None:
    account, task = _start(session)
    _switch(client, session, "staff")
    lock = _set(session, account.person_id).lock_version
    assert client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS, "save", lock)).status_code == 302
    typed = [{**ROWS[0], "name": "另一个窗口里的修改"}, ROWS[1]]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(typed, "save", lock))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'id="stale-warning"' in html and "另一个窗口里的修改" in html
    assert _names(_set(session, account.person_id)) == ["预算编制", "日常报销审核"]


def test_submit_with_broken_weights_is_refused_naming_the_rule_then_goes_to_review(client, session) -> None:
    account, task = _start(session)
    _switch(client, session, "staff")
    lock = _set(session, account.person_id).lock_version
    broken = [{**ROWS[0], "weight": "40"}, {**ROWS[1], "weight": "abc"}]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(broken, "submit", lock, note="请审核"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "A weight is a number above 0" in html and "is-invalid" in html and "请审核" in html
    broken = [{**ROWS[0], "weight": "40"}, {**ROWS[1], "weight": "40"}]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(broken, "submit", lock))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="rule-errors"' in html and "add up to 80" in html
    session.expire_all()
    assert session.get(HumanTask, task.id).status is TaskStatus.ready
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS, "submit", lock, note="请审核"))
    assert r.status_code == 302
    session.expire_all()
    assert session.get(HumanTask, task.id).status is TaskStatus.completed
    assert _set(session, account.person_id).status is SetStatus.in_review
    assert _open_task(session, account.person_id, "indicator_review").step_id == "section_review"


def test_blank_rows_are_dropped_and_rows_needing_text_are_named(client, session) -> None:
    account, task = _start(session)
    _switch(client, session, "staff")
    lock = _set(session, account.person_id).lock_version
    rows = [*ROWS, {"category": "temporary", "name": "", "standard": "", "weight": "", "method": ""}]
    assert client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "save", lock)).status_code == 302
    assert _names(_set(session, account.person_id)) == ["预算编制", "日常报销审核"]
    lock = _set(session, account.person_id).lock_version
    rows = [ROWS[0], {**ROWS[1], "standard": ""}]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "save", lock))
    assert r.status_code == 422 and "Write the standard" in r.get_data(as_text=True)


def test_common_rows_are_read_only_and_cannot_be_removed(client, session) -> None:
    common = _common(session)
    account, task = _start(session)
    _switch(client, session, "staff")
    html = client.get(f"/indicators/tasks/{task.id}").get_data(as_text=True)
    assert f'name="rows-0-common_id" value="{common.id}"' in html and "依法行政" in html
    assert 'name="rows-0-name"' not in html  # no input for a common row
    lock = _set(session, account.person_id).lock_version
    item_id = sets.latest(_set(session, account.person_id)).items[0].id
    rows = [
        {**ROWS[0], "weight": "50"},
        {**ROWS[1]},
        {"category": "common", "common_id": common.id, "id": item_id, "name": "改掉", "weight": "1"},
    ]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "remove-2", lock))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "cannot be removed" in html and f'value="{common.id}"' in html
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(rows, "submit", lock))
    assert r.status_code == 302
    items = sets.latest(_set(session, account.person_id)).items
    kept = [i for i in items if i.category is Category.common]
    assert [(i.name, i.weight) for i in kept] == [("依法行政", Decimal("10.00"))]  # the office's text, not the form's


def test_copy_last_years_set_brings_the_rows_and_the_current_common_items(client, session) -> None:
    account = demo_account(session, "staff")
    old = IndicatorSet(person_id=account.person_id, year=YEAR - 1, status=SetStatus.effective)
    version = IndicatorSetVersion(number=1, kind="initial", status=VersionStatus.effective)
    version.items = [
        IndicatorItem(position=0, category=Category.key_work, name="去年的重点", standard="标准", weight=Decimal(70)),
        IndicatorItem(position=1, category=Category.duties, name="去年的职责", standard="标准", weight=Decimal(30)),
    ]
    old.versions = [version]
    session.add(old)
    session.flush()
    old.effective_version_id = version.id
    session.commit()
    common = _common(session)
    _, task = _start(session)
    _switch(client, session, "staff")
    lock = _set(session, account.person_id).lock_version
    typed = [{"category": "common", "common_id": common.id}, {**ROWS[0], "name": "手输的"}]
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(typed, "copy", lock))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _row_names(html) == ["去年的重点", "去年的职责"] and "手输的" not in html
    assert f'name="rows-2-common_id" value="{common.id}"' in html and 'id="editor-info"' in html
    assert _names(_set(session, account.person_id)) == ["依法行政"]  # nothing saved yet


def test_copy_without_last_years_set_says_so(client, session) -> None:
    _, task = _start(session)
    _switch(client, session, "staff")
    r = client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS, "copy"))
    assert r.status_code == 200 and "no effective indicator set for 2030" in r.get_data(as_text=True)
    assert _row_names(r.get_data(as_text=True)) == ["预算编制", "日常报销审核"]


def _xlsx(rows: list[list[Any]]) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["类别", "指标名称", "考核标准", "权重", "评价方法"])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_excel_import_fills_the_editor_only_when_every_row_is_valid(client, session) -> None:
    _, task = _start(session)
    _switch(client, session, "staff")
    template = client.get("/indicators/import-template.xlsx")
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.data))["指标"]["B1"].value == "指标名称"
    bad = _xlsx(
        [
            ["重点工作", "导入一", "标准", 60, ""],
            ["不存在", "导入二", "标准", 20, ""],
            ["职能职责", "导入三", "", "x", ""],
        ]
    )
    data = {**_form(ROWS, "import"), "import_file": (bad, "rows.xlsx")}
    r = client.post(f"/indicators/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="import-problems"' in html and 'data-import-row="3"' in html and 'data-import-row="4"' in html
    assert "Write the standard" in html and "导入一" not in html
    assert _row_names(html) == ["预算编制", "日常报销审核"]  # nothing replaced
    good = _xlsx(
        [
            ["职能职责", "导入三", "标准三", 30, "抽查"],
            ["重点工作", "导入一", "标准一", 70, ""],
            ["共性指标", "跳过", "x", 5, ""],
        ]
    )
    data = {**_form(ROWS, "import"), "import_file": (good, "rows.xlsx")}
    r = client.post(f"/indicators/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _row_names(html) == ["导入一", "导入三"] and "were skipped" in html
    data = {**_form(ROWS, "import"), "import_file": (io.BytesIO(b"not a workbook"), "rows.xlsx")}
    r = client.post(f"/indicators/tasks/{task.id}", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "not an Excel workbook" in r.get_data(as_text=True)


def test_a_row_can_link_one_of_the_persons_unit_tasks(client, session) -> None:
    account, task = _start(session)
    unit_id = account.person.section.parent_id
    mine = UnitTask(unit_id=unit_id, year=YEAR, title="创建文明城市")
    mine.assignments = [UnitTaskAssignment(person_id=account.person_id, section_id=account.person.section_id)]
    other_year = UnitTask(unit_id=unit_id, year=YEAR - 1, title="去年的任务")
    session.add_all([mine, other_year])
    session.commit()
    _switch(client, session, "staff")
    lock = _set(session, account.person_id).lock_version
    html = client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS, "add", lock)).get_data(as_text=True)
    assert f'<option value="{mine.id}">创建文明城市</option>' in html and "去年的任务" not in html
    r = client.post(
        f"/indicators/tasks/{task.id}",
        data=_form([{**ROWS[0], "unit_task_id": other_year.id}, ROWS[1]], "submit", lock),
    )
    assert r.status_code == 422 and "tasks for 2031" in r.get_data(as_text=True)
    r = client.post(
        f"/indicators/tasks/{task.id}", data=_form([{**ROWS[0], "unit_task_id": mine.id}, ROWS[1]], "submit", lock)
    )
    assert r.status_code == 302
    assert sets.latest(_set(session, account.person_id)).items[0].unit_task_id == mine.id


def test_only_the_candidate_can_draft(client, session) -> None:
    _, task = _start(session)
    _switch(client, session, "staff", index=1)
    assert client.get(f"/indicators/tasks/{task.id}").status_code == 403
    assert client.post(f"/indicators/tasks/{task.id}", data=_form(ROWS, "submit")).status_code == 403


# --- review ---------------------------------------------------------------------------------


def test_review_comments_on_items_come_back_with_the_returned_draft(client, session) -> None:
    account, task = _start(session)
    review = _submit_via_service(session, account, task)
    _switch(client, session, "section_head")
    assert client.get(f"/tasks/{review.id}").headers["Location"].endswith(f"/indicators/tasks/{review.id}")
    html = client.get(f"/indicators/tasks/{review.id}").get_data(as_text=True)
    assert 'id="review-form"' in html and "预算编制" in html
    items = sets.latest(_set(session, account.person_id)).items
    first = items[0].id
    data = {"decision": "return", "comment": "", f"item_comments-{first}": "请写明完成时间节点"}
    r = client.post(f"/indicators/tasks/{review.id}", data=data)
    assert r.status_code == 422
    assert "请写明完成时间节点" in r.get_data(as_text=True)  # the typed comment is kept
    r = client.post(f"/indicators/tasks/{review.id}", data={**data, "comment": "标准不够具体"})
    assert r.status_code == 302
    assert _set(session, account.person_id).status is SetStatus.returned

    _switch(client, session, "staff")
    redraft = _open_task(session, account.person_id)
    html = client.get(f"/indicators/tasks/{redraft.id}").get_data(as_text=True)
    assert 'id="returned-comment"' in html and "标准不够具体" in html
    assert 'data-comment-for="0"' in html and "请写明完成时间节点" in html


# --- my set, versions, adjustment -----------------------------------------------------------


def test_my_set_starts_the_year_and_lists_versions(client, session) -> None:
    account = _switch(client, session, "staff")
    html = client.get(f"/indicators/me?year={YEAR}").get_data(as_text=True)
    assert 'id="start-setting"' in html
    r = client.post("/indicators/start", data={"year": str(YEAR)})
    assert r.status_code == 302 and "/indicators/tasks/" in r.headers["Location"]
    html = client.get(f"/indicators/me?year={YEAR}").get_data(as_text=True)
    assert 'id="open-task"' in html and 'data-version="1"' in html
    assert _set(session, account.person_id).status is SetStatus.drafting


def test_adjustment_shows_the_diff_to_the_reviewer_and_keeps_the_versions(client, session) -> None:
    account, s = _make_effective(session)
    assert s.status is SetStatus.effective
    _switch(client, session, "staff")
    html = client.get(f"/indicators/me?year={YEAR}").get_data(as_text=True)
    assert 'id="adjust-form"' in html
    assert client.post(f"/indicators/sets/{s.id}/adjust", data={"reason": ""}).status_code == 422
    r = client.post(f"/indicators/sets/{s.id}/adjust", data={"reason": "新增专项任务"})
    assert r.status_code == 302 and "/indicators/tasks/" in r.headers["Location"]
    draft = _open_task(session, account.person_id)
    html = client.get(f"/indicators/tasks/{draft.id}").get_data(as_text=True)
    assert 'id="adjustment-reason"' in html and "新增专项任务" in html
    rows = [
        {**ROWS[0], "weight": "50"},
        {"category": "temporary", "name": "专项整治", "standard": "年底前完成", "weight": "50", "method": ""},
    ]
    r = client.post(
        f"/indicators/tasks/{draft.id}", data=_form(rows, "submit", _set(session, account.person_id).lock_version)
    )
    assert r.status_code == 302, r.get_data(as_text=True)

    _switch(client, session, "section_head")
    review = _open_task(session, account.person_id, "indicator_review")
    html = client.get(f"/indicators/tasks/{review.id}").get_data(as_text=True)
    assert 'data-change="changed" data-name="预算编制"' in html
    assert 'data-change="added" data-name="专项整治"' in html
    assert 'data-change="removed" data-name="日常报销审核"' in html

    _switch(client, session, "staff")
    html = client.get(f"/indicators/me?year={YEAR}").get_data(as_text=True)
    assert 'data-version="1"' in html and 'data-version="2"' in html and 'id="effective-version"' in html
    v1 = client.get(f"/indicators/sets/{s.id}/versions/1").get_data(as_text=True)
    assert "日常报销审核" in v1
    v2 = client.get(f"/indicators/sets/{s.id}/versions/2").get_data(as_text=True)
    assert 'data-change="added"' in v2 and "新增专项任务" in v2
    assert client.get(f"/indicators/sets/{s.id}/versions/9").status_code == 404


def test_other_staff_cannot_see_a_set(client, session) -> None:
    _, s = _make_effective(session)
    _switch(client, session, "staff", index=1)
    assert client.get(f"/indicators/sets/{s.id}/versions/1").status_code == 403
    assert client.get(f"/indicators/sets/{s.id}/export.xlsx").status_code == 403


# --- overviews ------------------------------------------------------------------------------


def _count(html: str, section_id: int, key: str) -> int:
    match = re.search(rf'data-section="{section_id}">.*?data-count="{key}">(\d+)<', html, re.S)
    assert match, f"no {key} count for section {section_id}"
    return int(match.group(1))


def test_unit_overview_counts_and_opening_for_the_unit_is_idempotent(client, session) -> None:
    account, _ = _start(session)
    admin = _switch(client, session, "unit_admin")
    unit_id = admin.person.section.parent_id
    section_id = account.person.section_id
    html = client.get(f"/indicators/units/{unit_id}?year={YEAR}").get_data(as_text=True)
    assert 'id="open-unit"' in html
    assert _count(html, section_id, "drafting") == 1 and _count(html, section_id, "not_started") == 5
    r = client.post(f"/indicators/units/{unit_id}/open", data={"year": str(YEAR)}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert re.search(r"opened for \d+ people, 1 already had it", html)
    assert _count(html, section_id, "drafting") == 6 and _count(html, section_id, "not_started") == 0
    instances = session.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.period == str(YEAR)))
    r = client.post(f"/indicators/units/{unit_id}/open", data={"year": str(YEAR)}, follow_redirects=True)
    assert "opened for 0 people" in r.get_data(as_text=True)
    assert (
        session.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.period == str(YEAR))) == instances
    )

    section = client.get(f"/indicators/sections/{section_id}?year={YEAR}").get_data(as_text=True)
    assert section.count('data-status="drafting"') >= 6 and "data-set-link" in section
    overview = client.get(f"/indicators/overview?year={YEAR}").get_data(as_text=True)
    assert f'data-unit="{unit_id}"' in overview


def test_section_head_sees_only_their_section_and_staff_see_no_overview(client, session) -> None:
    head = _switch(client, session, "section_head")
    html = client.get(f"/indicators/overview?year={YEAR}").get_data(as_text=True)
    assert html.count("data-section=") == 1 + 0  # one section, no "all sections" footer
    assert f'data-section="{head.person.section_id}"' in html
    assert 'id="open-unit"' not in client.get(f"/indicators/units/{head.person.section.parent_id}").get_data(
        as_text=True
    )
    other = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd-2"))
    assert other.id != head.person.section_id
    assert client.get(f"/indicators/sections/{other.id}").status_code == 403
    assert client.get(f"/indicators/sections/{head.person.section_id}").status_code == 200
    _switch(client, session, "staff")
    assert client.get("/indicators/overview").status_code == 403
    assert (
        client.post(f"/indicators/units/{head.person.section.parent_id}/open", data={"year": "2031"}).status_code == 403
    )


def test_office_sees_every_unit(client, session) -> None:
    _switch(client, session, "perf_office")
    html = client.get(f"/indicators/overview?year={YEAR}").get_data(as_text=True)
    assert html.count('class="card mb-3" data-unit=') >= 6


# --- exports and printing -------------------------------------------------------------------


def test_exports_are_workbooks_with_the_rows(client, session) -> None:
    account, s = _make_effective(session)
    _switch(client, session, "staff")
    r = client.get(f"/indicators/sets/{s.id}/export.xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.data))
    names = [row[2] for row in wb["指标"].iter_rows(min_row=2, values_only=True)]
    assert names == ["预算编制", "日常报销审核"]
    assert ("权重合计", 100) in [tuple(r) for r in wb["信息"].iter_rows(values_only=True)]

    admin = _switch(client, session, "unit_admin")
    r = client.get(f"/indicators/units/{admin.person.section.parent_id}/export.xlsx?year={YEAR}")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data))["指标"].iter_rows(values_only=True))
    assert rows[0][:4] == ("股室", "工号", "姓名", "状态")
    mine = [row for row in rows if row[1] == account.person.staff_no]
    assert [row[7] for row in mine] == ["预算编制", "日常报销审核"] and mine[0][3] == "已生效"
    assert any(row[3] == "未开始" for row in rows[1:])


def test_printable_page_has_the_rows_and_an_a4_print_stylesheet(client, session, app) -> None:
    _, s = _make_effective(session)
    _switch(client, session, "staff")
    html = client.get(f"/indicators/sets/{s.id}/print").get_data(as_text=True)
    assert 'id="print-sheet"' in html and "预算编制" in html and "css/indicators.css" in html
    assert 'data-action="print"' in html and "<script>" not in html
    css = client.get("/static/css/indicators.css").get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css


# --- the common library ---------------------------------------------------------------------


def test_common_library_is_kept_by_the_office_only(client, session) -> None:
    _switch(client, session, "staff")
    assert client.get(f"/indicators/common?year={YEAR}").status_code == 403
    assert client.post("/indicators/common", data={"year": YEAR, "name": "x"}).status_code == 403

    _switch(client, session, "perf_office")
    good = {
        "year": str(YEAR),
        "name": "学习培训",
        "standard": "参加年度培训",
        "weight": "5",
        "unit_type": "",
        "active": "y",
    }
    assert client.post("/indicators/common", data=good).status_code == 302
    item = session.scalar(select(CommonIndicator).where(CommonIndicator.year == YEAR))
    assert item.name == "学习培训" and item.active and item.unit_type is None
    r = client.post("/indicators/common", data={**good, "name": "第二项", "weight": "abc"})
    assert r.status_code == 422 and "第二项" in r.get_data(as_text=True)
    r = client.post("/indicators/common", data={**good, "name": "过重", "weight": "58"})  # 5 + 58 > 60
    assert r.status_code == 422 and "leaves room for key work" in r.get_data(as_text=True)

    edit = {**good, "name": "学习培训（修订）", "weight": "6", "unit_type": "township"}
    assert client.post(f"/indicators/common/{item.id}", data=edit).status_code == 302
    session.expire_all()
    item = session.get(CommonIndicator, item.id)
    assert item.name == "学习培训（修订）" and item.unit_type is UnitType.township and item.weight == Decimal("6.00")
    html = client.get(f"/indicators/common?year={YEAR}").get_data(as_text=True)
    assert f'data-common="{item.id}"' in html

    # once a set carries it, it can only be deactivated
    _start(session)  # 龙景街道 is a street office: the new set receives the item
    assert session.scalar(select(func.count(IndicatorItem.id)).where(IndicatorItem.common_indicator_id == item.id))
    r = client.post(f"/indicators/common/{item.id}/delete", follow_redirects=True)
    assert "deactivate it instead" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(CommonIndicator, item.id) is not None
    other = _common(session, name="可删除")
    assert client.post(f"/indicators/common/{other.id}/delete").status_code == 302
    session.expire_all()
    assert session.get(CommonIndicator, other.id) is None


def test_common_items_of_last_year_can_be_copied(client, session) -> None:
    _common(session, year=YEAR - 1, name="去年的共性")
    _switch(client, session, "perf_office")
    assert client.post("/indicators/common/copy", data={"year": str(YEAR)}).status_code == 302
    names = session.scalars(select(CommonIndicator.name).where(CommonIndicator.year == YEAR)).all()
    assert names == ["去年的共性"]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("staff", {"indicators"}),
        ("section_head", {"indicators", "indicators_overview"}),
        ("perf_office", {"indicators", "indicators_overview", "common_indicators"}),
    ],
)
def test_navigation_shows_the_indicator_pages_by_role(client, session, role: str, visible: set[str]) -> None:
    _switch(client, session, role)
    html = client.get("/indicators/").get_data(as_text=True)
    shown = set(re.findall(r'data-nav="(indicators[a-z_]*|common_indicators)"', html))
    assert shown == visible
