"""Authorisation everywhere (issue 9): walk every route of the URL map, browser and JSON API, as every role,
against objects owned by a person of another unit (and, for staff, of another person of the same section).

A small world is built inside the rolled-back session: a periodic appraisal with its record and tasks, an
indicator set with its setting process, a unit task with an assignment and progress (with evidence), a weekly
log with evidence, a notification, a common indicator and a process definition draft. Every URL variable of
every rule is filled from that world; a rule with a variable the walk does not know fails the test, so a new
route has to be added here before it ships.

Expected from an outsider: never 200 on a page or endpoint about the owner's objects, never a 5xx anywhere,
and the lists they may open must not show the owner's name or staff number.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import product
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from app.models import (
    AppraisalRecord,
    HumanTask,
    IndicatorSet,
    Notification,
    OrgUnit,
    Person,
    ProcessDefinition,
    TaskStatus,
    UserAccount,
)
from app.services import evidence
from app.services.actor import SYSTEM, actor_for_user
from app.services.appraisal import logs
from app.services.demo import DEMO_PASSWORD
from app.services.indicators import common, unit_tasks
from app.services.indicators import flow as indicator_flow
from app.services.indicators.unit_tasks import TaskInput
from app.workflow import runtime
from tests.conftest import demo_account, login
from tests.test_appraisal_flow import PERIOD, YEAR
from tests.test_appraisal_logs import PDF, weeks_ago

OWNER, PEER, HEAD, ADMIN, UNIT = "ljjd103", "ljjd104", "ljjd101", "ljjd102", "ljjd"
OTHER_UNIT = "lcz"
OWNER_NAME = "走查对象甲"  # unique in the district, so finding it in a page is a leak and not a namesake
ROLES = (
    "staff",
    "section_head",
    "unit_leader",
    "unit_principal",
    "unit_admin",
    "perf_office",
    "sys_admin",
    "sec_admin",
    "audit_admin",
)
DISTRICT_WIDE = {"perf_office"}  # allowed exception: the performance office oversees every unit
# Allowed exception: the audit administrator reads the whole district's audit trail (三权分立), people included.
DISTRICT_WIDE_ENDPOINTS = {"audit_admin": ("audit.",)}

# Statuses an outsider may get on an object of the owner (302 only to the login page, checked apart).
REFUSED = {401, 403, 404, 405, 409, 422}

# Endpoints not walked, with the reason.
SKIPPED = {
    "static": "files, no objects",
    "auth.login": "logging in is what the walk does",
    "auth.logout": "would end the walk's session",
    "api.issue_token": "logging in is what the walk does",
    "api.openapi": "the public API description",
}
# Not POSTed by the performance office during the walk: it may do them, and they open processes for whole
# units or run scheduler jobs in a background thread, which would only slow the walk down (they have tests).
OFFICE_POST_SKIPPED = {
    "cycles.run_job",
    "cycles.open_unit",
    "indicators.open_unit",
    "api.open_indicator_setting",
}

# Rules whose variables name no object of the owner: a 200 there is not a leak.
NOT_OBJECTS = {
    "auth.set_language",  # /lang/<code>: everybody chooses their language
}

# Allowed exceptions for people of the owner's own unit: the responsibility matrix (task × person, with progress)
# is readable by everyone of the unit by design (README, "Responsibility matrix"), so a colleague sees the owner
# in it and may open the task the owner works on.
SAME_UNIT_OPEN = {
    "matrix.index",
    "matrix.table",
    "matrix.task",
    "api.get_matrix",
    "api.list_unit_tasks",
    "api.get_unit_task",
}


@dataclass
class World:
    owner: Person
    ids: dict[str, list[Any]] = field(default_factory=dict)
    appraisal_task: int = 0
    indicator_task: int = 0
    unit_task: int = 0
    instance_ids: list[int] = field(default_factory=list)
    set_id: int = 0


def _account(session: Any, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _actor(session: Any, username: str) -> Any:
    return actor_for_user(session, _account(session, username))


def _open_task(session: Any, instance_id: int) -> int:
    return session.scalar(
        select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )


@pytest.fixture
def world(app: Flask, session: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    store = tmp_path / "evidence"
    owner = _account(session, OWNER).person
    owner.name = OWNER_NAME
    session.flush()
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == UNIT))
    section = owner.section

    # a periodic appraisal (its record is created by the process listener) and the owner's summary task
    appraisal = runtime.start_process(session, SYSTEM, "periodic_appraisal", PERIOD, owner.id).instance
    record_id = session.scalar(select(AppraisalRecord.id).where(AppraisalRecord.instance_id == appraisal.id))
    # the year's indicator setting: the set and the owner's drafting task
    indicator_flow.start_for(session, SYSTEM, owner, YEAR)
    indicator_set = session.scalar(
        select(IndicatorSet).where(IndicatorSet.person_id == owner.id, IndicatorSet.year == YEAR)
    )
    indicator_instance = indicator_set.versions[-1].instance_id
    # a unit task decomposed to the owner, with progress and evidence
    admin = _actor(session, ADMIN)
    task = unit_tasks.create_task(
        session, admin, unit.id, TaskInput(title="走查任务", deadline=date(YEAR, 12, 31), year=YEAR)
    )
    assignment = unit_tasks.assign(session, admin, task.id, owner.id, "lead")
    progress = unit_tasks.record_progress(
        session,
        _actor(session, OWNER),
        assignment.id,
        20,
        "走查进展",
        evidence.Upload(filename="进展.pdf", data=PDF),
        store=store,
        max_bytes=1 << 20,
    )
    # last week's log with evidence
    me = _actor(session, OWNER)
    log = logs.save_week(session, me, weeks_ago(1), [{"content": "走查周记"}])
    log_evidence = logs.add_evidence(
        session, me, log.entries[0].id, evidence.Upload(filename="周记.pdf", data=PDF), store=store, max_bytes=1 << 20
    )
    session.commit()
    notification = session.scalar(
        select(Notification.id).where(Notification.recipient_id == owner.id).order_by(Notification.id.desc())
    )
    definition = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == "periodic_appraisal").order_by(ProcessDefinition.id)
    )
    common_item = common.create_item(
        session, _actor(session, "office1"), YEAR, common.CommonInput(name="走查共性", standard="标准", weight="5")
    ).id
    assert record_id and indicator_instance and notification and common_item, "the world is incomplete"
    appraisal_task, indicator_task = _open_task(session, appraisal.id), _open_task(session, indicator_instance)
    return World(
        owner=owner,
        appraisal_task=appraisal_task,
        indicator_task=indicator_task,
        unit_task=task.id,
        instance_ids=[appraisal.id, indicator_instance],
        set_id=indicator_set.id,
        ids={
            "instance_id": [appraisal.id, indicator_instance],
            "set_id": [indicator_set.id],
            "person_id": [owner.id],
            "unit_id": [unit.id],
            "section_id": [section.id],
            "record_id": [record_id],
            "assignment_id": [assignment.id],
            "entry_id": [log.entries[0].id],
            "evidence_id": [log_evidence.id],
            "progress_id": [progress.id],
            "notification_id": [notification],
            "item_id": [common_item],
            "number": [1],
            "key": [definition.key],
            "definition_id": [definition.id],
            "code": ["en"],
            "name": ["weekly_logs"],
        },
    )


def _task_ids(rule: Rule, world: World) -> list[int]:
    """``task_id`` names a unit task under /matrix and /unit-tasks, a workflow task everywhere else."""
    if rule.rule.startswith(("/matrix/", "/api/v1/unit-tasks/")):
        return [world.unit_task]
    if rule.rule.startswith("/appraisal/"):
        return [world.appraisal_task]
    if rule.rule.startswith("/indicators/"):
        return [world.indicator_task]
    return [world.appraisal_task, world.indicator_task]


def urls(app: Flask, world: World, *, api: bool) -> Iterator[tuple[Rule, str, str]]:
    """(rule, method, url) for every walked rule: each combination of the world's values for its variables."""
    unknown = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIPPED or rule.rule.startswith("/api/") != api:
                continue
            choices = {}
            for var in sorted(rule.arguments):
                values = _task_ids(rule, world) if var == "task_id" else world.ids.get(var)
                if values is None:
                    unknown.append(f"{rule.rule} ({rule.endpoint}): <{var}>")
                    break
                choices[var] = values
            else:
                for combo in product(*choices.values()):
                    url = url_for(rule.endpoint, **dict(zip(choices, combo, strict=True)))
                    for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                        yield rule, method, url
    assert not unknown, "add these URL variables to the authorisation walk's world:\n" + "\n".join(unknown)


def _object_rule(rule: Rule) -> bool:
    return bool(rule.arguments) and rule.endpoint not in NOT_OBJECTS


def _call(client: FlaskClient, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    if method == "GET":
        return client.get(url, headers=headers)
    if headers is not None:
        return client.post(url, headers=headers, json={})
    # a file rides along, so upload routes reach their object check instead of stopping at "choose a file"
    return client.post(url, data={"evidence": (io.BytesIO(PDF), "walk.pdf")}, content_type="multipart/form-data")


def _readable(data: bytes) -> bytes:
    """The bytes to search for a name: a spreadsheet (a zip) is searched in its unpacked parts."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return b"".join(z.read(n) for n in z.namelist())
    return data


def _judge(rule: Rule, response: Any, world: World, *, role: str, same_unit: bool) -> str | None:
    """What is wrong with ``response`` for an outsider, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error"
    if role in DISTRICT_WIDE or rule.endpoint.startswith(DISTRICT_WIDE_ENDPOINTS.get(role, ("-",))):
        return None
    if same_unit and rule.endpoint in SAME_UNIT_OPEN:
        return None
    if _object_rule(rule) and not (same_unit and rule.arguments == {"unit_id"} and status == 200):
        if status == 302:
            location = response.headers.get("Location", "")
            return None if "/login" in location else f"302 to {location}"
        if status not in REFUSED:
            return f"{status} on another person's object"
        return None
    if status == 200:
        body = _readable(response.get_data())
        for secret in (world.owner.name, world.owner.staff_no):
            if secret.encode() in body or json.dumps(secret)[1:-1].encode() in body:
                return f"200 showing {secret!r}"
    return None


def _walk(
    client: FlaskClient,
    app: Flask,
    world: World,
    who: str,
    *,
    api: bool,
    role: str,
    headers: Any = None,
    same_unit: bool = False,
) -> tuple[int, list[str]]:
    """Request every walked URL; (number of requests, problems found)."""
    problems, count = [], 0
    for rule, method, url in urls(app, world, api=api):
        if role in DISTRICT_WIDE and method == "POST" and rule.endpoint in OFFICE_POST_SKIPPED:
            continue
        response = _call(client, method, url, headers)
        count += 1
        if os.environ.get("WALK_DEBUG"):
            print(who, method, url, response.status_code, response.headers.get("Location", ""))
        problem = _judge(rule, response, world, role=role, same_unit=same_unit)
        if problem:
            problems.append(f"{who}: {method} {url} -> {problem}")
    return count, problems


def _outsiders(session: Any) -> list[tuple[str, str]]:
    """(role, username): people of the owner's unit without charge of the owner, then each role in another unit."""
    out = [(label, username) for username, label in SAME_UNIT_OUTSIDERS.items()]
    for role in ROLES:
        out.append((role, demo_account(session, role, unit_code=OTHER_UNIT).username))
    return out


PEER_LABEL = "staff of the owner's section"
# People of the owner's unit who have no charge of the owner: they may see the unit's matrix, nothing personal.
# A page of their own unit (``<unit_id>`` only) is a list filtered to what they may see: it may answer 200, but must
# not show the owner.
SAME_UNIT_OUTSIDERS = {
    PEER: PEER_LABEL,
    "ljjd203": "staff of another section",
    "ljjd201": "head of another section",
    "ljjd_leader2": "leader not in charge of the owner's section",
}


def test_every_page_refuses_outsiders(app: Flask, session: Any, client: FlaskClient, world: World) -> None:
    problems, total = [], 0
    for label, username in _outsiders(session):
        client.post("/logout")
        login(client, username)
        count, found = _walk(
            client,
            app,
            world,
            f"{label} {username}",
            api=False,
            role=label,
            same_unit=username in SAME_UNIT_OUTSIDERS,
        )
        total, problems = total + count, problems + found
    assert not problems, "\n".join(problems)
    assert total >= len(_outsiders(session)) * (len(list(urls(app, world, api=False))) - len(OFFICE_POST_SKIPPED))


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_every_api_endpoint_refuses_outsiders(app: Flask, session: Any, client: FlaskClient, world: World) -> None:
    problems, total = [], 0
    for label, username in _outsiders(session):
        count, found = _walk(
            client,
            app,
            world,
            f"{label} {username}",
            api=True,
            headers=_token(client, username),
            role=label,
            same_unit=username in SAME_UNIT_OUTSIDERS,
        )
        total, problems = total + count, problems + found
    assert not problems, "\n".join(problems)
    assert total >= len(_outsiders(session)) * (len(list(urls(app, world, api=True))) - len(OFFICE_POST_SKIPPED))


def test_without_a_login_every_page_and_endpoint_refuses(app: Flask, client: FlaskClient, world: World) -> None:
    problems = []
    for rule, method, url in [*urls(app, world, api=False), *urls(app, world, api=True)]:
        response = _call(client, method, url, {} if rule.rule.startswith("/api/") else None)
        status = response.status_code
        if rule.endpoint in NOT_OBJECTS or rule.endpoint == "auth.change_password":
            continue
        # 286 tells htmx to stop polling and follow HX-Redirect to the login page
        location = response.headers.get("Location", "") + response.headers.get("HX-Redirect", "")
        to_login = status in {302, 286} and "/login" in location
        if not (to_login or status in {401, 405}):
            problems.append(f"anonymous: {method} {url} -> {status}")
    assert not problems, "\n".join(problems)


INSIDERS = (OWNER, HEAD, ADMIN, "office1")


def test_the_owner_and_those_above_them_do_get_in(app: Flask, client: FlaskClient, world: World) -> None:
    """The positive side: the walk refuses outsiders, not everybody."""
    pages = [f"/instances/{i}" for i in world.instance_ids] + [f"/indicators/sets/{world.set_id}/print"]
    pages.append(f"/appraisal/records/{world.ids['record_id'][0]}")
    api = [f"/api/v1/process-instances/{i}" for i in world.instance_ids]
    api += [f"/api/v1/indicator-sets/{world.set_id}", f"/api/v1/appraisals/{world.ids['record_id'][0]}"]
    tasks = [f"/appraisal/tasks/{world.appraisal_task}", f"/indicators/tasks/{world.indicator_task}"]
    api_tasks = [f"/api/v1/tasks/{world.appraisal_task}", f"/api/v1/tasks/{world.indicator_task}"]
    failures = []
    for username in INSIDERS:
        client.post("/logout")
        login(client, username)
        headers = _token(client, username)
        # the section head reviews later steps: the owner's own drafting tasks are not theirs to open
        own_tasks = username != HEAD
        # the owner reads their own logs at /appraisal/logs; the person's log page is for those above them
        logs_page = [] if username == OWNER else [f"/appraisal/people/{world.owner.id}/logs"]
        for url in pages + logs_page + (tasks if own_tasks else []):
            if (status := client.get(url).status_code) != 200:
                failures.append(f"{username}: GET {url} -> {status}")
        for url in api + (api_tasks if own_tasks else []):
            if (status := client.get(url, headers=headers).status_code) != 200:
                failures.append(f"{username}: GET {url} -> {status}")
    assert not failures, "\n".join(failures)


def test_the_walk_catches_a_missing_object_check(
    app: Flask, session: Any, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plant a hole (indicator sets readable by anyone) and the walk must report it."""
    from app.services.indicators import sets

    monkeypatch.setattr(sets, "can_view", lambda actor, person: True)
    username = demo_account(session, "staff", unit_code=OTHER_UNIT).username
    login(client, username)
    _, problems = _walk(client, app, world, username, api=False, role="staff")
    assert any(f"GET /indicators/sets/{world.set_id} " in p for p in problems), problems
