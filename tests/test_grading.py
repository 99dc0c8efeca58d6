"""Confirming grades within the top-grade quota: refusal with candidates, ties, the recorded choice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, ResultStatus
from app.services.actor import actor_for_user
from app.services.appraisal import grading, results
from app.services.errors import Conflict, Forbidden, Invalid
from tests.conftest import demo_account
from tests.results_support import OFFICE, months, unit_of

D = Decimal


@pytest.fixture
def graded(session: Any, make_person: Any) -> dict[str, Any]:
    """Five people of 龙景街道 in 2026-Q4: four reach 好 (95, 93, 93, 91), one 较好 (85); cap floor(0.4 × 5) = 2."""
    unit = unit_of(session)
    people = {}
    for label, score in (("a", "95"), ("b", "93"), ("c", "93"), ("d", "91"), ("e", "85")):
        person = make_person("ljjd-1", name=f"人{label}")
        months(session, person, "2026-Q4", score)
        people[label] = person
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    return {"unit": unit, **people}


def test_over_quota_is_refused_with_the_candidates_and_ties_marked(session: Any, graded: dict[str, Any]) -> None:
    unit = graded["unit"]
    with pytest.raises(Conflict) as caught:
        grading.confirm_grades(session, OFFICE, unit.id, "2026-Q4")
    details = caught.value.details
    assert details["cap"] == 2 and details["top_grade"] == "good"
    rows = [(c["person_id"], c["total"], c["rank"], c["tie"], c["suggested"]) for c in details["candidates"]]
    a, b, c, d = (graded[k].id for k in "abcd")
    assert rows == [
        (a, "95.00", 1, False, True),
        (min(b, c), "93.00", 2, True, False),  # the 93s tie across the cut line: the unit decides
        (max(b, c), "93.00", 3, True, False),
        (d, "91.00", 4, False, False),
    ]
    assert all(r.status is ResultStatus.draft for r in results.period_results(session, unit.id, "2026-Q4"))


def test_the_choice_keeps_the_chosen_and_drops_the_others_one_grade(session: Any, graded: dict[str, Any]) -> None:
    unit = graded["unit"]
    a, b, c, d, e = (graded[k].id for k in "abcde")
    out = grading.confirm_grades(session, OFFICE, unit.id, "2026-Q4", {a: "good", c: "good", b: "fairly_good"})
    grades = {r.person_id: (r.grade, r.rule, r.status) for r in out}
    assert grades[a] == ("good", "quota_choice", ResultStatus.confirmed)
    assert grades[c] == ("good", "quota_choice", ResultStatus.confirmed)
    assert grades[b][:2] == ("fairly_good", "quota_choice")
    assert grades[d][:2] == ("fairly_good", "quota_choice")  # not named: drops one grade
    assert grades[e][:2] == ("fairly_good", "threshold")
    step = results.detail(next(r for r in out if r.person_id == d))[-1]
    assert step["rule"] == "quota_choice" and step["kept"] is False and step["cap"] == 2 and step["from"] == "good"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "results.quota_choice"))
    assert event.details["kept"] == sorted([a, c]) and event.details["dropped"] == sorted([b, d])


def test_too_many_keepers_are_refused_again(session: Any, graded: dict[str, Any]) -> None:
    a, b, c = (graded[k].id for k in "abc")
    with pytest.raises(Conflict):
        grading.confirm_grades(session, OFFICE, graded["unit"].id, "2026-Q4", {a: "good", b: "good", c: "good"})


def test_a_choice_for_a_non_candidate_is_invalid(session: Any, graded: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as caught:
        grading.confirm_grades(session, OFFICE, graded["unit"].id, "2026-Q4", {graded["e"].id: "good"})
    assert str(graded["e"].id) in caught.value.fields


def test_within_quota_confirms_straight_away_and_freezes(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    top, second, third = make_person("ljjd-2"), make_person("ljjd-2"), make_person("ljjd-2")
    months(session, top, "2026-Q1", "96")
    months(session, second, "2026-Q1", "75")
    months(session, third, "2026-Q1", "82")
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q1")
    out = grading.confirm_grades(session, OFFICE, unit.id, "2026-Q1")  # cap floor(0.4 × 3) = 1, one 好
    assert {r.person_id: r.grade for r in out} == {top.id: "good", third.id: "fairly_good", second.id: "average"}
    assert all(r.status is ResultStatus.confirmed and r.confirmed_at is not None for r in out)
    with pytest.raises(Conflict):
        grading.confirm_grades(session, OFFICE, unit.id, "2026-Q1")
    with pytest.raises(Conflict):
        results.compute_period_results(session, OFFICE, unit.id, "2026-Q1")


def test_rounding_down_leaves_a_small_unit_no_top_place(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    top, other = make_person("ljjd-3"), make_person("ljjd-3")
    months(session, top, "2026-Q2", "96")
    months(session, other, "2026-Q2", "75")
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q2")
    with pytest.raises(Conflict) as caught:
        grading.confirm_grades(session, OFFICE, unit.id, "2026-Q2")  # floor(0.4 × 2) = 0
    assert caught.value.details["cap"] == 0
    out = grading.confirm_grades(session, OFFICE, unit.id, "2026-Q2", {top.id: "fairly_good"})
    assert {r.person_id: r.grade for r in out}[top.id] == "fairly_good"


def test_principal_confirms_but_staff_may_not(session: Any, graded: dict[str, Any]) -> None:
    unit = graded["unit"]
    staff = actor_for_user(session, demo_account(session, "staff"))
    with pytest.raises(Forbidden):
        grading.confirm_grades(session, staff, unit.id, "2026-Q4")
    principal = actor_for_user(session, demo_account(session, "unit_principal"))
    with pytest.raises(Conflict):
        grading.confirm_grades(session, principal, unit.id, "2026-Q4")


def test_grades_wait_for_the_quarters_evaluation_round_to_close(session: Any, graded: dict[str, Any]) -> None:
    """The total carries the evaluation score: while the round is open it may still change."""
    from app.services.actor import SYSTEM
    from app.services.appraisal import evaluation

    unit = graded["unit"]
    a, c = graded["a"].id, graded["c"].id
    row = evaluation.open_round(session, SYSTEM, unit.id, "2026-Q4").round
    with pytest.raises(Conflict, match="still open"):
        grading.confirm_grades(session, OFFICE, unit.id, "2026-Q4", {a: "good", c: "good"})
    assert all(r.status is ResultStatus.draft for r in results.period_results(session, unit.id, "2026-Q4"))
    evaluation.close_round(session, SYSTEM, row.id)
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    confirmed = grading.confirm_grades(session, OFFICE, unit.id, "2026-Q4", {a: "good", c: "good"})
    assert {r.status for r in confirmed} == {ResultStatus.confirmed}
