"""Both shipped processes driven end to end through the JSON API, with return loops and errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.models import HumanTask, Notification, Person, ProcessInstance, TaskStatus, UserAccount
from tests.conftest import demo_account

ROWS = [
    {
        "category": "key_work",
        "name": "预算编制",
        "standard": "按期完成年度预算编制",
        "weight": 60,
        "method": "按节点考核",
    },
    {"category": "duties", "name": "日常报销审核", "standard": "差错率低于1%", "weight": 40, "method": "抽查"},
]
ROWS_40 = [dict(ROWS[0], weight=40), dict(ROWS[1], weight=40)]


def _tasks(client, headers, scope="mine", **params) -> list[dict[str, Any]]:
    r = client.get("/api/v1/tasks", headers=headers, query_string={"scope": scope, **params})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def _person_id(session, username: str) -> int:
    return session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))


@pytest.fixture
def roles(api_token, session):
    """Tokens for the people around staff member ljjd103 (section ljjd-1 of 龙景街道)."""
    return {
        "staff": api_token("staff"),  # ljjd103
        "head": api_token("section_head"),  # ljjd101
        "leader": api_token("unit_leader"),  # ljjd_leader1, in charge of section ljjd-1
        "principal": api_token("unit_principal"),
        "other_staff": api_token("staff", index=1),  # ljjd104, same section
    }


def _complete(client, headers, task_id, body, status=200) -> dict[str, Any]:
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_periodic_appraisal_runs_end_to_end_with_return_and_appeal(client, session, roles) -> None:
    r = client.post("/api/v1/processes/periodic_appraisal/start", headers=roles["staff"], json={"period": "2026-11"})
    assert r.status_code == 201, r.get_json()
    started = r.get_json()
    instance_id = started["instance_id"]
    assert [t["step_id"] for t in started["tasks"]] == ["submit_summary"]
    mine = _tasks(client, roles["staff"])
    assert [t["step_id"] for t in mine] == ["submit_summary"]
    assert mine[0]["process_name"] == "平时考核" and mine[0]["period"] == "2026-11" and mine[0]["due_at"]

    detail = client.get(f"/api/v1/tasks/{mine[0]['id']}", headers=roles["staff"]).get_json()
    assert [f["name"] for f in detail["fields"]] == ["summary", "plan"]

    out = _complete(client, roles["staff"], mine[0]["id"], {"summary": "完成预算编制", "plan": "推进决算"})
    assert out["instance"] == {"id": instance_id, "status": "running"}
    assert [t["step_id"] for t in out["next_tasks"]] == ["section_score"]

    score_task = _tasks(client, roles["head"], process="periodic_appraisal", period="2026-11")
    score_task = next(t for t in score_task if t["instance_id"] == instance_id)
    shown = client.get(f"/api/v1/tasks/{score_task['id']}", headers=roles["head"]).get_json()["data"]
    assert shown["summary"] == "完成预算编制"
    out = _complete(client, roles["head"], score_task["id"], {"score": 88, "score_comment": "预算按期完成"})
    review = out["next_tasks"][0]
    assert review["step_id"] == "leader_review"

    # the leader in charge sends it back; the section head gets it again, with the comment
    out = _complete(client, roles["leader"], review["id"], {"decision": "return", "comment": "请补充依据"})
    again = out["next_tasks"][0]
    assert again["step_id"] == "section_score"
    assert (
        client.get(f"/api/v1/tasks/{again['id']}", headers=roles["head"]).get_json()["data"]["comment"] == "请补充依据"
    )
    out = _complete(client, roles["head"], again["id"], {"score": 86, "score_comment": "补充了依据"})
    out = _complete(client, roles["leader"], out["next_tasks"][0]["id"], {"decision": "approve"})
    feedback = out["next_tasks"][0]
    assert feedback["step_id"] == "feedback"

    # the person appeals; it returns to the section head, then is acknowledged and archived
    out = _complete(client, roles["staff"], feedback["id"], {"decision": "appeal", "appeal_reason": "加班未计入"})
    assert out["next_tasks"][0]["step_id"] == "section_score"
    out = _complete(client, roles["head"], out["next_tasks"][0]["id"], {"score": 90, "score_comment": "复核加分"})
    out = _complete(client, roles["leader"], out["next_tasks"][0]["id"], {"decision": "approve"})
    out = _complete(client, roles["staff"], out["next_tasks"][0]["id"], {"decision": "acknowledge"})
    assert out["instance"]["status"] == "completed" and out["next_tasks"] == []

    inst = client.get(f"/api/v1/process-instances/{instance_id}", headers=roles["staff"]).get_json()
    assert inst["status"] == "completed" and inst["version"] == 1 and inst["process_key"] == "periodic_appraisal"
    steps = [(h["step_id"], h["decision"]) for h in inst["history"] if h["kind"] == "completed"]
    assert steps == [
        ("submit_summary", None),
        ("section_score", None),
        ("leader_review", "return"),
        ("section_score", None),
        ("leader_review", "approve"),
        ("feedback", "appeal"),
        ("section_score", None),
        ("leader_review", "approve"),
        ("feedback", "acknowledge"),
    ]
    assert inst["history"][2]["by"]["name"]
    done = _tasks(client, roles["head"], scope="done")
    assert sum(1 for t in done if t["instance_id"] == instance_id) == 3
    # archived: nothing is left to complete
    assert _tasks(client, roles["staff"]) == []


def test_indicator_setting_with_return_loops_until_effective(client, session, roles) -> None:
    r = client.post("/api/v1/processes/indicator_setting/start", headers=roles["staff"], json={"period": "2027"})
    assert r.status_code == 201
    draft = r.get_json()["tasks"][0]
    refused = _complete(client, roles["staff"], draft["id"], {"indicators": ROWS_40}, status=422)
    assert "add up to 80" in refused["error"]["fields"]["indicators"]
    out = _complete(client, roles["staff"], draft["id"], {"indicators": ROWS})
    review = out["next_tasks"][0]
    assert review["step_id"] == "section_review"
    out = _complete(client, roles["head"], review["id"], {"decision": "return", "comment": "标准不够具体"})
    redraft = out["next_tasks"][0]
    assert redraft["step_id"] == "draft"
    assert (
        client.get(f"/api/v1/tasks/{redraft['id']}", headers=roles["staff"]).get_json()["data"]["comment"]
        == "标准不够具体"
    )
    out = _complete(client, roles["staff"], redraft["id"], {"indicators": ROWS})
    out = _complete(client, roles["head"], out["next_tasks"][0]["id"], {"decision": "approve"})
    approve = out["next_tasks"][0]
    assert approve["step_id"] == "principal_approve"
    out = _complete(client, roles["principal"], approve["id"], {"decision": "return", "comment": "再细化"})
    assert out["next_tasks"][0]["step_id"] == "draft"
    out = _complete(client, roles["staff"], out["next_tasks"][0]["id"], {"indicators": ROWS})
    out = _complete(client, roles["head"], out["next_tasks"][0]["id"], {"decision": "approve"})
    out = _complete(client, roles["principal"], out["next_tasks"][0]["id"], {"decision": "approve"})
    assert out["instance"]["status"] == "completed"
    returned = session.scalars(select(Notification).where(Notification.kind == "returned")).all()
    assert len(returned) == 2


def test_completion_refuses_non_candidates_duplicates_and_bad_input(client, session, roles) -> None:
    started = client.post(
        "/api/v1/processes/periodic_appraisal/start", headers=roles["staff"], json={"period": "2026-10"}
    ).get_json()
    task_id = started["tasks"][0]["id"]
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=roles["other_staff"], json={"summary": "x"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=roles["staff"], json={"plan": "only a plan"})
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "invalid" and "summary" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=roles["staff"], json={"summary": "ok", "bogus": 1})
    assert r.status_code == 422 and "bogus" in r.get_json()["error"]["fields"]
    out = _complete(client, roles["staff"], task_id, {"summary": "本月工作"})
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=roles["staff"], json={"summary": "again"})
    assert r.status_code == 409 and "already completed" in r.get_json()["error"]["message"]
    score_id = out["next_tasks"][0]["id"]
    r = client.post(
        f"/api/v1/tasks/{score_id}/complete", headers=roles["head"], json={"score": 101, "score_comment": "x"}
    )
    assert r.status_code == 422 and "score" in r.get_json()["error"]["fields"]
    review = _complete(client, roles["head"], score_id, {"score": 70, "score_comment": "一般"})["next_tasks"][0]
    r = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=roles["leader"], json={"decision": "return"})
    assert r.status_code == 422 and "comment" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=roles["leader"], json={"decision": "maybe"})
    assert r.status_code == 422
    # nothing of the refused attempts reached the engine
    inst = client.get(f"/api/v1/process-instances/{started['instance_id']}", headers=roles["leader"]).get_json()
    assert inst["current_steps"] == ["leader_review"]


def test_starting_twice_returns_the_existing_instance(client, session, roles) -> None:
    first = client.post(
        "/api/v1/processes/periodic_appraisal/start", headers=roles["staff"], json={"period": "2026-09"}
    )
    assert first.status_code == 201
    again = client.post(
        "/api/v1/processes/periodic_appraisal/start", headers=roles["staff"], json={"period": "2026-09"}
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["instance_id"] == first.get_json()["instance_id"]
    assert session.query(ProcessInstance).filter_by(period="2026-09").count() == 1


def test_start_validates_period_subject_and_process(client, session, roles) -> None:
    h = roles["staff"]
    assert (
        client.post("/api/v1/processes/periodic_appraisal/start", headers=h, json={"period": "2026-13"}).status_code
        == 422
    )
    assert (
        client.post("/api/v1/processes/periodic_appraisal/start", headers=h, json={"period": "2026"}).status_code == 422
    )
    assert client.post("/api/v1/processes/nope/start", headers=h, json={"period": "2026-11"}).status_code == 404
    other = _person_id(session, "ljjd104")
    r = client.post(
        "/api/v1/processes/periodic_appraisal/start", headers=h, json={"period": "2026-11", "subject_id": other}
    )
    assert r.status_code == 403


def test_unit_admin_starts_for_a_person_of_the_unit(client, session, api_token) -> None:
    admin = api_token("unit_admin")
    subject = _person_id(session, "ljjd205")
    r = client.post(
        "/api/v1/processes/periodic_appraisal/start", headers=admin, json={"period": "2026-11", "subject_id": subject}
    )
    assert r.status_code == 201
    assert r.get_json()["tasks"][0]["subject"]["id"] == subject


def test_claimable_tasks_are_claimed_by_one_candidate(client, session, api_token, make_person) -> None:
    # a person in a section with no head and no leader: the task falls to the unit admin(s), with a warning
    from app.models import OrgUnit

    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
    section = OrgUnit(kind="section", name="新设股室", parent_id=unit.id, code="ljjd-new")
    session.add(section)
    session.commit()
    person = make_person("ljjd-new", username="newcomer")
    second_admin = demo_account(session, "staff", index=5)
    from app.models import Role, RoleAssignment

    session.add(RoleAssignment(person_id=second_admin.person_id, role=Role.unit_admin, org_unit_id=unit.id))
    session.commit()
    started = client.post("/api/v1/auth/token", json={"username": "newcomer", "password": "Jixiao@2026"}).get_json()
    h = {"Authorization": f"Bearer {started['token']}"}
    start = client.post("/api/v1/processes/periodic_appraisal/start", headers=h, json={"period": "2026-11"}).get_json()
    score = _complete(client, h, start["tasks"][0]["id"], {"summary": "新人小结"})["next_tasks"][0]
    assert score["assigned_role"] == "unit_admin" and score["assignment_warning"].startswith("vacant|section_head")
    admin1 = api_token("unit_admin")
    admin2 = {
        "Authorization": "Bearer "
        + client.post(
            "/api/v1/auth/token", json={"username": second_admin.username, "password": "Jixiao@2026"}
        ).get_json()["token"]
    }
    assert score["id"] in [t["id"] for t in _tasks(client, admin1, scope="claimable")]
    assert score["id"] not in [t["id"] for t in _tasks(client, admin1)]
    assert client.post(f"/api/v1/tasks/{score['id']}/claim", headers=admin1).status_code == 200
    assert score["id"] in [t["id"] for t in _tasks(client, admin1)]
    assert score["id"] not in [t["id"] for t in _tasks(client, admin2, scope="claimable")]
    r = client.post(f"/api/v1/tasks/{score['id']}/complete", headers=admin2, json={"score": 80, "score_comment": "x"})
    assert r.status_code == 409 and r.get_json()["error"]["task_status"] == "claimed"
    assert client.post(f"/api/v1/tasks/{score['id']}/claim", headers=admin2).status_code == 409
    assert client.post(f"/api/v1/tasks/{score['id']}/release", headers=admin1).status_code == 200
    assert score["id"] in [t["id"] for t in _tasks(client, admin2, scope="claimable")]
    assert person.id


def test_section_head_inbox_holds_exactly_the_section_tasks(client, session, api_token) -> None:
    from app.models import OrgUnit
    from app.services.actor import SYSTEM
    from app.workflow import runtime

    people = session.scalars(
        select(Person)
        .join(OrgUnit, Person.section_id == OrgUnit.id)
        .where(OrgUnit.code.in_(["ljjd-1", "ljjd-2", "lcz-1"]))
    ).all()
    for p in people:
        result = runtime.start_process(session, SYSTEM, "periodic_appraisal", "2026-08", p.id)
        task = result.tasks[0]
        from app.services.actor import Actor

        runtime.complete_task(
            session, Actor(user_id=None, person_id=p.id, username="", name=p.name), task.id, {"summary": "小结"}
        )
    session.commit()
    head = api_token("section_head")  # head of ljjd-1
    head_person = demo_account(session, "section_head").person_id
    mine = _tasks(client, head, period="2026-08", per_page=200)
    section_1 = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd-1"))
    expected = {p.id for p in people if p.section_id == section_1 and p.id != head_person}
    assert {t["subject"]["id"] for t in mine} == expected
    assert all(t["step_id"] == "section_score" for t in mine)
    # the head's own appraisal went one level up, to the leader in charge
    own = session.scalar(
        select(HumanTask).where(
            HumanTask.subject_id == head_person, HumanTask.period == "2026-08", HumanTask.status == TaskStatus.ready
        )
    )
    assert own.assigned_role == "unit_leader" and own.assignment_warning == "escalated|section_head|unit_leader"
