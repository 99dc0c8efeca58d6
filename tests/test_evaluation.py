"""Comprehensive evaluation (综合测评): who rates whom, the weighted score, validation, idempotent opening."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import (
    EvaluationAssignment,
    EvaluationRound,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    OrgUnit,
    Person,
    ProcessInstance,
    RaterGroup,
    Role,
    RoleAssignment,
    TaskStatus,
)
from app.services.actor import SYSTEM
from app.services.appraisal import evaluation, evaluation_flow, scheme
from app.services.errors import Conflict, Forbidden, Invalid
from tests.evaluation_support import actor_of, rate_all, unit_by_code

D = Decimal


def _pairs(session: Any, round_id: int) -> set[tuple[int, int, str]]:
    rows = session.execute(
        select(EvaluationAssignment.rater_id, EvaluationAssignment.ratee_id, EvaluationAssignment.group).where(
            EvaluationAssignment.round_id == round_id
        )
    )
    return {(r, e, str(g)) for r, e, g in rows}


def _holder(session: Any, role: Role, code: str) -> int:
    return session.scalar(
        select(RoleAssignment.person_id)
        .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
        .where(RoleAssignment.role == role, OrgUnit.code == code)
        .order_by(RoleAssignment.person_id)
    )


def _members(session: Any, code: str) -> list[int]:
    return list(
        session.scalars(select(Person.id).join(OrgUnit, OrgUnit.id == Person.section_id).where(OrgUnit.code == code))
    )


def test_raters_are_self_the_section_colleagues_and_the_leaders_above(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    outcome = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3")
    pairs = _pairs(session, outcome.round.id)
    head = _holder(session, Role.section_head, "ljjd-1")
    leader = _holder(session, Role.unit_leader, "ljjd-1")
    principal = _holder(session, Role.unit_principal, "ljjd")
    member = next(p for p in _members(session, "ljjd-1") if p != head)
    raters_of_member = {(r, g) for r, e, g in pairs if e == member}
    colleagues = {p for p in _members(session, "ljjd-1") if p not in (member, head)}
    assert raters_of_member == (
        {(member, "self"), (head, "leader"), (leader, "leader"), (principal, "leader")}
        | {(p, "peer") for p in colleagues}
    )
    # the section head is rated by the leader in charge and the principal, not by themself as a leader
    raters_of_head = {(r, g) for r, e, g in pairs if e == head}
    assert {(r, g) for r, g in raters_of_head if g == "leader"} == {(leader, "leader"), (principal, "leader")}
    assert (head, "self") in raters_of_head
    # the principal has no leader above and is rated by the leadership team as peers
    assert not [r for r, e, g in pairs if e == principal and g == "leader"]
    assert all(r != e for r, e, g in pairs if g != "self")
    assert outcome.assignments == len(pairs)


def test_peer_cap_picks_the_following_colleagues_deterministically(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    pairs = evaluation.select_raters(session, unit.id, max_peers=2)
    again = evaluation.select_raters(session, unit.id, max_peers=2)
    assert pairs == again
    peers_of: dict[int, list[int]] = {}
    for p in pairs:
        if p.group is RaterGroup.peer:
            peers_of.setdefault(p.ratee_id, []).append(p.rater_id)
    assert peers_of and all(len(v) <= 2 for v in peers_of.values())
    rated_by: dict[int, int] = {}
    for v in peers_of.values():
        for rater in v:
            rated_by[rater] = rated_by.get(rater, 0) + 1
    assert max(rated_by.values()) <= 3  # the load spreads: the window wraps round the section


def test_opening_twice_creates_nothing_twice(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    first = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3")
    count = session.scalar(select(func.count()).select_from(EvaluationAssignment))
    instances = session.scalar(
        select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_key == "evaluation_rating")
    )
    second = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3")
    assert first.created and not second.created
    assert second.round.id == first.round.id
    assert (second.assignments, second.processes_opened) == (0, 0)
    assert second.processes_already_open == first.processes_opened == first.raters
    assert session.scalar(select(func.count()).select_from(EvaluationAssignment)) == count
    assert (
        session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_key == "evaluation_rating")
        )
        == instances
    )


def test_each_rater_gets_one_task_in_their_own_inbox(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    outcome = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3")
    raters = {r for r, _e, _g in _pairs(session, outcome.round.id)}
    tasks = session.scalars(
        select(HumanTask).where(HumanTask.process_key == "evaluation_rating", HumanTask.period == "2026-Q3")
    ).all()
    assert {t.subject_id for t in tasks} == raters
    assert all([c.person_id for c in t.candidates] == [t.subject_id] for t in tasks)
    assert all(t.form_key == "evaluation_rating" and t.status is TaskStatus.ready for t in tasks)


def test_period_must_follow_the_unit_scheme(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    with pytest.raises(Invalid) as err:
        evaluation.open_round(session, SYSTEM, unit.id, "2026")
    assert "per quarter" in err.value.message
    scheme.save_scheme(session, SYSTEM, unit.id, 2026, {"evaluation_period": "year"})
    with pytest.raises(Invalid):
        evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3")
    assert evaluation.open_round(session, SYSTEM, unit.id, "2026").round.period == "2026"


def test_only_the_unit_admin_or_office_opens_a_round(session: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    with pytest.raises(Forbidden):
        evaluation.open_round(session, actor_of(session, "section_head", "ljjd"), unit.id, "2026-Q3")
    other = unit_by_code(session, "lcz")
    with pytest.raises(Forbidden):
        evaluation.open_round(session, actor_of(session, "unit_admin", "ljjd"), other.id, "2026-Q3")
    opened = evaluation.open_round(session, actor_of(session, "unit_admin", "ljjd"), unit.id, "2026-Q3")
    assert opened.created


def _score_fixture(session: Any) -> tuple[EvaluationRound, int, dict[str, list[int]]]:
    """A round of ljjd with a member of section 1 and their raters by group."""
    unit = unit_by_code(session, "ljjd")
    row = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q3").round
    head = _holder(session, Role.section_head, "ljjd-1")
    member = next(p for p in _members(session, "ljjd-1") if p != head)
    groups: dict[str, list[int]] = {"leader": [], "peer": [], "self": []}
    for r, e, g in sorted(_pairs(session, row.id)):
        if e == member:
            groups[g].append(r)
    return row, member, groups


def test_score_weights_groups_and_dimensions_exactly(session: Any) -> None:
    row, member, groups = _score_fixture(session)
    scheme.save_scheme(
        session,
        SYSTEM,
        row.unit_id,
        2026,
        {
            "rater_weights": {"leader": "0.5", "peer": "0.3", "self": "0.2"},
            "dimension_weights": {"de": "30", "neng": "20", "qin": "20", "ji": "20", "lian": "10"},
        },
    )
    leader_scores = [{"de": 90, "neng": 80, "qin": 85, "ji": 95, "lian": 100}, {"de": 70, "neng": 80, "qin": 75}]
    for i, rater in enumerate(groups["leader"]):
        rate_all(session, rater, "2026-Q3", {member: leader_scores[i % 2] | {"ji": 95, "lian": 100}})
    for rater in groups["peer"]:
        rate_all(session, rater, "2026-Q3", {member: {"de": 80, "neng": 80, "qin": 80, "ji": 80, "lian": 80}})
    rate_all(session, member, "2026-Q3", {member: {"de": 100, "neng": 100, "qin": 100, "ji": 100, "lian": 100}})
    result = evaluation.evaluation_score(session, member, "2026-Q3")
    assert result is not None and len(groups["leader"]) == 3
    # leaders: 德 (90+70+90)/3 = 83.33…, 能 80, 勤 (85+75+85)/3 = 81.67…, 绩 95, 廉 100
    # leader group = (83.33…×30 + 80×20 + 81.67…×20 + 95×20 + 100×10) / 100 = 86.33…
    # score = 86.33…×0.5 + 80×0.3 + 100×0.2 = 87.1666… → 87.17
    assert result.score == D("87.17")
    assert result.by_group == {"leader": D("86.33"), "peer": D("80.00"), "self": D("100.00")}
    assert result.by_dimension["neng"] == D("84.00")  # 80×0.5 + 80×0.3 + 100×0.2
    assert result.by_dimension["de"] == D("85.67")  # 83.33…×0.5 + 80×0.3 + 100×0.2
    assert result.missing_groups == ()
    assert result.raters_done == result.raters_total == 3 + len(groups["peer"]) + 1


def test_three_leaders_give_the_documented_numbers(session: Any) -> None:
    _row, member, groups = _score_fixture(session)
    assert len(groups["leader"]) == 3  # section head, leader in charge, principal
    for rater, de in zip(groups["leader"], (90, 80, 70), strict=True):
        rate_all(session, rater, "2026-Q3", {member: {"de": de, "neng": 80, "qin": 80, "ji": 80, "lian": 80}})
    rate_all(session, member, "2026-Q3", {member: {"de": 95, "neng": 95, "qin": 95, "ji": 95, "lian": 95}})
    result = evaluation.evaluation_score(session, member, "2026-Q3")
    assert result is not None
    # built-in weights: leader 0.5, self 0.2 (no peer submitted: renormalised over 0.7); dimensions 20 each
    # leader group = (80 + 80×4) / 5 = 80; self = 95; score = (80×0.5 + 95×0.2) / 0.7 = 84.2857…
    assert result.by_group == {"leader": D("80.00"), "peer": None, "self": D("95.00")}
    assert result.score == D("84.29")
    assert result.missing_groups == ("peer",)
    assert result.by_dimension["de"] == D("84.29")  # (80×0.5 + 95×0.2) / 0.7
    assert result.raters_done == 4


def test_drafts_do_not_count_and_nobody_submitted_means_no_score(session: Any) -> None:
    _row, member, groups = _score_fixture(session)
    rater = groups["leader"][0]
    evaluation_flow.save_ratings(
        session,
        actor_of(session, person_id=rater),
        "2026-Q3",
        {"ratings": [{"ratee_id": member, "scores": {"de": 60}}]},
        submit=False,
    )
    assert evaluation.evaluation_score(session, member, "2026-Q3") is None
    assert evaluation.evaluation_score(session, member, "2026-Q2") is None


def test_a_missing_value_names_the_person_and_the_dimension(session: Any) -> None:
    _row, member, groups = _score_fixture(session)
    rater = groups["leader"][0]
    actor = actor_of(session, person_id=rater)
    sheet = evaluation_flow.rater_sheet(session, actor, rater, "2026-Q3")
    payload = {
        "ratings": [
            {"ratee_id": r.ratee_id, "scores": {d: 80 for d in scheme.DIMENSIONS}}
            for r in sheet.rows
            if r.ratee_id != member
        ]
        + [{"ratee_id": member, "scores": {"de": 80, "neng": 80, "qin": 80, "ji": 80}}]
    }
    name = session.get(Person, member).name
    with pytest.raises(Invalid) as err:
        evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)
    assert err.value.fields == {f"ratings.{member}.lian": f"{name}, 廉: the score is missing."}
    payload["ratings"][-1]["scores"] |= {"lian": "100.5"}
    with pytest.raises(Invalid) as err:
        evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)
    assert err.value.fields[f"ratings.{member}.lian"] == (
        f"{name}, 廉: enter a score from 0 to 100 with at most one decimal."
    )
    payload["ratings"][-1]["scores"] |= {"lian": "85.25"}
    with pytest.raises(Invalid):
        evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)
    assert (
        session.scalar(
            select(func.count())
            .select_from(EvaluationAssignment)
            .where(EvaluationAssignment.rater_id == rater, EvaluationAssignment.submitted_at.is_not(None))
        )
        == 0
    )
    payload["ratings"][-1]["scores"] |= {"lian": "85.5"}
    done = evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)
    assert done.submitted
    with pytest.raises(Conflict):
        evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)


def test_closed_round_accepts_no_ratings(session: Any) -> None:
    row, member, _groups = _score_fixture(session)
    evaluation.close_round(session, SYSTEM, row.id)
    with pytest.raises(Conflict):
        rate_all(session, member, "2026-Q3", {member: {d: 90 for d in scheme.DIMENSIONS}})
    with pytest.raises(Conflict):
        evaluation.close_round(session, SYSTEM, row.id)


def test_closing_a_round_takes_the_unfinished_rating_tasks_out_of_the_inboxes(session: Any) -> None:
    row, _member, _groups = _score_fixture(session)
    instances = select(ProcessInstance).where(
        ProcessInstance.process_key == evaluation.PROCESS, ProcessInstance.period == "2026-Q3"
    )
    running = list(session.scalars(instances))
    assert running and all(i.status is InstanceStatus.running for i in running)
    evaluation.close_round(session, SYSTEM, row.id)
    session.expire_all()
    ids = [i.id for i in running]
    assert {i.status for i in session.scalars(instances)} == {InstanceStatus.cancelled}
    open_tasks = (
        select(func.count())
        .select_from(HumanTask)
        .where(HumanTask.instance_id.in_(ids), HumanTask.status == TaskStatus.ready)
    )
    assert session.scalar(open_tasks) == 0
    cancelled = (
        select(func.count())
        .select_from(InstanceEvent)
        .where(InstanceEvent.instance_id.in_(ids), InstanceEvent.kind == "cancelled")
    )
    assert session.scalar(cancelled) == len(ids)  # the history says the work was stopped, and why
