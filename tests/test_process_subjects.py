"""Which processes the generic starts may start, and for what kind of subject.

Domain processes (a bonus item's approval, a rater's sheet, a publication, a distribution) belong to
a domain row created with them, so only their own service starts them; unit processes are about a
unit, person processes about a person — a mismatched start is refused before anything is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import OrgUnit, ProcessInstance
from app.services.actor import SYSTEM
from app.services.cycles import open_cycle
from app.services.errors import Invalid
from app.services.periods import DOMAIN_STARTED
from app.workflow import runtime


def _instances(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(ProcessInstance))


@pytest.mark.parametrize("key", sorted(DOMAIN_STARTED))
def test_the_api_refuses_to_start_a_domain_process_and_says_where_it_starts(
    client: Any, api_token: Any, session: Any, key: str
) -> None:
    before = _instances(session)
    r = client.post(f"/api/v1/processes/{key}/start", headers=api_token("staff"), json={"period": "2026-Q3"})
    assert r.status_code == 422
    assert "not started directly" in r.get_json()["error"]["message"]
    assert _instances(session) == before


def test_the_inbox_offers_only_processes_a_person_starts_for_themself(client: Any, login_as: Any) -> None:
    login_as("staff")
    html = client.get("/tasks?scope=related").get_data(as_text=True)
    form = html[html.index('id="start-process"') :]
    form = form[: form.index("</select>")]
    assert 'value="indicator_setting"' in form
    for key in [*DOMAIN_STARTED, "monthly_analysis"]:
        assert f'value="{key}"' not in form


def test_the_inbox_refuses_a_domain_process_posted_anyway(client: Any, login_as: Any, session: Any) -> None:
    login_as("staff")
    before = _instances(session)
    r = client.post("/processes/start", data={"process": "bonus_deduction", "period": "2026-Q3"})
    assert r.status_code == 302 and _instances(session) == before


def test_a_cycle_cannot_open_a_domain_process(session: Any) -> None:
    with pytest.raises(Invalid, match="not started directly"):
        open_cycle(session, SYSTEM, "publication", "2026-Q3")


def test_a_unit_process_is_not_started_for_a_person_nor_a_person_process_for_a_unit(
    session: Any, make_person: Any
) -> None:
    person = make_person("ljjd-1")
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
    before = _instances(session)
    with pytest.raises(Invalid, match="about a unit"):
        runtime.start_process(session, SYSTEM, "monthly_analysis", "2026-10", person.id)
    with pytest.raises(Invalid, match="about a person"):
        runtime.start_process(session, SYSTEM, "periodic_appraisal", "2026-10", subject_unit_id=unit.id)
    assert _instances(session) == before
