"""Bonus distribution (奖金分配): computing from confirmed results, both methods, confirmation through the
engine, the frozen result, the payroll export read back, pages and API."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import AuditEvent, DistributionStatus
from app.services.appraisal import distribution, distribution_export, publication
from app.services.appraisal.scheme import save_scheme
from app.services.errors import Conflict, Forbidden, Invalid
from app.workflow import runtime
from tests.publication_data import PERIOD, actor, add_results, approve, ready_task, unit

D = Decimal


def create(session, pool: str = "10000.00", reason: str | None = None):
    return distribution.create_distribution(
        session, actor(session, "unit_admin"), unit(session).id, PERIOD, pool, reason
    )


def test_a_distribution_needs_confirmed_results(session) -> None:
    with pytest.raises(Conflict, match="no results of 2026-Q4"):
        create(session)
    add_results(session, confirmed=False)
    with pytest.raises(Conflict, match="not confirmed yet"):
        create(session)


@pytest.mark.parametrize("pool", ["0", "-5", "10.001", "abc", "", "1e3x"])
def test_the_pool_must_be_a_positive_amount_in_fen(session, pool: str) -> None:
    add_results(session)
    with pytest.raises(Invalid) as err:
        create(session, pool)
    assert "pool" in err.value.fields


def test_three_equal_people_split_the_pool_exactly(session) -> None:
    add_results(session, totals=[D("88.00")])
    office = actor(session, "perf_office", "jxb")
    save_scheme(session, office, unit(session).id, 2026, {"distribution_method": "score"})
    dist = create(session, "10000.00")
    amounts = [s.amount for s in dist.shares]
    assert sum(amounts) == D("10000.00")
    assert max(amounts) - min(amounts) == D("0.01")
    assert {s.coefficient for s in dist.shares} == {D("88")}
    assert distribution.formula(dist) == f"amount = 10000.00 × c ÷ {88 * len(amounts)} (c = total)"


def test_score_x_grade_with_exact_numbers_and_the_formula_shown(session) -> None:
    totals = [D("95.00"), D("85.00"), D("75.00")]
    add_results(session, totals=totals)
    dist = create(session, "9000.00")  # the built-in scheme: score_x_grade, good 1.2, fairly_good 1.0, average 0.8
    assert dist.method == "score_x_grade"
    assert sum(s.amount for s in dist.shares) == D("9000.00")
    per_total = {s.total: s for s in dist.shares}
    assert (per_total[D("95")].coefficient, per_total[D("85")].coefficient, per_total[D("75")].coefficient) == (
        D("114"),
        D("85"),
        D("60"),
    )
    total_c = sum(s.coefficient for s in dist.shares)
    assert total_c == sum({D("95"): D(114), D("85"): D(85), D("75"): D(60)}[s.total] for s in dist.shares)
    share = per_total[D("95")]
    text = distribution.share_formula(dist, share)
    assert text.startswith(f"c = 95 × 1.2 = 114; 9000.00 × 114 ÷ {distribution.num(total_c)} = ")
    assert text.endswith(f"→ {share.amount:.2f}")


def test_confirmation_runs_through_the_engine_and_freezes_the_distribution(session) -> None:
    add_results(session)
    dist = create(session)
    submit = ready_task(session, dist.instance_id)
    assert submit.form_key == "distribution_submit"
    runtime.complete_task(session, actor(session, "unit_admin"), submit.id, {"note": "请确认"})
    assert dist.status is DistributionStatus.submitted
    with pytest.raises(Conflict, match="with the principal"):
        distribution.recompute(session, actor(session, "unit_admin"), dist.id, "20000.00")
    runtime.complete_task(
        session, actor(session, "unit_principal"), ready_task(session, dist.instance_id).id, {"decision": "approve"}
    )
    assert dist.status is DistributionStatus.confirmed and dist.confirmed_at is not None
    assert dist.confirmed_by_id == actor(session, "unit_principal").person_id
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "distribution.confirm")) is not None
    session.commit()
    dist.shares[0].amount = D("1.00")
    with pytest.raises(publication.Frozen):
        session.flush()
    session.rollback()
    dist = session.get(type(dist), dist.id)
    dist.pool = D("1.00")
    with pytest.raises(publication.Frozen):
        session.flush()


def test_a_return_makes_it_a_draft_that_can_be_computed_again(session) -> None:
    add_results(session)
    dist = create(session)
    runtime.complete_task(session, actor(session, "unit_admin"), ready_task(session, dist.instance_id).id, {})
    runtime.complete_task(
        session,
        actor(session, "unit_principal"),
        ready_task(session, dist.instance_id).id,
        {"decision": "return", "comment": "总额应为12000元"},
    )
    assert dist.status is DistributionStatus.draft
    distribution.recompute(session, actor(session, "unit_admin"), dist.id, "12000.00")
    assert sum(s.amount for s in dist.shares) == D("12000.00")


def test_a_correction_of_a_confirmed_distribution_needs_a_reason(session) -> None:
    add_results(session)
    dist = create(session)
    approve(session, dist.instance_id)
    with pytest.raises(Invalid) as err:
        create(session, "11000.00")
    assert "reason" in err.value.fields
    again = create(session, "11000.00", reason="追加奖金")
    assert (again.revision, again.status) == (1, DistributionStatus.draft)


def test_access_is_for_the_units_admin_principal_and_the_office(session) -> None:
    add_results(session)
    dist = create(session)
    for role, code in (("staff", "ljjd"), ("section_head", "ljjd"), ("unit_admin", "lcz")):
        with pytest.raises(Forbidden):
            distribution.get_distribution(session, actor(session, role, code), dist.id)
    with pytest.raises(Forbidden):
        distribution.create_distribution(session, actor(session, "staff"), unit(session).id, PERIOD, "100.00")
    assert distribution.get_distribution(session, actor(session, "unit_principal"), dist.id) is dist
    assert distribution.get_distribution(session, actor(session, "perf_office", "jxb"), dist.id) is dist


def test_the_payroll_export_has_every_share_and_a_total_row(session) -> None:
    add_results(session)
    dist = create(session, "8888.88")
    with pytest.raises(Conflict, match="confirm it first"):
        distribution_export.export_workbook(session, actor(session, "unit_admin"), dist.id, {})
    approve(session, dist.instance_id)
    labels = {"staff_no": "工号", "name": "姓名", "amount": "金额", "total_row": "合计", "grade.good": "好"}
    data = distribution_export.export_workbook(session, actor(session, "unit_admin"), dist.id, labels)
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0] == ("工号", "姓名", "section", "total", "grade", "coefficient", "金额")
    body, total = rows[1:-1], rows[-1]
    assert [r[0] for r in body] == [s.staff_no for s in dist.shares]
    assert body[0][4] == "好"
    assert total[0] == "合计" and D(str(total[6])) == D("8888.88")
    assert sum(D(str(r[6])) for r in body) == D("8888.88")
