"""Authorisation everywhere (issue 9): walk every route of the URL map, browser and JSON API, as every role,
against objects owned by a person of another unit (and, for staff, of another person of the same section).

A small world of objects of every kind, owned by the person, their section or their unit, is built inside the
rolled-back session (tests/walk_world.py). Every URL variable of every rule is filled from that world; a rule
with a variable the walk does not know fails the test, so a new route has to be added here before it ships.

Expected from an outsider: never 200 on a page or endpoint about the owner's objects, never a 5xx anywhere,
and the lists they may open must not show the owner's name or staff number.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from itertools import product
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from app.models import Role, RoleAssignment, UserAccount
from app.services.demo import DEMO_PASSWORD
from tests import walk_world
from tests.conftest import demo_account, login
from tests.test_appraisal_logs import PDF
from tests.walk_world import ADMIN, HEAD, OWNER, OWNER_NAME, PEER, World

OTHER_UNIT = "lcz"
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
# Allowed exceptions of the separated admin duties (三权分立), each district-wide by design and nothing more:
# the audit administrator reads the whole audit trail, people included; the system administrator administers
# every account (list, unlock, disable, enable); the security administrator assigns roles to anyone (so finds
# people and opens their role page) and resets second factors. None of them reaches an appraisal object.
DISTRICT_WIDE_ENDPOINTS = {
    "audit_admin": ("audit.",),
    "sys_admin": ("auth.accounts_page", "auth.account_unlock", "auth.account_disable", "auth.account_enable"),
    "sec_admin": ("auth.accounts_page", "auth.totp_reset", "org.people", "org.person", "org.revoke"),
}

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
    # /…/<period>: the caller's own rating sheet and evaluation result of a quarter
    "evaluation.my_result",
    "api.my_sheet",
    "api.my_result",
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
    # the quarter's publication (公示) lists the unit's results to everybody of the unit (publish_scope "unit")
    "publication.detail",
    "api.get_publication",
}

# Allowed exception for colleagues of the owner's section: they rate each other in the evaluation round
# (互评), so the owner is on their own rating sheet.
SAME_SECTION_OPEN = {"api.my_sheet"}

# A process definition is district-wide, not an object of the owner: its analytics page is open to unit
# administrators, with the figures of their own unit only, so a 200 there must not name the owner's unit.
UNIT_SCOPED_FIGURES = {"analytics.heatmap", "analytics.diagram"}


@pytest.fixture
def world(app: Flask, session: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return walk_world.build_world(session, tmp_path / "evidence")


def _task_ids(rule: Rule, world: World) -> list[int]:
    """``task_id`` names a unit task under /matrix and /unit-tasks, a workflow task everywhere else."""
    if rule.rule.startswith(("/matrix/", "/api/v1/unit-tasks/")):
        return [world.unit_task]
    if rule.rule.startswith("/appraisal/"):
        return [world.appraisal_task]
    if rule.rule.startswith("/indicators/"):
        return [world.indicator_task]
    for prefix, task_id in world.tasks.items():
        if rule.rule.startswith(prefix):
            return [task_id]
    return [world.appraisal_task, world.indicator_task, *world.tasks.values()]


def _values(rule: Rule, var: str, world: World) -> list[Any] | None:
    """The world's values for ``var`` of ``rule``: a few names mean different objects in different areas."""
    if var == "task_id":
        return _task_ids(rule, world)
    if var in ("item_id", "evidence_id") and rule.rule.startswith(("/bonus/", "/api/v1/bonus-")):
        return world.ids[f"bonus_{var}"]
    return world.ids.get(var)


def _combinations(rule: Rule, world: World) -> list[dict[str, Any]] | None:
    """Explicit argument sets (query string included) for rules whose variables only make sense together."""
    if rule.endpoint == "dashboard.export":  # a panel of the owner's own dashboard, section and unit
        return [
            {"kind": "staff", "key": "my_scores", "id": world.owner.id},
            {"kind": "section", "key": "score_distribution", "id": world.ids["section_id"][0]},
            {"kind": "unit", "key": "cycle_progress", "id": world.ids["unit_id"][0]},
        ]
    return None


def _owner_filters(world: World) -> dict[str, Any]:
    return {var: world.ids[var][0] for var in ("person_id", "section_id", "unit_id")}


def urls(app: Flask, world: World, *, api: bool) -> Iterator[tuple[Rule, str, str]]:
    """(rule, method, url) for every walked rule: each combination of the world's values for its variables."""
    unknown = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIPPED or rule.rule.startswith("/api/") != api:
                continue
            combos = _combinations(rule, world)
            if combos is None:
                choices = {}
                for var in sorted(rule.arguments):
                    values = _values(rule, var, world)
                    if values is None:
                        unknown.append(f"{rule.rule} ({rule.endpoint}): <{var}>")
                        break
                    choices[var] = values
                else:
                    combos = [dict(zip(choices, combo, strict=True)) for combo in product(*choices.values())]
            for args in combos or []:
                url = url_for(rule.endpoint, **args)
                for method in sorted((rule.methods or set()) & {"GET", "POST"}):
                    yield rule, method, url
            if not rule.arguments and "GET" in (rule.methods or set()):
                # lists filtered by the query string: asking for the owner's person, section or unit shows
                # only what the caller may see anyway
                yield rule, "GET", url_for(rule.endpoint, **_owner_filters(world))
    assert not unknown, "add these URL variables to the authorisation walk's world:\n" + "\n".join(unknown)


def _object_rule(rule: Rule) -> bool:
    return bool(rule.arguments) and rule.endpoint not in NOT_OBJECTS | UNIT_SCOPED_FIGURES


def _unit_page(rule: Rule, url: str) -> bool:
    """A page about the owner's whole unit (a list filtered to what the caller may see), not about the owner."""
    return rule.arguments == {"unit_id"} or (rule.endpoint == "dashboard.export" and "/unit/" in url)


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


def _judge(rule: Rule, url: str, response: Any, world: World, *, role: str, same_unit: bool) -> str | None:
    """What is wrong with ``response`` for an outsider, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error"
    if role in DISTRICT_WIDE or rule.endpoint.startswith(DISTRICT_WIDE_ENDPOINTS.get(role, ("-",))):
        return None
    if same_unit and rule.endpoint in SAME_UNIT_OPEN:
        return None
    if role == PEER_LABEL and rule.endpoint in SAME_SECTION_OPEN:
        return None
    if _object_rule(rule) and not (same_unit and _unit_page(rule, url) and status == 200):
        if status == 302:
            location = response.headers.get("Location", "")
            return None if "/login" in location else f"302 to {location}"
        if status not in REFUSED:
            return f"{status} on another person's object"
        return None
    if status == 200:
        body = _readable(response.get_data())
        secrets = [world.owner.name, world.owner.staff_no]
        if rule.endpoint in UNIT_SCOPED_FIGURES and not same_unit:
            secrets.append(world.owner.section.parent.name)
        for secret in secrets:
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
        problem = _judge(rule, url, response, world, role=role, same_unit=same_unit)
        if problem:
            problems.append(f"{who}: {method} {url} -> {problem}")
    return count, problems


def _outsiders(session: Any) -> list[tuple[str, str]]:
    """(role, username): people of the owner's unit without charge of the owner, then each role in another unit.

    The performance office comes last: its POSTs may withdraw or close the owner's objects, which would leave
    those after it only conflicts to meet instead of the object checks.
    """
    out = [(label, username) for username, label in SAME_UNIT_OUTSIDERS.items()]
    for role in sorted(ROLES, key=lambda r: r in DISTRICT_WIDE):
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
    item, proof = world.ids["bonus_item_id"][0], world.ids["bonus_evidence_id"][0]
    pages += [f"/bonus/items/{item}", f"/bonus/evidence/{proof}", f"/publication/{world.ids['publication_id'][0]}"]
    api += [f"/api/v1/bonus-items/{item}", f"/api/v1/people/{world.owner.id}/counted-points"]
    # the unit's evaluation round and bonus distribution are managed by its administrator (and the office)
    managed = [f"/evaluation/rounds/{world.ids['round_id'][0]}"]
    managed.append(f"/publication/distributions/{world.ids['distribution_id'][0]}")
    failures = []
    for username in INSIDERS:
        client.post("/logout")
        login(client, username)
        headers = _token(client, username)
        # the section head reviews later steps: the owner's own drafting tasks are not theirs to open
        own_tasks = username != HEAD
        # the owner reads their own logs at /appraisal/logs; the person's log page is for those above them
        logs_page = [] if username == OWNER else [f"/appraisal/people/{world.owner.id}/logs"]
        manages = managed if username in (ADMIN, "office1") else []
        for url in pages + logs_page + (tasks if own_tasks else []) + manages:
            if (status := client.get(url).status_code) != 200:
                failures.append(f"{username}: GET {url} -> {status}")
        for url in api + (api_tasks if own_tasks else []):
            if (status := client.get(url, headers=headers).status_code) != 200:
                failures.append(f"{username}: GET {url} -> {status}")
    assert not failures, "\n".join(failures)


def test_the_leader_in_charge_of_the_owners_section_sees_what_the_section_head_sees(
    session: Any, client: FlaskClient, world: World
) -> None:
    """A unit leader oversees the sections they are in charge of (the leader not in charge is walked above)."""
    leader = session.scalar(
        select(UserAccount)
        .join(RoleAssignment, RoleAssignment.person_id == UserAccount.person_id)
        .where(RoleAssignment.role == Role.unit_leader, RoleAssignment.org_unit_id == world.owner.section_id)
    )
    login(client, leader.username)
    headers = _token(client, leader.username)
    item = world.ids["bonus_item_id"][0]
    pages = [f"/appraisal/records/{world.ids['record_id'][0]}", f"/bonus/items/{item}"]
    pages.append(f"/appraisal/people/{world.owner.id}/logs")
    api = [f"/api/v1/bonus-items/{item}", f"/api/v1/people/{world.owner.id}/counted-points"]
    failures = [f"GET {url} -> {r.status_code}" for url in pages if (r := client.get(url)).status_code != 200]
    failures += [
        f"GET {url} -> {r.status_code}" for url in api if (r := client.get(url, headers=headers)).status_code != 200
    ]
    listed = client.get("/bonus/items").get_data(as_text=True)
    assert not failures and OWNER_NAME in listed, failures


def test_the_walk_catches_a_missing_object_check(
    app: Flask, session: Any, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plant holes (indicator sets and bonus items readable by anyone) and the walk must report them."""
    from app.services.appraisal import bonus_items
    from app.services.indicators import sets

    monkeypatch.setattr(sets, "can_view", lambda actor, person: True)
    monkeypatch.setattr(bonus_items, "can_read", lambda actor, item: True)
    username = demo_account(session, "staff", unit_code=OTHER_UNIT).username
    login(client, username)
    _, problems = _walk(client, app, world, username, api=False, role="staff")
    assert any(f"GET /indicators/sets/{world.set_id} " in p for p in problems), problems
    assert any(f"GET /bonus/items/{world.ids['bonus_item_id'][0]} " in p for p in problems), problems
