"""Separation of duties (三权分立, issue 9): who assigns roles, who may combine which, and what each of the
three admin roles can and cannot reach — checked in the services and through the pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, AuthSession, OrgKind, OrgUnit, Role, RoleAssignment, UserAccount
from app.services import accounts, audit, org, security
from app.services.actor import SYSTEM, actor_for_user
from app.services.appraisal import logs, records
from app.services.errors import Forbidden, Invalid
from app.services.indicators import flow as indicator_flow
from app.services.indicators import sets
from app.workflow import runtime
from tests.conftest import login
from tests.test_appraisal_flow import PERIOD, YEAR
from tests.test_appraisal_logs import weeks_ago

OWNER = "ljjd103"


def _account(session: Any, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _actor(session: Any, username: str) -> Any:
    return actor_for_user(session, _account(session, username))


def _node(session: Any, code: str | None = None) -> OrgUnit:
    if code is None:
        return session.scalar(select(OrgUnit).where(OrgUnit.kind == OrgKind.district))
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def _pid(session: Any, username: str) -> int:
    return _account(session, username).person_id


def test_no_person_holds_two_separated_admin_roles(session: Any) -> None:
    sec = _actor(session, "secadmin")
    with pytest.raises(Invalid) as refused:
        org.assign_role(session, sec, _pid(session, "sysadmin"), Role.audit_admin, _node(session).id)
    assert "sys_admin" in str(refused.value.message.params) and refused.value.fields["role"]
    # a plain staff member may take one of them, and then no second
    org.assign_role(session, sec, _pid(session, "ljjd105"), Role.sys_admin, _node(session).id)
    with pytest.raises(Invalid):
        org.assign_role(session, sec, _pid(session, "ljjd105"), Role.sec_admin, _node(session).id)
    held = session.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == _pid(session, "ljjd105")))
    assert list(held) == [Role.sys_admin]


def test_an_admin_role_does_not_go_with_a_role_that_reads_appraisals(session: Any) -> None:
    sec = _actor(session, "secadmin")
    with pytest.raises(Invalid):  # the office reads every appraisal
        org.assign_role(session, sec, _pid(session, "office1"), Role.sys_admin, _node(session).id)
    with pytest.raises(Invalid):  # and the other way round
        org.assign_role(session, sec, _pid(session, "auditadmin"), Role.section_head, _node(session, "ljjd-1").id)


def test_the_security_administrator_assigns_every_role_and_others_only_ordinary_ones(session: Any) -> None:
    sec, office, unit_admin = (_actor(session, u) for u in ("secadmin", "office1", "ljjd102"))
    ra = org.assign_role(session, sec, _pid(session, "ljjd105"), Role.section_head, _node(session, "ljjd-1").id)
    org.revoke_role(session, sec, ra.id)
    org.assign_role(session, sec, _pid(session, "ljjd106"), Role.audit_admin, _node(session).id)
    for actor in (office, unit_admin):
        with pytest.raises(Forbidden):
            org.assign_role(session, actor, _pid(session, "ljjd204"), Role.sec_admin, _node(session).id)
    # the unit administrator keeps handing out ordinary roles in their unit, as before
    org.assign_role(session, unit_admin, _pid(session, "ljjd204"), Role.section_head, _node(session, "ljjd-1").id)
    for name in ("sysadmin", "auditadmin"):
        with pytest.raises(Forbidden):
            org.assign_role(
                session, _actor(session, name), _pid(session, "ljjd205"), Role.section_head, _node(session, "ljjd-1").id
            )


def test_nobody_grants_or_revokes_their_own_roles(session: Any) -> None:
    sec = _actor(session, "secadmin")
    with pytest.raises(Forbidden):
        org.assign_role(session, sec, sec.person_id, Role.section_head, _node(session, "ljjd-1").id)
    own = session.scalar(select(RoleAssignment).where(RoleAssignment.person_id == sec.person_id))
    with pytest.raises(Forbidden):
        org.revoke_role(session, sec, own.id)


def test_the_role_page_refuses_a_second_admin_role_with_the_reason(client: Any, session: Any) -> None:
    login(client, "secadmin")
    pid = _pid(session, "sysadmin")
    page = client.get(f"/org/people/{pid}")
    assert page.status_code == 200 and 'value="audit_admin"' in page.get_data(as_text=True)
    r = client.post(f"/org/people/{pid}", data={"role": "audit_admin", "org_unit_id": _node(session).id})
    assert r.status_code == 422
    assert (
        session.scalar(
            select(RoleAssignment).where(RoleAssignment.person_id == pid, RoleAssignment.role == Role.audit_admin)
        )
        is None
    )


@pytest.fixture
def content(session: Any) -> dict[str, int]:
    """One record, one indicator set and one weekly log of the owner."""
    owner = _account(session, OWNER).person
    instance = runtime.start_process(session, SYSTEM, "periodic_appraisal", PERIOD, owner.id).instance
    from app.models import AppraisalRecord, IndicatorSet

    record = session.scalar(select(AppraisalRecord.id).where(AppraisalRecord.instance_id == instance.id))
    indicator_flow.start_for(session, SYSTEM, owner, YEAR)
    set_id = session.scalar(
        select(IndicatorSet.id).where(IndicatorSet.person_id == owner.id, IndicatorSet.year == YEAR)
    )
    logs.save_week(session, _actor(session, OWNER), weeks_ago(1), [{"content": "周记"}])
    return {"record": record, "set": set_id, "person": owner.id}


@pytest.mark.parametrize("admin", ["sysadmin", "secadmin", "auditadmin"])
def test_no_separated_admin_reads_appraisal_content(session: Any, content: dict[str, int], admin: str) -> None:
    actor = _actor(session, admin)
    with pytest.raises(Forbidden):
        records.get_record(session, actor, content["record"])
    with pytest.raises(Forbidden):
        sets.get_set(session, actor, content["set"])
    with pytest.raises(Forbidden):
        logs.read_week(session, actor, content["person"], weeks_ago(1))
    office = _actor(session, "office1")  # the positive side: the office does read them
    assert records.get_record(session, office, content["record"]).id == content["record"]


def test_only_the_audit_administrator_reads_the_trail(session: Any, client: Any) -> None:
    for name in ("sysadmin", "secadmin", "office1"):
        with pytest.raises(Forbidden):
            audit.search(session, audit.AuditFilter(), actor=_actor(session, name))
        with pytest.raises(Forbidden):
            audit.export_workbook(session, audit.AuditFilter(), actor=_actor(session, name))
    assert audit.search(session, audit.AuditFilter(), actor=_actor(session, "auditadmin")).total >= 0
    login(client, "sysadmin")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403


def test_the_audit_administrator_reaches_nothing_but_the_trail(client: Any) -> None:
    login(client, "auditadmin")
    assert client.get("/audit").status_code == 200
    for url in ("/security/accounts", "/security/policy", "/org/people"):
        assert client.get(url).status_code == 403, url


def test_the_system_administrator_manages_accounts(client: Any, session: Any) -> None:
    victim = _account(session, "ljjd105")
    login(client, "ljjd105")  # a live session that disabling must end
    other = client.application.test_client()
    login(other, "sysadmin")
    assert "ljjd105" in other.get("/security/accounts?q=ljjd105").get_data(as_text=True)
    assert other.post(f"/security/accounts/{victim.id}/disable").status_code == 302
    assert _account(session, "ljjd105").active is False
    assert (
        session.scalar(select(AuthSession).where(AuthSession.user_id == victim.id, AuthSession.revoked_at.is_(None)))
        is None
    )
    assert "/login" in client.get("/tasks").headers.get("Location", "")
    assert other.post(f"/security/accounts/{victim.id}/enable").status_code == 302
    assert _account(session, "ljjd105").active is True
    # the other admins cannot be silenced by the system administrator, nor can it change itself
    sec = _account(session, "secadmin")
    assert other.post(f"/security/accounts/{sec.id}/disable").status_code == 403
    me = _account(session, "sysadmin")
    assert other.post(f"/security/accounts/{me.id}/disable").status_code == 403
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_username == "sysadmin", AuditEvent.action.like("account.%"))
    ).all()
    assert actions == ["account.disable", "account.enable"]


def test_unlock_lifts_a_lockout(session: Any) -> None:
    from datetime import timedelta

    from app.models.base import utcnow

    victim = _account(session, "ljjd105")
    victim.locked_until, victim.failed_logins = utcnow() + timedelta(minutes=10), 0
    session.flush()
    with pytest.raises(Forbidden):
        accounts.unlock(session, _actor(session, "secadmin"), victim.id)
    accounts.unlock(session, _actor(session, "sysadmin"), victim.id)
    assert victim.locked_until is None


def test_the_security_administrator_sets_the_policy_and_it_applies(client: Any, session: Any, app: Any) -> None:
    with pytest.raises(Forbidden):
        security.update_policy(session, _actor(session, "sysadmin"), app.config, {"min_length": 12})
    login(client, "secadmin")
    form = client.get("/security/policy")
    assert form.status_code == 200
    data = {
        "min_length": "12",
        "min_classes": "3",
        "history": "5",
        "max_age_days": "0",
        "lockout_threshold": "5",
        "lockout_minutes": "15",
        "address_failure_limit": "20",
    }
    assert client.post("/security/policy", data={**data, "min_length": "4"}).status_code == 422
    assert client.post("/security/policy", data=data).status_code == 302
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.security_policy")).all()
    assert event.actor_username == "secadmin" and event.details == {"min_length": {"before": 8, "after": 12}}
    assert security.SecurityPolicy.load(session, app.config).min_length == 12
    client.post("/logout")
    login(client, "ljjd203")
    short = client.post("/password", data={"current": "x", "new": "Abcdef#123", "confirm": "Abcdef#123"})
    assert short.status_code == 422 and "12" in short.get_data(as_text=True)
