"""Scoring schemes: validation, override resolution, the lost-update guard, the pages and the API."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from app.services.actor import actor_for_user
from app.services.appraisal import scheme
from app.services.errors import Conflict, Forbidden, Invalid
from tests.conftest import csrf_token_from, demo_account
from tests.results_support import OFFICE, unit_of

D = Decimal


def test_builtin_default_applies_when_nothing_is_saved(session: Any) -> None:
    found = scheme.effective_scheme(session, unit_of(session).id, 2026)
    assert found.source == "builtin" and found.row is None
    assert found.scheme.indicator_weight == D("0.8") and found.scheme.period_top_share == D("0.4")
    assert found.scheme.period_grade_for(D("89.99")) == "fairly_good"
    assert found.scheme.annual_grade_for(D("59.99")) == "incompetent"


def test_override_resolution_unit_then_district_of_the_year_then_an_earlier_year(session: Any) -> None:
    unit, other = unit_of(session), unit_of(session, "lcz")
    scheme.save_scheme(session, OFFICE, None, 2025, {"bonus_cap_period": "4", "bonus_cap_year": "8"})
    assert scheme.effective_scheme(session, unit.id, 2026).source == "district"
    assert scheme.effective_scheme(session, unit.id, 2026).year == 2025
    assert scheme.scheme_for(session, unit.id, 2024).bonus_cap_period == D(5)  # no earlier default: built-in
    scheme.save_scheme(session, OFFICE, None, 2026, {"annual_top_share": "0.15"})
    scheme.save_scheme(session, OFFICE, unit.id, 2026, {"indicator_weight": "0.7", "evaluation_weight": "0.3"})
    mine = scheme.effective_scheme(session, unit.id, 2026)
    assert mine.source == "unit"
    # the override started from the district default of 2026, so it keeps the district's other settings
    assert (mine.scheme.indicator_weight, mine.scheme.annual_top_share) == (D("0.7"), D("0.15"))
    assert scheme.scheme_for(session, other.id, 2026).indicator_weight == D("0.8")
    assert scheme.delete_override(session, OFFICE, unit.id, 2026) is True
    assert scheme.effective_scheme(session, unit.id, 2026).source == "district"
    assert scheme.delete_override(session, OFFICE, unit.id, 2026) is False


def test_validation_names_every_bad_setting(session: Any) -> None:
    with pytest.raises(Invalid) as caught:
        scheme.save_scheme(
            session,
            OFFICE,
            None,
            2026,
            {
                "indicator_weight": "0.7",
                "evaluation_weight": "abc",
                "bonus_cap_period": "6",
                "bonus_cap_year": "5",
                "rater_weights": {"leader": "0.5", "peer": "0.3", "self": "0.3"},
                "period_grades": {"good": "80", "fairly_good": "85", "average": "70", "poor": "0"},
                "annual_grades": {
                    "excellent": "90",
                    "competent": "70",
                    "basically_competent": "60",
                    "incompetent": "5",
                },
                "period_top_share": "1.5",
                "excellent_requires": "all_good",
                "publicity_days": 0,
                "colour": "red",
            },
        )
    fields = caught.value.fields
    assert set(fields) == {
        "evaluation_weight",
        "bonus_cap_year",
        "rater_weights",
        "period_grades",
        "annual_grades",
        "period_top_share",
        "excellent_requires",
        "publicity_days",
        "colour",
    }
    assert fields["period_grades"] == "Thresholds must fall from the top grade to the lowest one."
    assert fields["annual_grades"] == "The lowest grade must start at 0 so that every total has a grade."


def test_weights_must_add_up_to_one(session: Any) -> None:
    with pytest.raises(Invalid) as caught:
        scheme.save_scheme(session, OFFICE, None, 2026, {"indicator_weight": "0.7"})
    assert "add up to 0.9" in caught.value.fields["evaluation_weight"]


def test_stale_version_is_refused(session: Any) -> None:
    row = scheme.save_scheme(session, OFFICE, None, 2026, {"publicity_days": 7})
    assert row.version == 1
    scheme.save_scheme(session, OFFICE, None, 2026, {"publicity_days": 6}, expected_version=1)
    with pytest.raises(Conflict):
        scheme.save_scheme(session, OFFICE, None, 2026, {"publicity_days": 8}, expected_version=1)
    with pytest.raises(Conflict):  # "0": the editor saw no row, but one exists now
        scheme.save_scheme(session, OFFICE, None, 2026, {"publicity_days": 8}, expected_version=0)


def test_unit_admin_edits_only_the_own_units_override(session: Any) -> None:
    admin = actor_for_user(session, demo_account(session, "unit_admin"))
    scheme.save_scheme(session, admin, unit_of(session).id, 2026, {"period_top_share": "0.3"})
    with pytest.raises(Forbidden):
        scheme.save_scheme(session, admin, unit_of(session, "lcz").id, 2026, {"period_top_share": "0.3"})
    with pytest.raises(Forbidden):
        scheme.save_scheme(session, admin, None, 2026, {"period_top_share": "0.3"})


def _form(page: str) -> dict[str, str]:
    import re

    data: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        data[name] = value
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\s*([^<]*)</textarea>', page, re.S):
        data[name] = body.strip()
    for name, value in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>.*?<option selected value="([^"]*)"', page, re.S):
        data[name] = value
    if 'name="excellent_forbids_low_periods" type="checkbox" value="y" checked' not in page and "checked" not in page:
        data.pop("excellent_forbids_low_periods", None)
    return data


def test_unit_page_shows_district_values_and_keeps_what_was_typed(client: Any, login_as: Any, session: Any) -> None:
    unit = unit_of(session)
    scheme.save_scheme(session, OFFICE, unit.id, 2026, {"period_top_share": "0.3"})
    session.commit()
    login_as("unit_admin")
    page = client.get(f"/scheme/unit/{unit.id}?year=2026").get_data(as_text=True)
    assert 'data-setting="period_top_share"' in page and "setting differs" in page
    data = _form(page)
    data.update({"indicator_weight": "0.75", "bonus_cap_period": "lots"})
    r = client.post(f"/scheme/unit/{unit.id}?year=2026", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="lots"' in html and 'value="0.75"' in html and "invalid-feedback" in html
    assert scheme.scheme_for(session, unit.id, 2026).indicator_weight == D("0.8")
    data.update({"indicator_weight": "0.75", "evaluation_weight": "0.25", "bonus_cap_period": "4"})
    r = client.post(f"/scheme/unit/{unit.id}?year=2026", data=data)
    assert r.status_code == 302
    saved = scheme.scheme_for(session, unit.id, 2026)
    assert (saved.indicator_weight, saved.bonus_cap_period, saved.period_top_share) == (D("0.75"), D(4), D("0.3"))
    stale = client.post(f"/scheme/unit/{unit.id}?year=2026", data=data)  # the version of the first load
    assert stale.status_code == 409
    token = csrf_token_from(client.get(f"/scheme/unit/{unit.id}?year=2026").get_data(as_text=True))
    assert client.post(f"/scheme/unit/{unit.id}/remove?year=2026", data={"csrf_token": token}).status_code == 302
    assert scheme.effective_scheme(session, unit.id, 2026).source == "builtin"


def test_scheme_pages_access(client: Any, login_as: Any, session: Any) -> None:
    login_as("unit_admin")
    assert client.get("/scheme/district").status_code == 403
    assert client.get(f"/scheme/unit/{unit_of(session, 'lcz').id}").status_code == 403
    assert client.get("/scheme/").status_code == 302


def test_office_sees_the_units_and_edits_the_district_default(client: Any, login_as: Any, session: Any) -> None:
    login_as("perf_office")
    assert unit_of(session).name in client.get("/scheme/?year=2026").get_data(as_text=True)
    data = _form(client.get("/scheme/district?year=2026").get_data(as_text=True))
    data["annual_top_share"] = "0.25"
    assert client.post("/scheme/district?year=2026", data=data).status_code == 302
    assert scheme.scheme_for(session, None, 2026).annual_top_share == D("0.25")


def test_api_get_put_and_conflict(client: Any, api_token: Any, session: Any) -> None:
    unit = unit_of(session)
    headers = api_token("unit_admin")
    r = client.get(f"/api/v1/schemes/units/{unit.id}?year=2026", headers=headers)
    assert r.status_code == 200 and r.get_json()["source"] == "builtin" and r.get_json()["version"] == 0
    body = {"version": 0, "scheme": {"annual_top_share": "0.1"}}
    r = client.put(
        f"/api/v1/schemes/units/{unit.id}?year=2026",
        headers=headers,
        data=json.dumps(body),
        content_type="application/json",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 1 and r.get_json()["differs_from_district"] == ["annual_top_share"]
    r = client.put(f"/api/v1/schemes/units/{unit.id}?year=2026", headers=headers, json=body)
    assert r.status_code == 409
    r = client.put(
        f"/api/v1/schemes/units/{unit.id}?year=2026",
        headers=headers,
        json={"version": 1, "scheme": {"period_top_share": "2"}},
    )
    assert r.status_code == 422 and "period_top_share" in r.get_json()["error"]["fields"]
    assert client.put("/api/v1/schemes/district?year=2026", headers=headers, json=body).status_code == 403
    assert client.delete(f"/api/v1/schemes/units/{unit.id}?year=2026", headers=headers).status_code == 200
