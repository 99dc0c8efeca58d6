"""Withdrawing a draft publication or distribution from its approval: the run stops through the engine,
the step leaves the principal's inbox, the draft is kept as withdrawn, and the quarter can be prepared again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import (
    AuditEvent,
    DistributionStatus,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
    PublicationStatus,
    TaskStatus,
)
from app.services.appraisal import distribution, publication, publication_views, withdrawal
from app.services.errors import Conflict, Forbidden, Invalid
from app.workflow import inbox, runtime
from tests.publication_data import PERIOD, actor, add_results, approve, ready_task, unit


def submitted_publication(session):
    """A draft the admin has submitted: the approval step waits in the principal's inbox."""
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    runtime.complete_task(session, actor(session, "unit_admin"), ready_task(session, pub.instance_id).id, {})
    return pub, ready_task(session, pub.instance_id)


def principal_inbox(session) -> set[int]:
    return {t.id for t in inbox.list_tasks(session, actor(session, "unit_principal")).items}


def test_a_withdrawn_draft_leaves_the_principals_inbox_and_the_quarter_can_be_prepared_again(session) -> None:
    add_results(session)
    pub, step = submitted_publication(session)
    assert step.id in principal_inbox(session)
    admin = actor(session, "unit_admin")
    withdrawal.withdraw_publication(session, admin, pub.id, "  第三名成绩待更正  ")
    session.refresh(pub)
    assert pub.status is PublicationStatus.withdrawn
    assert session.get(HumanTask, step.id).status is TaskStatus.cancelled
    assert step.id not in principal_inbox(session)
    instance = session.get(ProcessInstance, pub.instance_id)
    assert instance.status is InstanceStatus.cancelled
    event = session.scalar(
        select(InstanceEvent).where(InstanceEvent.instance_id == instance.id, InstanceEvent.kind == "cancelled")
    )
    assert event is not None and event.comment == "第三名成绩待更正" and event.actor_id == admin.person_id
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "publication.withdraw"))
    assert audit is not None and audit.object_id == str(pub.id) and audit.details["reason"] == "第三名成绩待更正"
    again = publication.prepare_publication(session, admin, unit(session).id, PERIOD)  # no correction reason needed
    assert (again.status, again.revision, again.reason, again.supersedes_id) == (PublicationStatus.draft, 1, None, None)
    approve(session, again.instance_id)
    session.refresh(again)
    assert again.status is PublicationStatus.published and pub.status is PublicationStatus.withdrawn
    assert pub.id not in {p.id for p in publication_views.list_publications(session, actor(session, "staff"))}


def test_withdrawing_needs_a_reason_the_admin_and_a_draft(session) -> None:
    add_results(session)
    pub, _ = submitted_publication(session)
    with pytest.raises(Invalid) as err:
        withdrawal.withdraw_publication(session, actor(session, "unit_admin"), pub.id, "   ")
    assert "reason" in err.value.fields
    for who in (actor(session, "staff"), actor(session, "unit_principal"), actor(session, "unit_admin", "lcz")):
        with pytest.raises(Forbidden):
            withdrawal.withdraw_publication(session, who, pub.id, "撤回")
    assert pub.status is PublicationStatus.draft
    runtime.complete_task(
        session, actor(session, "unit_principal"), ready_task(session, pub.instance_id).id, {"decision": "approve"}
    )
    with pytest.raises(Conflict, match="already published and cannot be withdrawn"):
        withdrawal.withdraw_publication(session, actor(session, "unit_admin"), pub.id, "撤回")


def test_a_draft_still_with_the_admin_can_be_withdrawn_once(session) -> None:
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    first = ready_task(session, pub.instance_id)
    withdrawal.withdraw_publication(session, actor(session, "unit_admin"), pub.id, "期间选错")
    assert session.get(HumanTask, first.id).status is TaskStatus.cancelled
    with pytest.raises(Conflict, match="already withdrawn"):
        withdrawal.withdraw_publication(session, actor(session, "unit_admin"), pub.id, "再撤")


def test_a_submitted_distribution_is_withdrawn_and_a_new_one_computed(session) -> None:
    add_results(session)
    admin = actor(session, "unit_admin")
    dist = distribution.create_distribution(session, admin, unit(session).id, PERIOD, "10000.00")
    runtime.complete_task(session, admin, ready_task(session, dist.instance_id).id, {})
    assert dist.status is DistributionStatus.submitted
    step = ready_task(session, dist.instance_id)
    assert step.id in principal_inbox(session)
    withdrawal.withdraw_distribution(session, admin, dist.id, "奖金总额调整")
    assert dist.status is DistributionStatus.withdrawn
    assert step.id not in principal_inbox(session)
    assert session.get(ProcessInstance, dist.instance_id).status is InstanceStatus.cancelled
    again = distribution.create_distribution(session, admin, unit(session).id, PERIOD, "12000.00")
    assert (again.revision, again.reason, again.status) == (1, None, DistributionStatus.draft)
    approve(session, again.instance_id)
    assert again.status is DistributionStatus.confirmed
    with pytest.raises(Conflict, match="already confirmed and cannot be withdrawn"):
        withdrawal.withdraw_distribution(session, admin, again.id, "撤回")
    third = distribution.create_distribution(session, admin, unit(session).id, PERIOD, "12000.00", "更正")
    withdrawal.withdraw_distribution(session, admin, third.id, "不更正了")
    with pytest.raises(Invalid) as err:  # a confirmed one still stands behind the withdrawn correction
        distribution.create_distribution(session, admin, unit(session).id, PERIOD, "12000.00")
    assert "reason" in err.value.fields
    with pytest.raises(Forbidden):
        withdrawal.withdraw_distribution(session, actor(session, "unit_principal"), third.id, "撤回")


def test_withdrawing_on_the_pages(client, session, login_as) -> None:
    add_results(session)
    pub, step = submitted_publication(session)
    dist = distribution.create_distribution(session, actor(session, "unit_admin"), unit(session).id, PERIOD, "5000")
    session.commit()
    login_as("unit_principal")
    assert f'data-task="{step.id}"' in client.get("/tasks").text
    assert 'id="withdraw-form"' not in client.get(f"/publication/{pub.id}").text
    client.post("/logout")
    login_as("unit_admin")
    page = client.get(f"/publication/{pub.id}")
    assert 'id="withdraw-form"' in page.text
    empty = client.post(f"/publication/{pub.id}/withdraw", data={"reason": ""})
    assert empty.status_code == 422 and "is-invalid" in empty.text
    done = client.post(f"/publication/{pub.id}/withdraw", data={"reason": "成绩待更正"})
    assert done.status_code == 302
    listing = client.get(done.headers["Location"])
    assert (
        f'data-publication="{pub.id}" data-status="withdrawn"' in listing.text and 'id="prepare-form"' in listing.text
    )
    assert client.post(f"/publication/{pub.id}/withdraw", data={"reason": "再撤"}).status_code == 302  # refused, told
    assert 'id="withdraw-form"' in client.get(f"/publication/distributions/{dist.id}").text
    gone = client.post(f"/publication/distributions/{dist.id}/withdraw", data={"reason": "总额有误"})
    assert gone.status_code == 302
    assert f'data-distribution="{dist.id}" data-status="withdrawn"' in client.get(gone.headers["Location"]).text
    client.post("/logout")
    login_as("unit_principal")
    assert f'data-task="{step.id}"' not in client.get("/tasks").text


def test_withdrawing_through_the_api(client, session, api_token) -> None:
    add_results(session)
    pub, _ = submitted_publication(session)
    dist = distribution.create_distribution(session, actor(session, "unit_admin"), unit(session).id, PERIOD, "5000")
    session.commit()
    admin, principal = api_token("unit_admin"), api_token("unit_principal")
    url = f"/api/v1/publications/{pub.id}/withdraw"
    assert client.post(url, json={"reason": "撤回"}, headers=principal).status_code == 403
    assert client.post(url, json={}, headers=admin).status_code == 422
    done = client.post(url, json={"reason": "撤回"}, headers=admin)
    assert done.status_code == 200 and done.get_json()["status"] == "withdrawn"
    assert client.post(url, json={"reason": "撤回"}, headers=admin).status_code == 409
    gone = client.post(f"/api/v1/distributions/{dist.id}/withdraw", json={"reason": "总额有误"}, headers=admin)
    assert gone.status_code == 200 and gone.get_json()["status"] == "withdrawn"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/publications/{publication_id}/withdraw" in spec["paths"]
    assert "/distributions/{distribution_id}/withdraw" in spec["paths"]
