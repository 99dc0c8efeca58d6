"""The bonus/deduction API: items, evidence, counted points, and the approval steps through /api/v1/tasks."""

from __future__ import annotations

import io
from typing import Any

from app.services.appraisal import common
from tests.test_appraisal_logs import EXE, PDF

TODAY = common.local_today()
QUARTER = f"{TODAY.year}-Q{(TODAY.month - 1) // 3 + 1}"


def _tokens(api_token) -> dict[str, dict[str, str]]:
    return {
        "staff": api_token("staff"),
        "head": api_token("section_head"),
        "other_head": api_token("section_head", index=1),
        "principal": api_token("unit_principal"),
        "office": api_token("perf_office"),
    }


def _propose(client, headers, status: int = 201, **body: Any) -> dict[str, Any]:
    payload = {"kind": "innovation", "points": 2, "occurred_on": TODAY.isoformat(), "reason": "创新"} | body
    r = client.post("/api/v1/bonus-items", headers=headers, json=payload)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _open_task(client, headers, instance_id: int) -> dict[str, Any]:
    r = client.get("/api/v1/tasks", headers=headers)
    assert r.status_code == 200
    found = [t for t in r.get_json()["items"] if t["instance_id"] == instance_id]
    assert found, r.get_json()
    return found[0]


def _complete(client, headers, task_id: int, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _upload(client, headers, item_id: int, data: bytes = PDF, status: int = 201) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/bonus-items/{item_id}/evidence",
        headers=headers,
        data={"evidence": (io.BytesIO(data), "证明.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_whole_flow_through_the_api(client, api_token) -> None:
    h = _tokens(api_token)
    item = _propose(client, h["staff"], points=3)
    assert (item["status"], item["direction"], item["quarter"]) == ("proposed", "bonus", QUARTER)

    check = _open_task(client, h["head"], item["instance_id"])
    detail = client.get(f"/api/v1/tasks/{check['id']}", headers=h["head"]).get_json()
    assert detail["form"] == "bonus_check"
    assert [f["name"] for f in detail["fields"]] == ["decision", "comment"]
    assert detail["data"]["bonus_item"]["id"] == item["id"]
    assert detail["data"]["points"]["bonus_cap_period"] == 5
    _complete(client, h["head"], check["id"], {"decision": "return"}, status=422)  # a return needs a comment
    _complete(client, h["head"], check["id"], {"decision": "return", "comment": "请附文件"})

    revise = _open_task(client, h["staff"], item["instance_id"])
    _complete(client, h["staff"], revise["id"], {"decision": "resubmit", "points": "abc"}, status=422)
    _upload(client, h["staff"], item["id"])
    _upload(client, h["staff"], item["id"], EXE, status=422)
    _complete(client, h["staff"], revise["id"], {"decision": "resubmit", "points": 2.5, "comment": "已附"})

    check = _open_task(client, h["head"], item["instance_id"])
    _complete(client, h["head"], check["id"], {"decision": "forward"})
    decide = _open_task(client, h["principal"], item["instance_id"])
    _complete(client, h["principal"], decide["id"], {"decision": "approve", "comment": "同意"})

    r = client.get(f"/api/v1/bonus-items/{item['id']}", headers=h["staff"])
    body = r.get_json()
    assert (body["status"], body["points"], body["decision_comment"]) == ("approved", 2.5, "同意")
    assert [e["decision"] for e in body["history"] if e["kind"] == "completed"] == [
        "return",
        "resubmit",
        "forward",
        "approve",
    ]
    counted = client.get(f"/api/v1/people/{item['person']['id']}/counted-points?quarter={QUARTER}", headers=h["staff"])
    assert counted.status_code == 200 and item["id"] in counted.get_json()["item_ids"]
    _upload(client, h["staff"], item["id"], status=409)  # approved: frozen

    evidence_id = body["evidence"][0]["id"]
    assert client.get(f"/api/v1/bonus-evidence/{evidence_id}", headers=h["principal"]).data == PDF
    assert client.get(f"/api/v1/bonus-evidence/{evidence_id}", headers=h["other_head"]).status_code == 403


def test_staff_cannot_propose_a_deduction_nor_for_others(client, api_token, session) -> None:
    h = _tokens(api_token)
    r = client.post(
        "/api/v1/bonus-items",
        headers=h["staff"],
        json={"kind": "criticism", "points": 1, "occurred_on": TODAY.isoformat(), "reason": "x"},
    )
    assert r.status_code == 403
    me = client.get("/api/v1/me", headers=h["head"]).get_json()["person_id"]
    _propose(client, h["staff"], status=403, person_id=me)
    _propose(
        client,
        h["other_head"],
        status=403,
        person_id=client.get("/api/v1/me", headers=h["staff"]).get_json()["person_id"],
    )


def test_lists_are_scoped_and_filtered(client, api_token) -> None:
    h = _tokens(api_token)
    staff_id = client.get("/api/v1/me", headers=h["staff"]).get_json()["person_id"]
    item = _propose(client, h["head"], person_id=staff_id, kind="criticism", points=1)
    assert item["status"] == "in_review"
    ids = lambda who, q="": [i["id"] for i in client.get(f"/api/v1/bonus-items{q}", headers=h[who]).get_json()["items"]]  # noqa: E731
    assert item["id"] in ids("staff") and item["id"] in ids("principal") and item["id"] in ids("office")
    assert item["id"] not in ids("other_head")
    assert item["id"] in ids("head", f"?period={QUARTER}&kind=criticism&status=in_review")
    assert item["id"] not in ids("head", "?kind=innovation")
    assert client.get("/api/v1/bonus-items?period=2026-11", headers=h["head"]).status_code == 422
    assert client.get(f"/api/v1/bonus-items/{item['id']}", headers=h["other_head"]).status_code == 403
    assert client.get(f"/api/v1/people/{staff_id}/counted-points", headers=h["other_head"]).status_code == 403
    assert client.get(f"/api/v1/people/{staff_id}/counted-points?quarter=x", headers=h["staff"]).status_code == 422


def test_approval_without_evidence_is_refused(client, api_token) -> None:
    h = _tokens(api_token)
    staff_id = client.get("/api/v1/me", headers=h["staff"]).get_json()["person_id"]
    item = _propose(client, h["head"], person_id=staff_id, kind="commendation")
    decide = _open_task(client, h["principal"], item["instance_id"])
    out = _complete(client, h["principal"], decide["id"], {"decision": "approve", "comment": "同意"}, status=422)
    assert "evidence" in out["error"]["message"]
    assert client.get(f"/api/v1/bonus-items/{item['id']}", headers=h["head"]).get_json()["status"] == "in_review"


def test_a_person_id_beyond_any_row_is_a_clear_422_not_a_server_error(client, api_token) -> None:
    headers = api_token("section_head")
    for person_id in (2**63, 0, -3):
        body = _propose(client, headers, status=422, person_id=person_id)
        assert "person_id" in body["error"]["fields"], body
