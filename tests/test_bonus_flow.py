"""Bonus and deduction items through bonus_deduction.bpmn: proposal, check, return, approval, immutability."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import BonusItem, BonusStatus, HumanTask, TaskStatus
from app.services import evidence
from app.services.actor import Actor, actor_for_user
from app.services.appraisal import bonus_flow, bonus_items, common
from app.services.appraisal.bonus import counted_points, quarter_of
from app.services.errors import Conflict, Forbidden, Invalid
from app.workflow import runtime
from tests.conftest import demo_account

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MB = 5 * 1024 * 1024


def _actor(session: Any, role: str, index: int = 0) -> Actor:
    return actor_for_user(session, demo_account(session, role, index=index))


@pytest.fixture
def people(session: Any) -> dict[str, Actor]:
    return {
        "staff": _actor(session, "staff"),  # section ljjd-1
        "head": _actor(session, "section_head"),  # head of ljjd-1
        "other_head": _actor(session, "section_head", 1),  # head of ljjd-2
        "principal": _actor(session, "unit_principal"),
    }


def _today() -> date:
    return common.local_today()


def _open_task(session: Any, item: BonusItem) -> HumanTask:
    session.expire_all()
    return session.scalar(
        select(HumanTask).where(HumanTask.instance_id == item.instance_id, HumanTask.status == TaskStatus.ready)
    )


def _attach(session: Any, actor: Actor, item: BonusItem, tmp_path: Path) -> None:
    bonus_items.add_evidence(session, actor, item.id, evidence.Upload("表彰文件.pdf", PDF), tmp_path, MB)


def _propose(session: Any, actor: Actor, person_id: int, **data: Any) -> BonusItem:
    body = {"kind": "innovation", "points": "2", "occurred_on": _today().isoformat(), "reason": "创新做法被推广"}
    return bonus_items.propose(session, actor, person_id, {**body, **data}, _today()).item


def test_person_proposal_returned_resubmitted_forwarded_and_approved(session, people, tmp_path) -> None:
    staff, head, principal = people["staff"], people["head"], people["principal"]
    item = _propose(session, staff, staff.person_id, points="3")
    assert item.status is BonusStatus.proposed
    check = _open_task(session, item)
    assert (check.form_key, check.lane_role) == ("bonus_check", "section_head")
    assert runtime.is_candidate(session, check, head.person_id)

    runtime.complete_task(session, head, check.id, {"decision": "return", "comment": "分值偏高，请附推广文件"})
    revise = _open_task(session, item)
    assert revise.form_key == "bonus_revise" and runtime.is_candidate(session, revise, staff.person_id)
    assert (item.status, item.check_comment) == (BonusStatus.proposed, "分值偏高，请附推广文件")

    _attach(session, staff, item, tmp_path)
    runtime.complete_task(session, staff, revise.id, {"decision": "resubmit", "points": "2.5", "comment": "已修改"})
    assert item.points == Decimal("2.5")
    check2 = _open_task(session, item)
    runtime.complete_task(session, head, check2.id, {"decision": "forward", "comment": ""})
    assert item.status is BonusStatus.in_review
    decide = _open_task(session, item)
    assert (decide.form_key, decide.lane_role) == ("bonus_decide", "unit_principal")
    assert runtime.is_candidate(session, decide, principal.person_id)

    runtime.complete_task(session, principal, decide.id, {"decision": "approve", "comment": "同意加分"})
    session.expire_all()
    assert item.status is BonusStatus.approved
    assert (item.decided_by_id, item.decision_comment) == (principal.person_id, "同意加分")
    summary = counted_points(session, staff.person_id, quarter_of(item.occurred_on))
    assert item.id in summary.item_ids and summary.bonus_raw >= Decimal("2.5")
    steps = [(e.step_id, e.decision) for e in bonus_items.history(session, item)]
    assert steps == [
        ("start", None),
        ("section_check", "return"),
        ("revise", "resubmit"),
        ("section_check", "forward"),
        ("principal_decide", "approve"),
    ]


def test_head_proposed_deduction_goes_straight_to_the_principal(session, people, tmp_path) -> None:
    staff, head, principal = people["staff"], people["head"], people["principal"]
    item = _propose(session, head, staff.person_id, kind="criticism", points="1.5", reason="被区委通报批评")
    assert item.status is BonusStatus.in_review and item.direction.value == "deduction"
    _attach(session, head, item, tmp_path)
    decide = _open_task(session, item)
    assert decide.form_key == "bonus_decide"
    runtime.complete_task(session, principal, decide.id, {"decision": "approve", "comment": "属实"})
    session.expire_all()
    assert item.status is BonusStatus.approved
    summary = counted_points(session, staff.person_id, quarter_of(item.occurred_on))
    assert summary.deduction_raw >= Decimal("1.5")


def test_rejection_by_the_section_head_and_by_the_principal(session, people, tmp_path) -> None:
    staff, head, principal = people["staff"], people["head"], people["principal"]
    first = _propose(session, staff, staff.person_id)
    with pytest.raises(Invalid):  # refusing needs a reason
        runtime.complete_task(session, head, _open_task(session, first).id, {"decision": "reject", "comment": ""})
    session.rollback()
    first = _propose(session, staff, staff.person_id)
    runtime.complete_task(session, head, _open_task(session, first).id, {"decision": "reject", "comment": "不属于创新"})
    session.expire_all()
    assert first.status is BonusStatus.rejected

    second = _propose(session, head, staff.person_id, kind="commendation")
    _attach(session, head, second, tmp_path)
    runtime.complete_task(
        session, principal, _open_task(session, second).id, {"decision": "reject", "comment": "级别不够"}
    )
    session.expire_all()
    assert (second.status, second.decision_comment) == (BonusStatus.rejected, "级别不够")
    assert counted_points(session, staff.person_id, quarter_of(second.occurred_on)).item_ids == ()


def test_withdrawing_a_returned_proposal(session, people) -> None:
    staff, head = people["staff"], people["head"]
    item = _propose(session, staff, staff.person_id)
    runtime.complete_task(session, head, _open_task(session, item).id, {"decision": "return", "comment": "请补充"})
    runtime.complete_task(session, staff, _open_task(session, item).id, {"decision": "withdraw", "comment": ""})
    session.expire_all()
    assert item.status is BonusStatus.withdrawn


def test_approval_needs_evidence(session, people, tmp_path) -> None:
    head, principal, staff = people["head"], people["principal"], people["staff"]
    item = _propose(session, head, staff.person_id, kind="responsibility")
    task = _open_task(session, item)
    with pytest.raises(Invalid) as caught:
        runtime.complete_task(session, principal, task.id, {"decision": "approve", "comment": "同意"})
    assert "needs evidence" in caught.value.message


def test_who_may_propose(session, people) -> None:
    staff, other_head = people["staff"], people["other_head"]
    with pytest.raises(Forbidden, match="deduction against yourself"):
        _propose(session, staff, staff.person_id, kind="discipline")
    with pytest.raises(Forbidden):
        _propose(session, other_head, staff.person_id)
    colleague = _actor(session, "staff", 1)
    with pytest.raises(Forbidden):
        _propose(session, colleague, staff.person_id)


def test_who_may_see_an_item(session, people) -> None:
    staff, head, other_head, principal = people["staff"], people["head"], people["other_head"], people["principal"]
    item = _propose(session, staff, staff.person_id)
    for allowed in (staff, head, principal, _actor(session, "perf_office"), _actor(session, "unit_admin")):
        assert bonus_items.get_item(session, allowed, item.id) is item
    with pytest.raises(Forbidden):
        bonus_items.get_item(session, other_head, item.id)
    with pytest.raises(Forbidden):
        bonus_items.get_item(session, _actor(session, "staff", 1), item.id)
    assert item not in bonus_items.list_items(session, other_head, bonus_items.ItemFilters())
    assert item in bonus_items.list_items(session, head, bonus_items.ItemFilters(status="proposed"))


def test_proposal_warns_when_the_cap_is_already_reached(session, people, tmp_path) -> None:
    staff, head, principal = people["staff"], people["head"], people["principal"]
    day = _today()
    approved = _propose(session, head, staff.person_id, kind="commendation", points="5")
    _attach(session, head, approved, tmp_path)
    runtime.complete_task(
        session, principal, _open_task(session, approved).id, {"decision": "approve", "comment": "同意"}
    )
    result = bonus_items.propose(
        session,
        staff,
        staff.person_id,
        {"kind": "innovation", "points": "1", "occurred_on": day.isoformat(), "reason": "x"},
        day,
    )
    assert result.warning is not None and "the cap per quarter is 5" in result.warning


def test_approved_item_is_immutable(session, people, tmp_path) -> None:
    staff, head, principal = people["staff"], people["head"], people["principal"]
    item = _propose(session, head, staff.person_id, kind="over_fulfilment")
    _attach(session, head, item, tmp_path)
    runtime.complete_task(session, principal, _open_task(session, item).id, {"decision": "approve", "comment": "同意"})
    session.commit()  # the test's savepoint: a rollback below returns here
    item.points = Decimal(9)
    with pytest.raises(Conflict, match="can no longer be changed"):
        session.flush()
    session.rollback()
    item = session.get(BonusItem, item.id)
    with pytest.raises(Conflict):
        _attach(session, head, item, tmp_path)
    session.rollback()
    item = session.get(BonusItem, item.id)
    session.delete(item)
    with pytest.raises(bonus_flow.Approved):
        session.flush()


def test_bad_input_names_the_fields(session, people) -> None:
    staff = people["staff"]
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    with pytest.raises(Invalid) as caught:
        _propose(session, staff, staff.person_id, kind="nonsense", points="-1", occurred_on=tomorrow, reason=" ")
    assert set(caught.value.fields) == {"kind", "points", "occurred_on", "reason"}
