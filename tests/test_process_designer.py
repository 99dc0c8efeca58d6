"""The process designer (issue 7): validation on save/upload/deploy, drafts that change nothing running,
diff, simulation, deploy per unit and roll back, migration of running instances, the pages and the API.

Real BPMN (the shipped appraisal, edited with lxml the way the modeler edits it), real engine, real
database inside the rolled-back test transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from app.models import (
    DefinitionStatus,
    HumanTask,
    InstanceEvent,
    OrgUnit,
    ProcessDefinition,
    ProcessDefinitionEvent,
    ProcessInstance,
    TaskStatus,
    UserAccount,
)
from app.services.actor import SYSTEM, Actor, actor_for_user
from app.services.errors import Conflict, Forbidden
from app.workflow import designer, diffing, migrate, repository, runtime, simulate
from app.workflow.checks import check_design
from app.workflow.definitions import NS

KEY = "periodic_appraisal"
B = "{{{}}}".format(NS["bpmn"])
S = "{{{}}}".format(NS["spiffworkflow"])
XSI = "http://www.w3.org/2001/XMLSchema-instance"


# --- BPMN edits, as the modeler makes them ---------------------------------------------------------


def shipped() -> str:
    return repository.shipped_files()[KEY].read_text(encoding="utf-8")


def with_step(
    xml: str, before: str = "feedback", step_id: str = "principal_approve", lane: str = "unit_principal"
) -> str:
    """Insert a user task (generic review form) on every flow into ``before``, in ``lane`` (created if missing)."""
    root = etree.fromstring(xml.encode("utf-8"))
    process = root.find(f"{B}process")
    lane_set = process.find(f"{B}laneSet")
    lane_el = next((x for x in lane_set.findall(f"{B}lane") if x.get("name") == lane), None)
    if lane_el is None:
        lane_el = etree.SubElement(lane_set, f"{B}lane", id=f"Lane_{lane}", name=lane)
    etree.SubElement(lane_el, f"{B}flowNodeRef").text = step_id
    task = etree.SubElement(process, f"{B}userTask", id=step_id, name="主要领导审批")
    props = etree.SubElement(etree.SubElement(task, f"{B}extensionElements"), f"{S}properties")
    etree.SubElement(props, f"{S}property", name="form", value="review")
    target = process.find(f"{B}*[@id='{before}']")
    for flow in process.findall(f"{B}sequenceFlow[@targetRef='{before}']"):
        flow.set("targetRef", step_id)
        etree.SubElement(task, f"{B}incoming").text = flow.get("id")
        for inc in target.findall(f"{B}incoming"):
            if inc.text == flow.get("id"):
                target.remove(inc)
    etree.SubElement(task, f"{B}outgoing").text = f"f_{step_id}"
    etree.SubElement(target, f"{B}incoming").text = f"f_{step_id}"
    etree.SubElement(process, f"{B}sequenceFlow", id=f"f_{step_id}", sourceRef=step_id, targetRef=before)
    return etree.tostring(root, encoding="unicode")


def with_condition(xml: str, flow_id: str, condition: str) -> str:
    root = etree.fromstring(xml.encode("utf-8"))
    flow = root.find(f".//{B}sequenceFlow[@id='{flow_id}']")
    cond = flow.find(f"{B}conditionExpression")
    if cond is None:
        cond = etree.SubElement(flow, f"{B}conditionExpression")
        cond.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
    cond.text = condition
    return etree.tostring(root, encoding="unicode")


def with_lane_renamed(xml: str, role: str, new_name: str) -> str:
    return xml.replace(f'name="{role}"', f'name="{new_name}"', 1)


XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&xxe;</bpmn:definitions>"""
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;</bpmn:definitions>'
)


def _actor(session: Any, username: str) -> Actor:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    return actor_for_user(session, account)


def _unit_id(session: Any, code: str) -> int:
    return session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def _counts(session: Any) -> tuple[int, int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(ProcessDefinition)),
        session.scalar(select(func.count()).select_from(ProcessDefinitionEvent)),
        session.scalar(select(func.count()).select_from(ProcessInstance)),
        session.scalar(select(func.count()).select_from(HumanTask)),
    )


@pytest.fixture
def office(session: Any) -> Actor:
    repository.ensure_shipped(session)
    return _actor(session, "office1")


def _walk(session: Any, username: str, period: str, until: str) -> ProcessInstance:
    """Start the appraisal of ``username`` and complete steps (approving) until ``until`` is waiting."""
    pid = session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))
    inst = runtime.start_process(session, SYSTEM, KEY, period, pid).instance
    payloads = {
        "submit_summary": {"summary": "本月小结"},
        "section_score": {"score": 88, "score_comment": "扎实"},
        "leader_review": {"decision": "approve"},
        "principal_approve": {"decision": "approve"},
    }
    for _ in range(6):
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.status == "ready"))
        if task is None or task.step_id == until:
            return inst
        who = next(c.person_id for c in task.candidates)
        account = session.scalar(select(UserAccount).where(UserAccount.person_id == who))
        runtime.complete_task(session, actor_for_user(session, account), task.id, payloads[task.step_id])
    raise AssertionError(f"never reached {until}")


def _open_steps(session: Any, inst: ProcessInstance) -> list[str]:
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.status == "ready"))
    return [t.step_id for t in rows]


# --- validation ------------------------------------------------------------------------------------


def test_shipped_definitions_pass_every_design_check() -> None:
    for path in repository.shipped_files().values():
        assert check_design(path.read_text(encoding="utf-8")) == []
    assert designer.validate(with_step(shipped()), KEY)[1] == []


@pytest.mark.parametrize(
    ("xml", "element", "words"),
    [
        (
            with_condition(shipped(), "f_review_return", "__import__('os').system('id')"),
            "f_review_return",
            "__import__",
        ),
        (with_lane_renamed(with_step(shipped()), "unit_principal", "boss"), "principal_approve", "lane 'boss'"),
        (with_step(shipped()).replace('value="review"', 'value="no_such_form"'), "principal_approve", "no_such_form"),
        (shipped().replace('default="f_review_ok"', ""), "gw_review", "no default flow"),
        (
            with_condition(shipped(), "f_review_ok", "decision != 'return'").replace('default="f_review_ok"', ""),
            None,
            "",
        ),
        (shipped().replace('targetRef="end" />', 'targetRef="archive" />'), "archive", "never finish"),
        (shipped().replace('value="P5D"', 'value="five days"', 1), "submit_summary", "ISO 8601"),
        (shipped().replace("'P3D'", "'soon'", 1), "tm_score_remind", "ISO 8601"),
        (shipped().replace("value=\"'section_head'\"", "value=\"'boss'\"", 1), "remind_score", "role 'boss'"),
    ],
)
def test_each_refusal_names_the_element_and_a_fix(xml: str, element: str | None, words: str) -> None:
    _loaded, problems = designer.validate(xml, KEY)
    if element is None and not words:  # complementary conditions instead of a default; a dead-end-free edit
        assert all("gw_review" not in p.message for p in problems)
        return
    assert any(p.element_id == element and words in p.message for p in problems), problems


def test_dead_end_and_unreachable_steps_are_named() -> None:
    dead = shipped().replace('<bpmn:sequenceFlow id="f_archive" sourceRef="archive" targetRef="end" />', "")
    messages = [p.message for p in designer.validate(dead, KEY)[1]]
    assert any("archive" in m and "dead end" in m for m in messages)
    assert any("'end'" in m and "no flow leads to it" in m for m in messages)


@pytest.mark.parametrize(("xml", "words"), [(XXE, "DTD"), (LAUGHS, "DTD"), ("<bpmn:definitions", "well-formed")])
def test_unsafe_or_malformed_xml_is_refused_before_anything_else(xml: str, words: str) -> None:
    loaded, problems = designer.validate(xml, KEY)
    assert loaded is None and len(problems) == 1 and words in problems[0].message


def test_a_file_of_another_process_is_refused() -> None:
    other = repository.shipped_files()["indicator_setting"].read_text(encoding="utf-8")
    assert any("not 'periodic_appraisal'" in p.message for p in designer.validate(other, KEY)[1])


# --- drafts, deploy, roll back -----------------------------------------------------------------------


def test_refused_saves_change_nothing(session: Any, office: Actor) -> None:
    before = _counts(session)
    for xml in (
        with_condition(shipped(), "f_review_return", "__import__('os')"),
        XXE,
        with_lane_renamed(with_step(shipped()), "unit_principal", "boss"),
    ):
        with pytest.raises(designer.DesignRefused):
            designer.save_draft(session, office, KEY, xml)
    assert _counts(session) == before


def test_only_the_office_may_save(session: Any, office: Actor) -> None:
    with pytest.raises(Forbidden):
        designer.save_draft(session, _actor(session, "ljjd_principal"), KEY, with_step(shipped()))


def test_draft_then_deploy_for_one_unit_leaves_others_and_running_work_alone(session: Any, office: Actor) -> None:
    running = _walk(session, "ljjd305", "2026-09", "section_score")  # started on version 1
    draft = designer.save_draft(session, office, KEY, with_step(shipped()), comment="主要领导审批")
    assert draft.status is DefinitionStatus.draft and draft.version == 2
    assert designer.save_draft(session, office, KEY, with_step(shipped())).id == draft.id  # same file: same draft
    ljjd, lcz = _unit_id(session, "ljjd"), _unit_id(session, "lcz")
    assert repository.active_definition(session, KEY, ljjd).version == 1  # a draft changes nothing

    designer.deploy(session, office, KEY, draft.id, ljjd)
    assert repository.active_definition(session, KEY, ljjd).id == draft.id
    assert repository.active_definition(session, KEY, lcz).version == 1
    assert [e.action for e in designer.events(session, KEY)][:2] == ["deploy", "save"]

    new = _walk(session, "ljjd304", "2026-10", "principal_approve")
    assert new.definition_id == draft.id and _open_steps(session, new) == ["principal_approve"]
    principal = session.scalar(select(UserAccount.person_id).where(UserAccount.username == "ljjd_principal"))
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == new.id, HumanTask.status == "ready"))
    assert [c.person_id for c in task.candidates] == [principal] and task.form_key == "review"
    other = _walk(session, "lcz304", "2026-10", "feedback")
    assert _open_steps(session, other) == ["feedback"]
    old = _walk(session, "ljjd305", "2026-09", "feedback")
    assert old.id == running.id and old.definition.version == 1 and _open_steps(session, old) == ["feedback"]
    with pytest.raises(Conflict):
        designer.deploy(session, office, KEY, draft.id, ljjd)  # not a draft any more


def test_roll_back_per_scope(session: Any, office: Actor) -> None:
    ljjd = _unit_id(session, "ljjd")
    with pytest.raises(Conflict, match="nothing to roll back"):
        designer.rollback(session, office, KEY)
    v2 = designer.save_draft(session, office, KEY, with_step(shipped()))
    designer.deploy(session, office, KEY, v2.id)
    v3 = designer.save_draft(session, office, KEY, with_step(shipped(), step_id="extra_check"))
    designer.deploy(session, office, KEY, v3.id, ljjd)
    assert repository.active_definition(session, KEY, ljjd).id == v3.id
    assert designer.rollback(session, office, KEY, ljjd) is None  # the unit falls back to the district's
    assert repository.active_definition(session, KEY, ljjd).id == v2.id
    assert designer.rollback(session, office, KEY).version == 1
    assert repository.active_definition(session, KEY, ljjd).version == 1
    statuses = {v.version: v.status.value for v in designer.versions(session, KEY)}
    assert statuses == {1: "active", 2: "retired", 3: "retired"}
    last = designer.events(session, KEY)[0]
    assert last.action == "rollback" and last.actor.name and last.details["retired_version"] == 2


# --- diff and simulation -----------------------------------------------------------------------------


def test_diff_names_added_rerouted_renamed_moved_and_changed() -> None:
    new = with_step(shipped())
    new = new.replace('name="股室负责人评分"', 'name="股室评分"').replace('value="period_summary"', 'value="review"')
    new = with_condition(new, "f_review_return", "decision == 'return' or score < 60")
    changes = {(c.kind, c.element_id) for c in diffing.diff(shipped(), new)}
    assert {
        ("added", "principal_approve"),
        ("added", "f_principal_approve"),
        ("rerouted", "f_review_ok"),
        ("renamed", "section_score"),
        ("form", "submit_summary"),
        ("condition", "f_review_return"),
    } <= changes
    moved = (
        shipped()
        .replace("<bpmn:flowNodeRef>leader_review</bpmn:flowNodeRef>", "")
        .replace(
            "<bpmn:flowNodeRef>section_score</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>section_score</bpmn:flowNodeRef><bpmn:flowNodeRef>leader_review</bpmn:flowNodeRef>",
        )
    )
    lane = next(c for c in diffing.diff(shipped(), moved) if c.element_id == "leader_review")
    assert (lane.kind, lane.old, lane.new) == ("lane", "unit_leader", "section_head")
    assert [c.kind for c in diffing.diff(new, shipped()) if c.element_id == "principal_approve"] == ["removed"]


def test_simulation_resolves_real_people_in_order_and_writes_nothing(session: Any) -> None:
    xml = with_step(shipped())
    loaded = designer.validate(xml, KEY)[0]
    subject = session.scalar(select(UserAccount).where(UserAccount.username == "ljjd304")).person
    names = {
        u: session.scalar(select(UserAccount).where(UserAccount.username == u)).person.name
        for u in ("ljjd301", "ljjd_leader1", "ljjd_principal")
    }
    before = _counts(session)
    result = simulate.simulate(session, loaded, xml, subject, "2026-10", {"leader_review": ["return", "approve"]})
    assert result.outcome == "completed"
    assert [s.step_id for s in result.steps] == [
        "submit_summary",
        "section_score",
        "leader_review",
        "section_score",
        "leader_review",
        "principal_approve",
        "feedback",
    ]
    by_step = {s.step_id: s for s in result.steps}
    assert by_step["section_score"].people == [names["ljjd301"]]
    assert by_step["leader_review"].people == [names["ljjd_leader1"]]
    assert by_step["principal_approve"].people == [names["ljjd_principal"]]
    assert by_step["feedback"].people == [subject.name]
    assert [(t.after, t.role, t.kind) for t in by_step["section_score"].timers] == [
        ("P3D", "section_head", "reminder"),
        ("P7D", "unit_leader", "escalation"),
    ]
    looping = simulate.simulate(session, loaded, xml, subject, "2026-10", {"leader_review": ["return"]}, max_steps=12)
    assert looping.outcome == "limit" and len(looping.steps) == 12
    assert _counts(session) == before


# --- migration ---------------------------------------------------------------------------------------


def test_migration_preview_then_move_with_history(session: Any, office: Actor) -> None:
    at_summary = _walk(session, "ljjd304", "2026-08", "submit_summary")
    at_score = _walk(session, "ljjd305", "2026-08", "section_score")
    at_feedback = _walk(session, "ljjd306", "2026-08", "feedback")
    other_unit = _walk(session, "lcz304", "2026-08", "submit_summary")
    renamed = with_step(shipped()).replace('"section_score"', '"section_rating"')
    renamed = renamed.replace(">section_score<", ">section_rating<")
    draft = designer.save_draft(session, office, KEY, renamed)
    designer.deploy(session, office, KEY, draft.id, _unit_id(session, "ljjd"))
    _target, candidates = migrate.preview(session, KEY, draft.id)
    by_id = {c.instance.id: c for c in candidates}
    assert other_unit.id not in by_id  # another unit: not in this version's scope
    assert by_id[at_summary.id].can_move and by_id[at_summary.id].waiting == ["提交周记实与月小结"]
    assert not by_id[at_score.id].can_move and "waits at" in by_id[at_score.id].reason
    assert not by_id[at_feedback.id].can_move and "finished step" in by_id[at_feedback.id].reason

    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == at_summary.id, HumanTask.status == "ready"))
    report = migrate.migrate(session, office, KEY, draft.id, [at_summary.id, at_score.id])
    assert report.moved == [at_summary.id] and at_score.id in report.refused
    session.refresh(at_summary)
    assert at_summary.definition_id == draft.id and at_score.definition.version == 1
    assert session.get(HumanTask, task.id).status is TaskStatus.ready  # the open task keeps its row
    event = session.scalar(
        select(InstanceEvent).where(InstanceEvent.instance_id == at_summary.id, InstanceEvent.kind == "migrated")
    )
    assert event.details["from_version"] == 1 and event.details["to_version"] == draft.version
    assert designer.events(session, KEY)[0].details["moved"] == [at_summary.id]
    _walk(session, "ljjd304", "2026-08", "section_rating")
    assert _open_steps(session, at_summary) == ["section_rating"]


def test_migrated_instance_continues_on_the_new_version(session: Any, office: Actor) -> None:
    inst = _walk(session, "ljjd306", "2026-07", "leader_review")
    draft = designer.save_draft(session, office, KEY, with_step(shipped()))
    designer.deploy(session, office, KEY, draft.id)
    assert migrate.migrate(session, office, KEY, draft.id, [inst.id]).moved == [inst.id]
    assert _walk(session, "ljjd306", "2026-07", "principal_approve").id == inst.id
    assert _open_steps(session, inst) == ["principal_approve"]


# --- pages and API -----------------------------------------------------------------------------------


def test_designer_pages_save_compare_simulate_deploy_and_roll_back(client: Any, login_as: Any, session: Any) -> None:
    import re

    login_as("perf_office")
    assert KEY in client.get("/processes/").get_data(as_text=True)
    v1 = repository.active_definition(session, KEY)
    page = client.get(f"/processes/{KEY}/versions/{v1.id}/edit").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in page and "data-config=" in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None  # no inline script (CSP)

    refused = client.post(f"/processes/{KEY}/drafts", json={"xml": XXE})
    assert refused.status_code == 422 and "DTD" in refused.get_json()["problems"][0]["message"]
    saved = client.post(
        f"/processes/{KEY}/drafts", json={"xml": with_step(shipped()), "comment": "加审批", "based_on": v1.id}
    )
    assert saved.status_code == 201, saved.get_json()
    body = saved.get_json()
    assert body["version"] == 2
    view = client.get(body["links"]["view"]).get_data(as_text=True)
    assert 'data-kind="added" data-type="userTask" data-element="principal_approve"' in view

    checks = [
        ({"expression": "__import__('os')"}, False),
        ({"expression": "decision == 'return'"}, True),
        ({"expression": "P3D", "kind": "timer"}, True),
        ({"expression": "soon", "kind": "timer"}, False),
    ]
    for payload, ok in checks:
        assert client.post("/processes/check-expression", json=payload).get_json()["ok"] is ok
    assert client.post("/processes/validate", json={"xml": with_step(shipped()), "key": KEY}).get_json()["ok"]

    principal = session.scalar(select(UserAccount).where(UserAccount.username == "ljjd_principal")).person.name
    sim = client.get(body["links"]["simulate"], query_string={"person": "ljjd304", "period": "2026-10"})
    assert sim.status_code == 200 and principal in sim.get_data(as_text=True)
    assert 'data-outcome="completed"' in sim.get_data(as_text=True)

    ljjd = _unit_id(session, "ljjd")
    deployed = client.post(f"/processes/{KEY}/versions/{body['id']}/deploy", data={"scope": str(ljjd)})
    assert deployed.status_code == 302
    assert repository.active_definition(session, KEY, ljjd).id == body["id"]
    assert client.get(f"/processes/{KEY}/versions/{body['id']}/migrate").status_code == 200
    download = client.get(f"/processes/{KEY}/versions/{body['id']}/download")
    assert "attachment" in download.headers["Content-Disposition"] and b"principal_approve" in download.data
    assert client.post(f"/processes/{KEY}/rollback", data={"scope": str(ljjd)}).status_code == 302
    assert repository.active_definition(session, KEY, ljjd).version == 1
    history = client.get(f"/processes/{KEY}").get_data(as_text=True)
    assert 'data-action="rollback"' in history and 'data-action="deploy"' in history


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (with_condition(shipped(), "f_review_return", "__import__('os').system('id')"), "__import__"),
        (XXE, "DTD"),
        (with_lane_renamed(with_step(shipped()), "unit_principal", "boss"), "boss"),
    ],
)
def test_refused_upload_says_why_and_changes_nothing(
    client: Any, login_as: Any, session: Any, content: str, words: str
) -> None:
    import io

    login_as("perf_office")
    repository.ensure_shipped(session)
    session.commit()  # version 1 exists before the request, as it does on a running system
    before = _counts(session)
    r = client.post(
        f"/processes/{KEY}/upload",
        data={"file": (io.BytesIO(content.encode("utf-8")), "edited.bpmn")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and words in r.get_data(as_text=True) and 'id="problems"' in r.get_data(as_text=True)
    assert _counts(session) == before
    ok = client.post(
        f"/processes/{KEY}/upload",
        data={"file": (io.BytesIO(with_step(shipped()).encode("utf-8")), "edited.bpmn")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302 and designer.events(session, KEY)[0].action == "upload"


def test_only_the_office_sees_the_designer(client: Any, login_as: Any) -> None:
    login_as("unit_admin")
    assert client.get("/processes/").status_code == 403
    assert client.post(f"/processes/{KEY}/drafts", json={"xml": shipped()}).status_code == 403


def test_api_lists_validates_and_stores_drafts(client: Any, api_token: Any, session: Any) -> None:
    headers = api_token("perf_office")
    repository.ensure_shipped(session)
    items = client.get(f"/api/v1/process-definitions/{KEY}", headers=headers).get_json()["items"]
    assert [(i["version"], i["status"]) for i in items] == [(1, "active")]
    bad = with_lane_renamed(with_step(shipped()), "unit_principal", "boss")
    result = client.post("/api/v1/process-definitions/validate", json={"xml": bad, "key": KEY}, headers=headers)
    assert result.get_json()["ok"] is False
    refused = client.post(f"/api/v1/process-definitions/{KEY}/drafts", json={"xml": bad}, headers=headers)
    assert refused.status_code == 422
    assert any(p["element_id"] == "principal_approve" for p in refused.get_json()["error"]["problems"])
    created = client.post(
        f"/api/v1/process-definitions/{KEY}/drafts", json={"xml": with_step(shipped())}, headers=headers
    )
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    xml = client.get(f"/api/v1/process-definitions/{KEY}/{created.get_json()['id']}.bpmn", headers=headers)
    assert b"principal_approve" in xml.data
    staff = api_token("staff")
    assert client.get(f"/api/v1/process-definitions/{KEY}", headers=staff).status_code == 403
