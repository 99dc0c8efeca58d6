"""From quarters to the year: the annual formula, each rule decisive, veto items, the 优秀 quota."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent, ResultStatus
from app.services.actor import actor_for_user
from app.services.appraisal import annual, grading, results, scheme
from app.services.errors import Conflict, Forbidden, Invalid
from tests.conftest import demo_account
from tests.results_support import OFFICE, quarter_result, unit_of

D = Decimal


def _year(session: Any, person: Any, *quarters: tuple[str, str]) -> None:
    for n, (total, grade) in enumerate(quarters, start=1):
        quarter_result(session, person, f"2026-Q{n}", total, grade)


def _annual(session: Any, person: Any) -> Any:
    out = annual.compute_annual_results(session, OFFICE, unit_of(session).id, 2026)
    return next(r for r in out if r.person_id == person.id)


def test_annual_total_is_the_mean_of_confirmed_quarters_and_excellent_by_threshold(
    session: Any, make_person: Any
) -> None:
    person = make_person("ljjd-1")
    _year(session, person, ("95", "good"), ("92", "good"), ("93.5", "good"), ("93.5", "good"))
    result = _annual(session, person)
    assert result.total == D("93.50")
    assert result.formula == "total = (95.00 + 92.00 + 93.50 + 93.50) / 4 = 93.50"
    assert (result.computed_grade, result.grade, result.rule) == ("excellent", "excellent", "threshold")
    assert results.detail(result) == [{"rule": "threshold", "grade": "excellent", "total": "93.50", "minimum": "90"}]


def test_draft_quarters_are_left_out_and_listed(session: Any, make_person: Any) -> None:
    person = make_person("ljjd-1")
    quarter_result(session, person, "2026-Q1", "80", "fairly_good")
    quarter_result(session, person, "2026-Q2", "60", "poor", confirmed=False)
    result = _annual(session, person)
    assert result.total == D("80.00")
    src = results.sources(result)
    assert src["draft_quarters"] == ["2026-Q2"]
    assert src["missing_quarters"] == ["2026-Q2", "2026-Q3", "2026-Q4"]


def test_excellent_needs_one_good_quarter(session: Any, make_person: Any) -> None:
    person = make_person("ljjd-1")
    # 92 every quarter, but each 好 was dropped to 较好 by the quarter quota
    _year(session, person, *[("92", "fairly_good")] * 4)
    result = _annual(session, person)
    assert (result.computed_grade, result.grade, result.rule) == ("excellent", "competent", "excellent_requires")
    step = results.detail(result)[-1]
    assert step == {
        "rule": "excellent_requires",
        "from": "excellent",
        "grade": "competent",
        "requires": "one_good",
        "good": 0,
        "periods": 4,
    }


def test_majority_good_needs_more_than_half(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    scheme.save_scheme(session, OFFICE, unit.id, 2026, {"excellent_requires": "majority_good"})
    half, most = make_person("ljjd-1"), make_person("ljjd-1")
    _year(session, half, ("95", "good"), ("95", "good"), ("89", "fairly_good"), ("89", "fairly_good"))
    _year(session, most, ("95", "good"), ("95", "good"), ("95", "good"), ("89", "fairly_good"))
    out = {r.person_id: r for r in annual.compute_annual_results(session, OFFICE, unit.id, 2026)}
    assert (out[half.id].grade, out[half.id].rule) == ("competent", "excellent_requires")
    assert (out[most.id].grade, out[most.id].rule) == ("excellent", "threshold")


def test_a_low_quarter_rules_out_excellent_unless_the_scheme_allows_it(session: Any, make_person: Any) -> None:
    person = make_person("ljjd-1")
    _year(session, person, ("100", "good"), ("100", "good"), ("100", "good"), ("72", "average"))
    result = _annual(session, person)
    assert result.total == D("93.00")
    assert (result.grade, result.rule) == ("competent", "excellent_forbids_low")
    assert results.detail(result)[-1]["quarters"] == ["2026-Q4"]
    scheme.save_scheme(session, OFFICE, unit_of(session).id, 2026, {"excellent_forbids_low_periods": False})
    assert (_annual(session, person).grade, _annual(session, person).rule) == ("excellent", "threshold")


def test_requirement_none_lets_the_threshold_decide(session: Any, make_person: Any) -> None:
    scheme.save_scheme(session, OFFICE, unit_of(session).id, 2026, {"excellent_requires": "none"})
    person = make_person("ljjd-1")
    _year(session, person, *[("92", "fairly_good")] * 4)
    assert _annual(session, person).grade == "excellent"


def test_a_veto_item_forces_the_lowest_grade_whatever_the_score(session: Any, make_person: Any) -> None:
    person = make_person("ljjd-1")
    _year(session, person, *[("98", "good")] * 4)
    veto = annual.record_veto(
        session, OFFICE, person.id, 2026, "serious_violation", "纪委通报 2026-07", occurred_on=date(2026, 7, 3)
    )
    result = _annual(session, person)
    assert (result.computed_grade, result.grade, result.rule) == ("excellent", "incompetent", "veto")
    assert results.detail(result)[-1]["label"] == "严重违纪违法"
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "results.veto")).object_id == str(veto.id)
    annual.withdraw_veto(session, OFFICE, veto.id, "复核撤销")
    assert _annual(session, person).grade == "excellent"


def test_veto_records_are_validated_and_limited_to_the_units_admin(session: Any, make_person: Any) -> None:
    person = make_person("ljjd-1")
    with pytest.raises(Invalid) as caught:
        annual.record_veto(session, OFFICE, person.id, 2026, "made_up", " ", occurred_on=date(2025, 1, 1))
    assert set(caught.value.fields) == {"item", "reason", "occurred_on"}
    staff = actor_for_user(session, demo_account(session, "staff"))
    with pytest.raises(Forbidden):
        annual.record_veto(session, staff, person.id, 2026, "serious_violation", "x")
    other_admin = actor_for_user(session, demo_account(session, "unit_admin", unit_code="lcz"))
    with pytest.raises(Forbidden):
        annual.record_veto(session, other_admin, person.id, 2026, "serious_violation", "x")


def test_annual_excellent_quota_and_veto_frozen_after_confirmation(session: Any, make_person: Any) -> None:
    unit = unit_of(session)
    people = [make_person("ljjd-2") for _ in range(6)]
    for n, person in enumerate(people):
        _year(session, person, *[(str(91 + n), "good")] * 4)
    annual.compute_annual_results(session, OFFICE, unit.id, 2026)
    with pytest.raises(Conflict) as caught:
        grading.confirm_grades(session, OFFICE, unit.id, "2026")  # floor(0.2 × 6) = 1 优秀 place
    details = caught.value.details
    assert details["top_grade"] == "excellent" and details["cap"] == 1
    assert details["candidates"][0]["person_id"] == people[-1].id
    out = grading.confirm_grades(session, OFFICE, unit.id, "2026", {people[-1].id: "excellent"})
    assert sorted(r.grade for r in out) == ["competent"] * 5 + ["excellent"]
    assert all(r.status is ResultStatus.confirmed for r in out)
    with pytest.raises(Conflict):
        annual.record_veto(session, OFFICE, people[0].id, 2026, "serious_violation", "迟到的记录")
    with pytest.raises(Conflict):
        annual.compute_annual_results(session, OFFICE, unit.id, 2026)
