"""Publication and distribution in the browser (forms, pages) and through the API."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from app.models import Publication, PublicationStatus
from app.services.appraisal import distribution, publication
from app.workflow import runtime
from tests.publication_data import PERIOD, actor, add_results, approve, ready_task, unit


def test_admin_prepares_from_the_page_and_a_bad_quarter_is_shown_with_what_was_typed(client, session, login_as) -> None:
    add_results(session)
    session.commit()
    login_as("unit_admin")
    page = client.get("/publication/")
    assert page.status_code == 200 and 'id="prepare-form"' in page.text
    bad = client.post(f"/publication/prepare?unit_id={unit(session).id}", data={"period": "2026-13", "reason": ""})
    assert bad.status_code == 422 and 'value="2026-13"' in bad.text
    ok = client.post(f"/publication/prepare?unit_id={unit(session).id}", data={"period": PERIOD, "reason": ""})
    assert ok.status_code == 302
    detail = client.get(ok.headers["Location"])
    assert detail.status_code == 200 and 'id="my-task"' in detail.text and 'data-status="draft"' in detail.text


def test_staff_cannot_prepare_and_sees_only_its_own_units_publication(client, session, login_as) -> None:
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    approve(session, pub.instance_id)
    session.commit()
    login_as("staff")
    index = client.get("/publication/")
    assert (
        index.status_code == 200
        and 'id="prepare-form"' not in index.text
        and f'data-publication="{pub.id}"' in index.text
    )
    assert client.post(f"/publication/prepare?unit_id={unit(session).id}", data={"period": PERIOD}).status_code == 403
    page = client.get(f"/publication/{pub.id}")
    assert page.status_code == 200 and 'id="own-row"' in page.text and 'id="objection-form"' in page.text
    assert client.get("/publication/distributions").status_code == 403
    client.post("/logout")
    login_as("staff", unit_code="lcz")
    assert client.get(f"/publication/{pub.id}").status_code == 403


def test_an_objection_filed_on_the_page_is_answered_on_the_page(client, session, login_as) -> None:
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    approve(session, pub.instance_id)
    session.commit()
    staff = actor(session, "staff")
    own = next(r for r in pub.rows if r.person_id == staff.person_id)
    login_as("staff")
    empty = client.post(f"/publication/rows/{own.id}/objections", data={"text": ""})
    assert empty.status_code == 422
    filed = client.post(f"/publication/rows/{own.id}/objections", data={"text": "加分未计入"})
    assert filed.status_code == 302
    session.expire_all()
    objection = session.get(Publication, pub.id).rows[own.position - 1].objections[0]
    assert objection.text == "加分未计入"
    client.post("/logout")
    login_as("unit_admin")
    page = client.get(f"/publication/{pub.id}")
    assert f'id="objection-{objection.id}"' in page.text
    answered = client.post(f"/publication/objections/{objection.id}/answer", data={f"a{objection.id}-answer": "已核实"})
    assert answered.status_code == 302
    session.expire_all()
    assert session.get(type(objection), objection.id).answer == "已核实"


def test_distribution_pages_show_the_formula_and_export_after_confirmation(client, session, login_as) -> None:
    add_results(session)
    session.commit()
    login_as("unit_admin")
    bad = client.post(
        f"/publication/distributions?unit_id={unit(session).id}", data={"period": PERIOD, "pool": "12.345"}
    )
    assert bad.status_code == 422 and 'value="12.345"' in bad.text
    made = client.post(
        f"/publication/distributions?unit_id={unit(session).id}", data={"period": PERIOD, "pool": "10000"}
    )
    assert made.status_code == 302
    page = client.get(made.headers["Location"])
    assert page.status_code == 200 and 'id="formula-numbers"' in page.text and "amount = 10000.00 × c ÷" in page.text
    assert '<td class="text-end" id="amount-sum">10000.00</td>' in page.text
    dist_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    assert client.get(f"/publication/distributions/{dist_id}/export.xlsx").status_code == 409
    approve(session, distribution.get_distribution(session, actor(session, "unit_admin"), dist_id).instance_id)
    session.commit()
    sheet = client.get(f"/publication/distributions/{dist_id}/export.xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.data)).active.iter_rows(values_only=True))
    shares = distribution.get_distribution(session, actor(session, "unit_admin"), dist_id).shares
    assert len(rows[0]) == 7 and len(rows) == len(shares) + 2  # header, one row per person, the total row
    assert [r[1] for r in rows[1:-1]] == [s.person_name for s in shares]
    assert Decimal(str(rows[-1][6])) == Decimal("10000.00")


def test_the_api_covers_publish_read_mine_objections_and_distributions(client, session, api_token) -> None:
    add_results(session)
    session.commit()
    admin, staff, principal = api_token("unit_admin"), api_token("staff"), api_token("unit_principal")
    assert client.post("/api/v1/publications", json={"period": PERIOD}, headers=staff).status_code == 403
    made = client.post("/api/v1/publications", json={"unit_id": unit(session).id, "period": PERIOD}, headers=admin)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["status"] == "draft" and body["rows"][0]["components"]["formula"]
    approve(session, body["instance_id"])
    session.commit()
    mine = client.get(f"/api/v1/publications/mine?period={PERIOD}", headers=staff).get_json()
    assert mine["publication"]["status"] == "published" and "components" in mine["row"]
    listed = client.get(f"/api/v1/publications/{body['id']}", headers=staff).get_json()
    others = [r for r in listed["rows"] if r["id"] != listed["own_row_id"]]
    assert others and all("components" not in r for r in others)  # the list, without others' detail
    filed = client.post(
        f"/api/v1/publications/rows/{mine['row']['id']}/objections", json={"text": "请复核"}, headers=staff
    )
    assert filed.status_code == 201
    answer = client.post(
        f"/api/v1/publications/objections/{filed.get_json()['id']}/answer", json={"answer": "已复核"}, headers=admin
    )
    assert answer.status_code == 200 and answer.get_json()["answered_at"]
    again = client.post(
        f"/api/v1/publications/objections/{filed.get_json()['id']}/answer", json={"answer": "x"}, headers=admin
    )
    assert again.status_code == 409
    dist = client.post(
        "/api/v1/distributions", json={"period": PERIOD, "pool": "5000.00", "unit_id": unit(session).id}, headers=admin
    )
    assert dist.status_code == 201, dist.get_json()
    d = dist.get_json()
    assert sum(Decimal(s["amount"]) for s in d["shares"]) == Decimal("5000.00")
    recomputed = client.post(
        f"/api/v1/distributions/{d['id']}/compute", json={"pool": "6000.01"}, headers=admin
    ).get_json()
    assert recomputed["pool"] == "6000.01"
    assert client.get(f"/api/v1/distributions/{d['id']}", headers=staff).status_code == 403
    assert client.get(f"/api/v1/distributions/{d['id']}", headers=principal).status_code == 200
    assert client.get(f"/api/v1/distributions/{d['id']}/export.xlsx", headers=admin).status_code == 409
    assert session.get(Publication, body["id"]).status is PublicationStatus.published


def test_the_principal_approves_on_the_task_page_seeing_the_list(client, session, login_as) -> None:
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    runtime.complete_task(
        session, actor(session, "unit_admin"), ready_task(session, pub.instance_id).id, {"note": "请审批"}
    )
    session.commit()
    task = ready_task(session, pub.instance_id)
    login_as("unit_principal")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and pub.rows[0].person_name in page.text and "请审批" in page.text
    done = client.post(f"/tasks/{task.id}", data={"decision": "approve", "comment": ""})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Publication, pub.id).status is PublicationStatus.published
