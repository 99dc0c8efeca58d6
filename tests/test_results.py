"""Quarter results: the total's formula with exact numbers, missing months, caps, recompute, immutability."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.models import PeriodResult, RecordStatus, ResultStatus
from app.services.appraisal import results, scheme
from app.services.errors import Conflict, Forbidden
from tests.results_support import OFFICE, bonus, month_record, months, unit_of

D = Decimal


def test_total_is_mean_of_archived_months_weighted_with_capped_bonus_and_deduction(
    session: Any, make_person: Any
) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-1")
    months(session, person, "2026-Q4", "88", "92", "90.5")
    bonus(session, person, "4", date(2026, 10, 9))
    bonus(session, person, "3", date(2026, 11, 9), kind="commendation")  # 7 raw, 5 counted (quarter cap)
    bonus(session, person, "1.5", date(2026, 12, 1), kind="criticism")
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q4") if r.person_id == person.id
    ]
    # I = (88 + 92 + 90.5) / 3 = 90.1666… → 90.17; no evaluation: I carries 0.8 + 0.2
    assert result.indicator_score == D("90.17")
    assert result.evaluation_score is None
    assert (result.bonus_points, result.deduction_points) == (D(5), D("1.5"))
    assert result.total == D("93.67")
    assert result.formula == (
        "I = (88.00 + 92.00 + 90.50) / 3 = 90.17; total = I × (0.8 + 0.2) + B − D  [E: none]"
        " = 90.17 × 1 + 5.00 − 1.50 = 93.67"
    )
    assert (result.computed_grade, result.grade, result.rule) == ("good", "good", "threshold")
    assert results.sources(result)["bonus_raw"] == "7.00"


def test_unit_weights_change_the_total(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    scheme.save_scheme(
        session,
        OFFICE,
        unit.id,
        2026,
        {"period_grades": {"good": "95", "fairly_good": "85", "average": "60", "poor": "0"}},
    )
    person = make_person("ljjd-2")
    months(session, person, "2026-Q3", "91", "91", "91")
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q3") if r.person_id == person.id
    ]
    assert result.total == D("91.00")
    assert result.computed_grade == "fairly_good"  # the unit's own threshold for 好 is 95


def test_unarchived_months_are_left_out_and_listed_missing(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-1")
    month_record(session, person, "2026-10", "80")
    month_record(session, person, "2026-11", "100", status=RecordStatus.review)
    month_record(session, person, "2026-12", None, adjusted="70")  # the leader's adjusted total counts
    nobody = make_person("ljjd-1")
    month_record(session, nobody, "2026-10", "99", status=RecordStatus.feedback)
    out = results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    [result] = [r for r in out if r.person_id == person.id]
    assert result.indicator_score == D("75.00")
    assert results.sources(result)["missing_months"] == ["2026-11"]
    assert nobody.id not in {r.person_id for r in out}
    missing = {m.person_id: m for m in results.missing_people(session, unit.id, "2026-Q4")}
    assert missing[person.id].months == ("2026-11",) and missing[person.id].has_result
    assert missing[nobody.id].months == ("2026-10", "2026-11", "2026-12") and not missing[nobody.id].has_result


def test_recompute_replaces_drafts_and_drops_people_who_no_longer_qualify(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    stays, goes = make_person("ljjd-1"), make_person("ljjd-1")
    months(session, stays, "2026-Q4", "80")
    month_record(session, goes, "2026-10", "90")
    first = results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    assert {r.person_id for r in first} >= {stays.id, goes.id}
    month_record(session, stays, "2026-11", "90")
    goes.section_id = unit_of(session, "lcz-1").id  # moved to another unit
    session.flush()
    again = results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    rows = [r for r in results.period_results(session, unit.id, "2026-Q4") if r.person_id in {stays.id, goes.id}]
    assert [(r.person_id, r.indicator_score) for r in rows] == [(stays.id, D("85.00"))]
    assert len({r.id for r in again}) == len(again)


def test_confirmed_results_are_frozen(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-1")
    months(session, person, "2026-Q4", "60")
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q4") if r.person_id == person.id
    ]
    result.status = ResultStatus.confirmed
    session.flush()
    result.total = D(99)
    with pytest.raises(results.Confirmed):
        session.flush()
    session.rollback()
    stored = session.get(PeriodResult, result.id)
    assert stored is None or stored.total == D("60.00")


def test_a_confirmed_result_set_back_to_draft_unread_is_still_refused(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-1")
    months(session, person, "2026-Q4", "60")
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q4") if r.person_id == person.id
    ]
    result.status = ResultStatus.confirmed
    session.flush()
    session.expire(result)  # as after a commit: the status is set without having been read
    result.status, result.total = ResultStatus.draft, D(99)
    with pytest.raises(results.Confirmed):
        session.flush()


def test_recompute_after_confirmation_is_refused(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-1")
    months(session, person, "2026-Q2", "60")
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q2") if r.person_id == person.id
    ]
    result.status = ResultStatus.confirmed
    session.flush()
    with pytest.raises(Conflict):
        results.compute_period_results(session, OFFICE, unit.id, "2026-Q2")


def test_only_the_units_admin_or_the_office_compute(session: Any) -> None:
    from app.services.actor import actor_for_user
    from tests.conftest import demo_account

    unit = unit_of(session)
    other = unit_of(session, "lcz")
    admin = actor_for_user(session, demo_account(session, "unit_admin"))
    assert results.compute_period_results(session, admin, unit.id, "2026-Q4") == []
    with pytest.raises(Forbidden):
        results.compute_period_results(session, admin, other.id, "2026-Q4")
    staff = actor_for_user(session, demo_account(session, "staff"))
    with pytest.raises(Forbidden):
        results.compute_period_results(session, staff, unit.id, "2026-Q4")


def test_evaluation_takes_its_weight_when_rated(session: Any, make_person: Any) -> None:
    from app.models import EvaluationAssignment, EvaluationRating, EvaluationRound, RaterGroup, RoundStatus
    from app.models.base import utcnow

    unit = unit_of(session)
    person, leader = make_person("ljjd-1"), make_person("ljjd-1")
    months(session, person, "2026-Q4", "90", "92", "94")
    rnd = EvaluationRound(unit_id=unit.id, period="2026-Q4", status=RoundStatus.closed)
    session.add(rnd)
    session.flush()
    assignment = EvaluationAssignment(
        round_id=rnd.id, rater_id=leader.id, ratee_id=person.id, group=RaterGroup.leader, submitted_at=utcnow()
    )
    assignment.ratings = [EvaluationRating(dimension=d, score=D("80")) for d in scheme.DIMENSIONS]
    session.add(assignment)
    session.flush()
    [result] = [
        r for r in results.compute_period_results(session, OFFICE, unit.id, "2026-Q4") if r.person_id == person.id
    ]
    # I = 92.00; E = 80.00 (leaders only: the missing groups' weights are renormalised by the evaluation)
    assert result.evaluation_score == D("80.00")
    assert result.total == D("89.60")  # 92 × 0.8 + 80 × 0.2
    assert result.formula.endswith(
        "total = I × 0.8 + E × 0.2 + B − D = 92.00 × 0.8 + 80.00 × 0.2 + 0.00 − 0.00 = 89.60"
    )
    assert results.sources(result)["evaluation_missing_groups"] == ["peer", "self"]
