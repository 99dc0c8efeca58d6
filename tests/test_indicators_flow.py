"""Indicator setting end to end through the API: rules, common indicators, opening, review, adjustment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import (
    Category,
    CommonIndicator,
    IndicatorSet,
    OrgUnit,
    ProcessInstance,
    UnitTask,
    UnitType,
    UserAccount,
)
from app.services.indicators.rules import Row, check_weights, parse_rows

KEY = {
    "category": "key_work",
    "name": "预算编制",
    "standard": "按期完成年度预算编制",
    "weight": 50,
    "method": "节点考核",
}
DUTY = {"category": "duties", "name": "报销审核", "standard": "差错率低于1%", "weight": 30, "method": "抽查"}
TEMP = {"category": "temporary", "name": "防汛值班", "standard": "按排班到岗", "weight": 10, "method": "考勤"}


@pytest.fixture
def common(session) -> CommonIndicator:
    """The office's common indicator for 2027, for every unit type, weight 10."""
    c = CommonIndicator(
        year=2027, unit_type=None, name="学习教育", standard="完成年度学习任务", weight=Decimal(10), method="学时统计"
    )
    session.add(c)
    session.commit()
    return c


def _rows(common: CommonIndicator, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *rows,
        {
            "category": "common",
            "name": common.name,
            "standard": common.standard,
            "weight": 10,
            "common_indicator_id": common.id,
        },
    ]


def _person(session, username: str) -> int:
    return session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))


def _mine(client, headers) -> list[dict[str, Any]]:
    return client.get("/api/v1/tasks", headers=headers).get_json()["items"]


def _complete(client, headers, task_id: int, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_weights_must_add_up_and_key_work_must_carry_its_share() -> None:
    assert parse_rows([KEY, DUTY, TEMP, dict(TEMP, name="其他", weight=10)]).ok
    check = parse_rows([KEY, DUTY])
    assert "add up to 80" in check.all_errors()["indicators"]
    few = check_weights([Row(Category.key_work, "a", "b", Decimal(30)), Row(Category.duties, "c", "d", Decimal(70))])
    assert any("at least 40" in p for p in few)
    none = check_weights([Row(Category.duties, "c", "d", Decimal(100))])
    assert any("key work" in p for p in none)
    bad = parse_rows([dict(KEY, name="", weight="-1"), dict(DUTY, category="other")])
    assert set(bad.field_errors) == {"indicators[0].name", "indicators[0].weight", "indicators[1].category"}
    assert "Add at least one indicator." in parse_rows([]).all_errors()["indicators"]


def test_a_unit_goes_from_nothing_to_effective_sets(client, session, api_token, common) -> None:
    admin = api_token("unit_admin")
    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd"))
    r = client.post(f"/api/v1/units/{unit_id}/indicator-setting", headers=admin, json={"year": 2027})
    assert r.status_code == 200, r.get_json()
    first = r.get_json()
    assert first["opened"] == 27 and first["already_open"] == 0
    again = client.post(f"/api/v1/units/{unit_id}/indicator-setting", headers=admin, json={"year": 2027}).get_json()
    assert again == {"opened": 0, "already_open": 27, "skipped": {}}
    assert session.query(ProcessInstance).filter_by(process_key="indicator_setting", period="2027").count() == 27
    staff = api_token("staff")
    other_unit = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "lcz"))
    assert (
        client.post(f"/api/v1/units/{other_unit}/indicator-setting", headers=admin, json={"year": 2027}).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/units/{unit_id}/indicator-setting", headers=staff, json={"year": 2027}).status_code == 403
    )

    draft = next(t for t in _mine(client, staff) if t["step_id"] == "draft")
    data = client.get(f"/api/v1/tasks/{draft['id']}", headers=staff).get_json()["data"]
    items = data["indicator_set"]["items"]
    assert [(i["name"], i["locked"]) for i in items] == [("学习教育", True)]  # the common indicator is already in

    # removing the common indicator is refused, and says which one
    r = client.post(
        f"/api/v1/tasks/{draft['id']}/complete", headers=staff, json={"indicators": [dict(KEY, weight=60), DUTY, TEMP]}
    )
    assert r.status_code == 422 and "学习教育" in r.get_json()["error"]["fields"]["indicators"]
    # changing its weight is not possible either: the library's weight is restored, so the total breaks
    tampered = _rows(common, KEY, DUTY, TEMP)
    tampered[-1]["weight"] = 40
    r = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=staff, json={"indicators": tampered})
    assert r.status_code == 200, r.get_json()
    s = session.scalar(select(IndicatorSet).where(IndicatorSet.person_id == _person(session, "ljjd103")))
    assert s.status.value == "in_review"
    assert [float(i.weight) for i in s.versions[-1].items if i.category is Category.common] == [10.0]


def test_review_comments_return_and_approval_make_the_set_effective_and_read_only(
    client, session, api_token, common
) -> None:
    staff, head, principal = api_token("staff"), api_token("section_head"), api_token("unit_principal")
    start = client.post("/api/v1/processes/indicator_setting/start", headers=staff, json={"period": "2027"}).get_json()
    out = _complete(
        client, staff, start["tasks"][0]["id"], {"indicators": _rows(common, KEY, DUTY, TEMP), "note": "请审核"}
    )
    review = out["next_tasks"][0]
    detail = client.get(f"/api/v1/tasks/{review['id']}", headers=head).get_json()
    assert detail["data"]["note"] == "请审核"
    item_id = next(i["id"] for i in detail["data"]["indicator_set"]["items"] if i["name"] == "报销审核")
    r = client.post(
        f"/api/v1/tasks/{review['id']}/complete",
        headers=head,
        json={"decision": "return", "comment": "细化标准", "item_comments": {"999999": "x"}},
    )
    assert r.status_code == 422
    out = _complete(
        client,
        head,
        review["id"],
        {"decision": "return", "comment": "细化标准", "item_comments": {str(item_id): "差错率如何统计？"}},
    )
    redraft = out["next_tasks"][0]
    data = client.get(f"/api/v1/tasks/{redraft['id']}", headers=staff).get_json()["data"]
    assert data["comment"] == "细化标准"
    commented = next(i for i in data["indicator_set"]["items"] if i["name"] == "报销审核")
    assert "差错率如何统计？" in commented["review_comment"]
    sets = client.get("/api/v1/indicator-sets?year=2027", headers=staff).get_json()
    assert sets["items"][0]["status"] == "returned"

    fixed = _rows(common, KEY, dict(DUTY, standard="差错率低于1%，以月度抽查计"), TEMP)
    out = _complete(client, staff, redraft["id"], {"indicators": fixed})
    out = _complete(client, head, out["next_tasks"][0]["id"], {"decision": "approve"})
    out = _complete(client, principal, out["next_tasks"][0]["id"], {"decision": "approve", "item_comments": {}})
    assert out["instance"]["status"] == "completed"

    set_id = sets["items"][0]["id"]
    full = client.get(f"/api/v1/indicator-sets/{set_id}", headers=staff).get_json()
    assert full["status"] == "effective" and full["effective_version"] == 1
    assert [v["status"] for v in full["versions"]] == ["effective"]
    assert full["versions"][0]["indicators"][1]["standard"] == "差错率低于1%，以月度抽查计"
    # effective means read-only: drafting over it is refused
    r = client.post(f"/api/v1/indicator-sets/{set_id}/draft", headers=staff, json={"indicators": fixed})
    assert r.status_code == 409
    # the section head may read it, a person of another unit may not
    assert client.get(f"/api/v1/indicator-sets/{set_id}", headers=head).status_code == 200
    outsider = api_token("staff", unit_code="lcz")
    assert client.get(f"/api/v1/indicator-sets/{set_id}", headers=outsider).status_code == 403


def test_an_adjustment_runs_the_same_approval_with_a_diff_and_keeps_every_version(
    client, session, api_token, common
) -> None:
    staff, head, principal = api_token("staff"), api_token("section_head"), api_token("unit_principal")
    start = client.post("/api/v1/processes/indicator_setting/start", headers=staff, json={"period": "2027"}).get_json()
    out = _complete(client, staff, start["tasks"][0]["id"], {"indicators": _rows(common, KEY, DUTY, TEMP)})
    out = _complete(client, head, out["next_tasks"][0]["id"], {"decision": "approve"})
    _complete(client, principal, out["next_tasks"][0]["id"], {"decision": "approve"})
    set_id = client.get("/api/v1/indicator-sets?year=2027", headers=staff).get_json()["items"][0]["id"]

    assert client.post(f"/api/v1/indicator-sets/{set_id}/adjustments", headers=staff, json={}).status_code == 422
    r = client.post(f"/api/v1/indicator-sets/{set_id}/adjustments", headers=staff, json={"reason": "新增防疫任务"})
    assert r.status_code == 201 and r.get_json()["number"] == 2 and r.get_json()["kind"] == "adjustment"
    again = client.post(f"/api/v1/indicator-sets/{set_id}/adjustments", headers=staff, json={"reason": "再调"})
    assert again.status_code == 409

    task = next(t for t in _mine(client, staff) if t["step_id"] == "draft")
    adjusted = _rows(
        common,
        dict(KEY, weight=40),
        DUTY,
        TEMP,
        {"category": "temporary", "name": "防疫", "standard": "按要求完成", "weight": 10},
    )
    out = _complete(client, staff, task["id"], {"indicators": adjusted})
    review = out["next_tasks"][0]
    changes = client.get(f"/api/v1/tasks/{review['id']}", headers=head).get_json()["data"]["changes"]
    assert {(c["kind"], c["name"]) for c in changes} == {("changed", "预算编制"), ("added", "防疫")}
    # the effective version stays in force while the adjustment is reviewed
    full = client.get(f"/api/v1/indicator-sets/{set_id}", headers=staff).get_json()
    assert full["effective_version"] == 1
    out = _complete(client, head, review["id"], {"decision": "approve"})
    _complete(client, principal, out["next_tasks"][0]["id"], {"decision": "approve"})
    full = client.get(f"/api/v1/indicator-sets/{set_id}", headers=staff).get_json()
    assert full["effective_version"] == 2
    assert [(v["number"], v["status"]) for v in full["versions"]] == [(1, "superseded"), (2, "effective")]
    assert len(full["versions"][0]["indicators"]) == 4 and len(full["versions"][1]["indicators"]) == 5
    instances = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.process_key == "indicator_setting")
        .order_by(ProcessInstance.revision)
    ).all()
    assert [(i.period, i.revision, i.status.value) for i in instances] == [
        ("2027", 0, "completed"),
        ("2027", 1, "completed"),
    ]


def test_items_link_only_to_tasks_of_the_persons_unit(client, session, api_token, common) -> None:
    staff = api_token("staff")
    ljjd = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd"))
    lcz = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "lcz"))
    ours = UnitTask(unit_id=ljjd, year=2027, title="老旧小区改造", unit_indicator="城市更新")
    theirs = UnitTask(unit_id=lcz, year=2027, title="乡村振兴", unit_indicator="农业")
    session.add_all([ours, theirs])
    session.commit()
    start = client.post("/api/v1/processes/indicator_setting/start", headers=staff, json={"period": "2027"}).get_json()
    task_id = start["tasks"][0]["id"]
    r = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=staff,
        json={"indicators": _rows(common, dict(KEY, unit_task_id=theirs.id), DUTY, TEMP)},
    )
    assert r.status_code == 422 and "indicators[0].unit_task_id" in r.get_json()["error"]["fields"]
    out = _complete(client, staff, task_id, {"indicators": _rows(common, dict(KEY, unit_task_id=ours.id), DUTY, TEMP)})
    assert out["next_tasks"][0]["step_id"] == "section_review"
    s = session.scalar(select(IndicatorSet).where(IndicatorSet.person_id == _person(session, "ljjd103")))
    assert s.versions[-1].items[0].unit_task_id == ours.id


def test_a_stale_draft_save_is_refused_so_no_update_is_lost(client, session, api_token, common) -> None:
    staff = api_token("staff")
    client.post("/api/v1/processes/indicator_setting/start", headers=staff, json={"period": "2027"})
    s = client.get("/api/v1/indicator-sets?year=2027", headers=staff).get_json()["items"][0]
    first = client.post(
        f"/api/v1/indicator-sets/{s['id']}/draft",
        headers=staff,
        json={"indicators": _rows(common, KEY), "lock_version": s["lock_version"]},
    )
    assert first.status_code == 200 and "add up to 60" in first.get_json()["problems"]["indicators"]
    stale = client.post(
        f"/api/v1/indicator-sets/{s['id']}/draft",
        headers=staff,
        json={"indicators": _rows(common, KEY, DUTY), "lock_version": s["lock_version"]},
    )
    assert stale.status_code == 409 and "reload" in stale.get_json()["error"]["message"]
    saved = client.get(f"/api/v1/indicator-sets/{s['id']}", headers=staff).get_json()
    assert [i["name"] for i in saved["versions"][0]["indicators"]] == ["预算编制", "学习教育"]


def test_common_library_is_filtered_by_unit_type(session, make_person) -> None:
    from app.services.indicators.sets import common_library

    session.add_all(
        [
            CommonIndicator(year=2028, unit_type=UnitType.township, name="乡镇共性", standard="s", weight=Decimal(5)),
            CommonIndicator(year=2028, unit_type=UnitType.department, name="部门共性", standard="s", weight=Decimal(5)),
            CommonIndicator(year=2028, unit_type=None, name="全区共性", standard="s", weight=Decimal(5)),
        ]
    )
    session.commit()
    township_person = make_person("ljjd-1")  # 龙景街道 is a street office
    department_person = make_person("czj-1")
    assert [c.name for c in common_library(session, 2028, township_person)] == ["乡镇共性", "全区共性"]
    assert [c.name for c in common_library(session, 2028, department_person)] == ["部门共性", "全区共性"]
