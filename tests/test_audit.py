"""The audit trail (issue 9): what is recorded, the hash chain and its verification, pruning, the viewer, the CLI."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import delete, func, select, text

from app.models import AuditAnchor, AuditEvent, HumanTask, OrgUnit, Role, UserAccount
from app.services import audit, org
from app.services.actor import SYSTEM, actor_for_user
from app.services.demo import DEMO_PASSWORD
from app.services.errors import Invalid
from app.workflow import designer, repository, runtime
from tests.conftest import demo_account
from tests.test_process_designer import shipped, with_step


def _events(session: Any, action: str | None = None, after: int = 0) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt))


def _last_id(session: Any) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def _actor(session: Any, username: str) -> Any:
    return actor_for_user(session, session.scalar(select(UserAccount).where(UserAccount.username == username)))


# --- what is recorded ------------------------------------------------------------------------------


def test_login_success_failure_lockout_and_logout_are_recorded(client: Any, session: Any, make_person: Any) -> None:
    person = make_person(username="audit_me")
    start = _last_id(session)
    assert client.post("/login", data={"username": "audit_me", "password": "wrong"}).status_code == 401
    failed = _events(session, "login", start)
    assert [(e.result, e.actor_username, e.remote_addr) for e in failed] == [("failure", "audit_me", "127.0.0.1")]
    assert failed[0].details == {"reason": "bad_credentials"} and failed[0].actor_person_id is None

    assert client.post("/login", data={"username": "audit_me", "password": DEMO_PASSWORD}).status_code == 302
    ok = _events(session, "login", start)[-1]
    assert (ok.result, ok.actor_person_id, ok.object_type) == ("success", person.id, "user_account")

    assert client.post("/logout").status_code == 302
    out = _events(session, "logout", start)
    assert [(e.actor_username, e.actor_person_id, e.result) for e in out] == [("audit_me", person.id, "success")]

    for _ in range(5):
        client.post("/login", data={"username": "audit_me", "password": "wrong"})
    locks = _events(session, "account.lock", start)
    assert len(locks) == 1 and locks[0].details == {"reason": "locked_now"}
    assert client.post("/login", data={"username": "audit_me", "password": DEMO_PASSWORD}).status_code == 401
    assert _events(session, "login", start)[-1].result == "denied"  # refused while locked
    assert audit.verify(session) is None


def test_api_token_login_failure_is_recorded(client: Any, session: Any) -> None:
    start = _last_id(session)
    r = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "x"})
    assert r.status_code == 401
    assert [(e.action, e.result, e.object_id) for e in _events(session, after=start)] == [("login", "failure", None)]


def test_task_completion_score_and_role_change_are_recorded(session: Any) -> None:
    start = _last_id(session)
    repository.ensure_shipped(session)
    pid = session.scalar(select(UserAccount.person_id).where(UserAccount.username == "ljjd305"))
    inst = runtime.start_process(session, SYSTEM, "periodic_appraisal", "2026-09", pid).instance
    payloads = {"submit_summary": {"summary": "本月小结"}, "section_score": {"score": 88, "score_comment": "扎实"}}
    for _ in range(2):
        task = session.scalar(select(HumanTask).where(HumanTask.instance_id == inst.id, HumanTask.status == "ready"))
        who = session.scalar(select(UserAccount).where(UserAccount.person_id == task.candidates[0].person_id))
        runtime.complete_task(session, actor_for_user(session, who), task.id, payloads[task.step_id])
    done = _events(session, "task.complete", start)
    assert len(done) == 2 and done[0].details["step"] == "submit_summary" and done[0].actor_username == "ljjd305"
    scored = _events(session, "score.set", start)
    assert len(scored) == 1 and scored[0].details["score"] == "88.00" and scored[0].object_type == "appraisal_record"

    office = _actor(session, "office1")
    section = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd-2"))
    ra = org.assign_role(session, office, pid, Role.section_head, section.id)
    org.revoke_role(session, office, ra.id)
    roles = _events(session, after=start)
    changes = [(e.action, e.object_id, e.details["role"]) for e in roles if e.action.startswith("role.")]
    assert changes == [("role.grant", str(pid), "section_head"), ("role.revoke", str(pid), "section_head")]
    assert all(e.actor_username == "office1" for e in roles if e.action.startswith("role."))
    assert audit.verify(session) is None


def test_bpmn_save_and_deploy_are_recorded(session: Any) -> None:
    start = _last_id(session)
    repository.ensure_shipped(session)
    office = _actor(session, "office1")
    draft = designer.save_draft(session, office, "periodic_appraisal", with_step(shipped()))
    designer.deploy(session, office, "periodic_appraisal", draft.id)
    acts = [(e.action, e.object_id, e.details["definition_id"]) for e in _events(session, after=start)]
    assert acts == [
        ("process.save", "periodic_appraisal", draft.id),
        ("process.deploy", "periodic_appraisal", draft.id),
    ]


def test_people_export_is_recorded(client: Any, login_as: Any, session: Any) -> None:
    login_as("unit_admin")
    start = _last_id(session)
    r = client.get("/org/people/export?q=张")
    assert r.status_code == 200
    (event,) = _events(session, "export.people", start)
    assert event.details == {"q": "张"} and event.remote_addr == "127.0.0.1"


# --- the chain -------------------------------------------------------------------------------------


def _three(session: Any) -> list[AuditEvent]:
    return [audit.record(session, SYSTEM, "test.event", "thing", n, "success", {"n": n}) for n in range(3)]


def test_each_event_links_to_the_one_before(session: Any) -> None:
    a, b, c = _three(session)
    assert (b.id, c.id) == (a.id + 1, a.id + 2)
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert len({a.hash, b.hash, c.hash}) == 3
    assert audit.check_chain(session).intact


def test_an_edited_event_is_detected(session: Any) -> None:
    _, middle, _ = _three(session)
    session.commit()
    session.execute(text("""UPDATE audit_event SET details = '{"n": 99}' WHERE id = :id"""), {"id": middle.id})
    report = audit.check_chain(session)
    assert report.broken_id == middle.id and "altered" in report.reason
    assert audit.verify(session) == middle.id


def test_a_deleted_event_is_detected_at_the_next_one(session: Any) -> None:
    _, middle, last = _three(session)
    session.commit()
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": middle.id})
    report = audit.check_chain(session)
    assert report.broken_id == last.id and "removed" in report.reason


def test_a_re_hashed_event_breaks_the_next_link(session: Any) -> None:
    _, middle, last = _three(session)
    values = {name: getattr(middle, name) for name in audit._FIELDS}
    values["details"] = {"n": 42}
    forged = audit.compute_hash(values)
    session.commit()
    session.execute(
        text("""UPDATE audit_event SET details = '{"n": 42}', hash = :hash WHERE id = :id"""),
        {"hash": forged, "id": middle.id},
    )
    assert audit.verify(session) == last.id


def test_result_must_be_known(session: Any) -> None:
    with pytest.raises(ValueError):
        audit.record(session, SYSTEM, "test.event", result="maybe")


# --- pruning ---------------------------------------------------------------------------------------


def test_prune_refuses_the_retention_period_and_keeps_the_chain_verifiable(session: Any) -> None:
    # Start from an empty trail (rolled back with the test): events that earlier tests committed
    # are younger than the retention and, being a prefix of the chain, would shield the old ones.
    session.execute(delete(AuditEvent))
    session.execute(delete(AuditAnchor))
    now = datetime.now(UTC)
    with time_machine.travel(now - timedelta(days=400), tick=False):
        old = _three(session)
    young = _three(session)
    with pytest.raises(Invalid):
        audit.prune(session, now - timedelta(days=179))
    with pytest.raises(Invalid):  # a setting below the minimum does not shorten it
        audit.prune(session, now - timedelta(days=100), retention_days=30)
    assert audit.prune(session, now - timedelta(days=200)) >= 3
    remaining = {e.id for e in _events(session)}
    assert not remaining & {e.id for e in old} and {e.id for e in young} <= remaining
    anchor = session.scalar(select(AuditAnchor).order_by(AuditAnchor.last_event_id.desc()))
    assert anchor.last_event_id == old[-1].id and anchor.last_hash == old[-1].hash
    assert _events(session, "audit.prune")[-1].details["through_id"] == old[-1].id
    report = audit.check_chain(session)
    assert report.intact and report.count == len(remaining)
    assert audit.prune(session, now - timedelta(days=200)) == 0  # nothing older left
    session.commit()
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": young[0].id})  # the first after the anchor
    assert audit.verify(session) == young[1].id


def test_retention_setting_has_a_minimum() -> None:
    from config.settings import ConfigError, load_settings

    assert load_settings({"ENV": "testing"})["AUDIT_RETENTION_DAYS"] == 180
    assert load_settings({"ENV": "testing"}, {"JIXIAO_AUDIT_RETENTION_DAYS": "365"})["AUDIT_RETENTION_DAYS"] == 365
    with pytest.raises(ConfigError):
        load_settings({"ENV": "testing"}, {"JIXIAO_AUDIT_RETENTION_DAYS": "90"})


# --- the viewer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sys_admin", "sec_admin", "perf_office", "unit_admin", "staff"])
def test_only_the_audit_admin_may_read_the_trail(client: Any, login_as: Any, role: str) -> None:
    login_as(role)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403


def test_viewer_filters_pages_and_exports_text_cells(client: Any, login_as: Any, session: Any) -> None:
    audit.record(session, SYSTEM, "test.formula", "thing", 1, "failure", {"note": "=1+1"})
    audit.record(session, SYSTEM, "test.other", "thing", 2, "success")
    session.commit()
    account = login_as("audit_admin")
    page = client.get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-action="test.formula"' in html and 'href="/audit"' in html  # the nav item
    filtered = client.get("/audit?action=test.formula&result=failure").get_data(as_text=True)
    assert 'data-action="test.formula"' in filtered and 'data-action="test.other"' not in filtered
    assert 'data-action="test.formula"' not in client.get("/audit?result=denied").get_data(as_text=True)
    assert client.get("/audit?start=2000-01-01&end=2000-01-02&page=2").status_code == 200

    r = client.get("/audit/export.xlsx?action=test.formula")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][5] == "test.formula" and '"=1+1"' in rows[1][9]
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)
    (export,) = _events(session, "export.audit")
    assert export.actor_username == account.username and export.details == {"action": "test.formula", "rows": 1}
    assert audit.verify(session) is None


def test_other_roles_do_not_see_the_nav_item(client: Any, login_as: Any) -> None:
    login_as("sys_admin")
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_verify_and_prune(app: Any, session: Any) -> None:
    runner = app.test_cli_runner()
    _, middle, _ = _three(session)
    session.commit()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "chain intact" in ok.output

    refused = runner.invoke(args=["audit", "prune", "--before", datetime.now(UTC).date().isoformat()])
    assert refused.exit_code == 1 and "180" in refused.output
    pruned = runner.invoke(args=["audit", "prune", "--before", "2000-01-01"])
    assert pruned.exit_code == 0 and "pruned 0 events" in pruned.output

    session.execute(text("UPDATE audit_event SET action = 'x' WHERE id = :id"), {"id": middle.id})
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and f"event {middle.id}" in broken.output


def test_demo_account_for_audit_admin_exists(session: Any) -> None:
    assert demo_account(session, "audit_admin").username == "auditadmin"
