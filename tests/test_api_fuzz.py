"""The JSON API fuzzed with schemathesis against its own OpenAPI document (issue 9): whatever the generated
path, query and body, no endpoint answers with a server error.

It runs in-process on the WSGI app, inside the rolled-back ``session`` fixture, so nothing it writes outlives the
test: as a unit administrator (the widest unit-level role) and as the performance office (which reaches the process
designer). Half of the generated cases have their path ids replaced by ids of real objects the caller may open, so
the generated queries and bodies get past the 404 to the code that parses them. Bounded: a few examples per
operation, no deadline.

The operations are walked explicitly rather than with ``schemathesis.pytest.from_fixture``: the fixture-based
loader of schemathesis 4.32 does not run under pytest 9 (it reads the removed ``Function._nodeid``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from app.models import AppraisalRecord, HumanTask, IndicatorSet, OrgUnit, ProcessDefinition, TaskStatus, UserAccount
from app.services.actor import SYSTEM, actor_for_user
from app.services.demo import DEMO_PASSWORD
from app.services.indicators import flow as indicator_flow
from app.services.indicators import unit_tasks
from app.services.indicators.unit_tasks import TaskInput
from app.workflow import runtime
from tests.test_appraisal_flow import PERIOD, YEAR

EXAMPLES = 15
ADMIN = "ljjd102"  # unit administrator of 龙景街道, appraised like everyone


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _real_ids(session: Any) -> dict[str, Any]:
    """Objects of the administrator's unit (their own appraisal and indicator setting among them)."""
    account = session.scalar(select(UserAccount).where(UserAccount.username == ADMIN))
    person, admin = account.person, actor_for_user(session, account)
    appraisal = runtime.start_process(session, SYSTEM, "periodic_appraisal", PERIOD, person.id).instance
    indicator_flow.start_for(session, SYSTEM, person, YEAR)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd"))
    task = unit_tasks.create_task(
        session, admin, unit.id, TaskInput("模糊测试任务", deadline=date(YEAR, 12, 31), year=YEAR)
    )
    session.commit()
    human_task = session.scalar(
        select(HumanTask.id).where(HumanTask.instance_id == appraisal.id, HumanTask.status == TaskStatus.ready)
    )
    definition = session.scalar(select(ProcessDefinition).order_by(ProcessDefinition.id))
    return {
        "task_id": human_task,
        "unit_task_id": task.id,
        "instance_id": appraisal.id,
        "record_id": session.scalar(select(AppraisalRecord.id).where(AppraisalRecord.instance_id == appraisal.id)),
        "set_id": session.scalar(select(IndicatorSet.id).where(IndicatorSet.person_id == person.id)),
        "section_id": person.section_id,
        "unit_id": unit.id,
        "key": definition.key,
        "definition_id": definition.id,
    }


def _with_real_ids(case: Any, real: dict[str, Any]) -> Any:
    for name in list(case.path_parameters or {}):
        key = "unit_task_id" if name == "task_id" and case.path.startswith("/unit-tasks") else name
        if key in real:
            case.path_parameters[name] = real[key]
    return case


@pytest.mark.parametrize("username", [ADMIN, "office1"])
def test_no_endpoint_answers_with_a_server_error(app: Flask, session: Any, client: FlaskClient, username: str) -> None:
    real = _real_ids(session)
    headers = _token(client, username)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    walked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        walked += 1

        @given(case=operation.as_strategy(), real_path=st.booleans())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def fuzz(case: Any, real_path: bool) -> None:
            if real_path:
                _with_real_ids(case, real)
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert walked >= 20, "the OpenAPI document lost its operations"
    assert not failures, "\n\n".join(failures)
