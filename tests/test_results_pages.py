"""Results pages and API: the quarter table with formulas, the chooser over quota, the year's rules, access."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from app.models import ResultStatus
from app.services.appraisal import annual, results
from tests.conftest import csrf_token_from
from tests.results_support import OFFICE, months, quarter_result, unit_of

D = Decimal


@pytest.fixture
def quarter(session: Any, make_person: Any) -> dict[str, Any]:
    """Three people of 龙景街道 reach 好 in 2026-Q4 (95, 93, 91); cap floor(0.4 × 3) = 1."""
    people = [make_person("ljjd-1", name=f"候选{n}") for n in range(3)]
    for person, score in zip(people, ("95", "93", "91"), strict=True):
        months(session, person, "2026-Q4", score)
    session.commit()
    return {"unit": unit_of(session), "people": people}


def test_unit_admin_computes_and_confirms_with_the_chooser(
    client: Any, login_as: Any, session: Any, quarter: dict[str, Any]
) -> None:
    unit, people = quarter["unit"], quarter["people"]
    login_as("unit_admin")
    page = client.get(f"/results/unit/{unit.id}?period=2026-Q4").get_data(as_text=True)
    token = csrf_token_from(page)
    assert client.post(f"/results/unit/{unit.id}/compute?period=2026-Q4", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/results/unit/{unit.id}?period=2026-Q4").get_data(as_text=True)
    assert "I = (95.00) / 1 = 95.00; total = I × (0.8 + 0.2) + B − D  [E: none]" in page
    assert 'id="candidates"' in page and f'name="keep" value="{people[0].id}"' in page
    # confirming without a choice is refused: nothing changes
    r = client.post(f"/results/unit/{unit.id}/confirm?period=2026-Q4", data={"csrf_token": token})
    assert r.status_code == 409 and 'id="candidates"' in r.get_data(as_text=True)
    assert {x.status for x in results.period_results(session, unit.id, "2026-Q4")} == {ResultStatus.draft}
    r = client.post(
        f"/results/unit/{unit.id}/confirm?period=2026-Q4",
        data={"csrf_token": token, "choose": "1", "keep": str(people[1].id)},
    )
    assert r.status_code == 302
    page = client.get(f"/results/unit/{unit.id}?period=2026-Q4").get_data(as_text=True)
    assert 'id="confirm-form"' not in page and 'data-rule="quota_choice"' in page


def _ticked(page: str) -> set[str]:
    """The person ids whose "keep" box is checked in the chooser."""
    return set(re.findall(r'name="keep" value="(\d+)" id="keep-\d+" checked', page))


def test_a_refused_choice_keeps_the_ticks_the_user_made(
    client: Any, login_as: Any, session: Any, quarter: dict[str, Any]
) -> None:
    unit, people = quarter["unit"], quarter["people"]
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    session.commit()
    login_as("unit_admin")
    page = client.get(f"/results/unit/{unit.id}?period=2026-Q4").get_data(as_text=True)
    assert _ticked(page) == {str(people[0].id)}  # the suggestion: the best score
    # two ticks for a quota of one: refused, and the page shows the user's two ticks, not the suggestion
    r = client.post(
        f"/results/unit/{unit.id}/confirm?period=2026-Q4",
        data={"csrf_token": csrf_token_from(page), "choose": "1", "keep": [str(people[1].id), str(people[2].id)]},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="candidates"' in page
    assert _ticked(page) == {str(people[1].id), str(people[2].id)}
    assert "但配额只允许 1 人" in page  # the refusal says why
    assert {x.status for x in results.period_results(session, unit.id, "2026-Q4")} == {ResultStatus.draft}


def test_a_refused_annual_choice_keeps_the_ticks_the_user_made(
    client: Any, login_as: Any, session: Any, make_person: Any
) -> None:
    unit = unit_of(session)
    people = [make_person("ljjd-1", name=f"年度候选{n}") for n in range(3)]
    for person in people:
        for n in range(1, 5):
            quarter_result(session, person, f"2026-Q{n}", "95", "good")
    session.commit()
    annual.compute_annual_results(session, OFFICE, unit.id, 2026)
    session.commit()
    login_as("unit_admin")
    page = client.get(f"/results/unit/{unit.id}/year?year=2026").get_data(as_text=True)
    assert 'id="candidates"' in page
    r = client.post(
        f"/results/unit/{unit.id}/year/confirm?year=2026",
        data={"csrf_token": csrf_token_from(page), "choose": "1", "keep": [str(p.id) for p in people]},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="candidates"' in page
    assert _ticked(page) == {str(p.id) for p in people}
    assert {x.status for x in results.period_results(session, unit.id, "2026")} == {ResultStatus.draft}


def test_the_api_refuses_over_quota_with_candidates_then_confirms(
    client: Any, api_token: Any, quarter: dict[str, Any]
) -> None:
    unit, people = quarter["unit"], quarter["people"]
    headers = api_token("unit_admin")
    r = client.post(f"/api/v1/results/units/{unit.id}/compute?period=2026-Q4", headers=headers)
    assert r.status_code == 200 and len(r.get_json()["results"]) == 3
    r = client.post(f"/api/v1/results/units/{unit.id}/confirm?period=2026-Q4", headers=headers, json={})
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["cap"] == 1 and [c["person_id"] for c in error["candidates"]] == [p.id for p in people]
    assert error["candidates"][0]["suggested"] is True
    r = client.post(
        f"/api/v1/results/units/{unit.id}/confirm?period=2026-Q4",
        headers=headers,
        json={"choices": {str(people[0].id): "good"}},
    )
    assert r.status_code == 200
    grades = {x["person_id"]: (x["grade"], x["status"]) for x in r.get_json()["results"]}
    assert grades[people[0].id] == ("good", "confirmed") and grades[people[2].id] == ("fairly_good", "confirmed")
    got = client.get(f"/api/v1/results/units/{unit.id}?period=2026-Q4", headers=headers).get_json()
    assert got["quota"]["cap"] == 1 and got["candidates"] == []
    other = api_token("unit_admin", unit_code="lcz")
    assert client.get(f"/api/v1/results/units/{unit.id}?period=2026-Q4", headers=other).status_code == 403
    assert client.post(f"/api/v1/results/units/{unit.id}/compute?period=2026-Q4", headers=other).status_code == 403


def test_annual_page_explains_each_rule_and_vetoes_through_the_api(
    client: Any, api_token: Any, login_as: Any, session: Any, make_person: Any
) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-2", name="年度甲")
    for n in range(1, 5):
        quarter_result(session, person, f"2026-Q{n}", "93.5", "fairly_good")
    session.commit()
    headers = api_token("unit_admin")
    r = client.post(
        "/api/v1/vetoes",
        headers=headers,
        json={
            "person_id": person.id,
            "year": 2026,
            "item": "major_accident",
            "reason": "安全事故通报",
            "occurred_on": "2026-05-01",
        },
    )
    assert r.status_code == 201
    veto_id = r.get_json()["id"]
    r = client.post(f"/api/v1/results/units/{unit.id}/compute?period=2026", headers=headers)
    assert r.get_json()["results"][0]["rule"] == "veto"
    assert (
        client.post("/api/v1/vetoes/withdraw", headers=headers, json={"veto_id": veto_id, "reason": "误报"}).status_code
        == 200
    )
    client.post(f"/api/v1/results/units/{unit.id}/compute?period=2026", headers=headers)
    login_as("unit_admin")
    page = client.get(f"/results/unit/{unit.id}/year?year=2026").get_data(as_text=True)
    assert "total = (93.50 + 93.50 + 93.50 + 93.50) / 4 = 93.50" in page
    assert 'data-rule="threshold"' in page and 'data-rule="excellent_requires"' in page
    vetoes = client.get(f"/api/v1/vetoes?unit_id={unit.id}&year=2026", headers=headers).get_json()["vetoes"]
    assert vetoes[0]["withdrawn_at"] is not None


def test_veto_form_rejects_a_missing_reason_and_keeps_the_choice(
    client: Any, login_as: Any, session: Any, make_person: Any
) -> None:
    unit = unit_of(session)
    person = make_person("ljjd-2")
    session.commit()
    login_as("unit_admin")
    token = csrf_token_from(client.get(f"/results/unit/{unit.id}/year?year=2026").get_data(as_text=True))
    r = client.post(
        f"/results/unit/{unit.id}/veto?year=2026",
        data={"csrf_token": token, "person_id": str(person.id), "item": "major_accident", "reason": ""},
    )
    assert r.status_code == 422
    assert f'<option selected value="{person.id}"' in r.get_data(as_text=True)
    assert annual.active_vetoes(session, [person.id], 2026) == {}


def test_my_results_show_confirmed_results_only(client: Any, session: Any, make_person: Any) -> None:
    from tests.conftest import login

    person = make_person("ljjd-1", username="results.me")
    quarter_result(session, person, "2026-Q3", "88", "fairly_good")
    quarter_result(session, person, "2026-Q4", "70", "average", confirmed=False)
    session.commit()
    login(client, "results.me")
    page = client.get("/results/mine").get_data(as_text=True)
    assert 'data-period="2026-Q3"' in page and 'data-period="2026-Q4"' not in page
    assert client.get(f"/results/unit/{unit_of(session).id}").status_code == 403


def test_excel_export_carries_the_formula(client: Any, login_as: Any, quarter: dict[str, Any], session: Any) -> None:
    unit = quarter["unit"]
    results.compute_period_results(session, OFFICE, unit.id, "2026-Q4")
    session.commit()
    login_as("perf_office")
    r = client.get(f"/results/unit/{unit.id}/export.xlsx?period=2026-Q4")
    assert r.status_code == 200
    ws = load_workbook(BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][7] == 95.0 and rows[1][11].startswith("I = (95.00) / 1")
