"""Indicator-set endpoints of /api/v1: read sets with their versions, save a draft, adjust, open a unit."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import current_session, db
from app.models import IndicatorSet, IndicatorSetVersion, Person
from app.services.errors import T_, Forbidden, Invalid, NotFound
from app.services.indicators import flow, sets
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths


def version_json(v: IndicatorSetVersion, with_items: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": v.number,
        "kind": v.kind,
        "status": v.status.value,
        "reason": v.reason,
        "instance_id": v.instance_id,
        "created_at": v.created_at.isoformat(),
        "submitted_at": v.submitted_at.isoformat() if v.submitted_at else None,
        "effective_at": v.effective_at.isoformat() if v.effective_at else None,
    }
    if with_items:
        out["indicators"] = [sets.item_dict(i) for i in v.items]
    return out


def set_json(s: IndicatorSet, with_versions: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "person": {"id": s.person_id, "name": s.person.name},
        "year": s.year,
        "status": s.status.value,
        "effective_version": s.effective_version.number if s.effective_version else None,
        "lock_version": s.lock_version,
        "updated_at": s.updated_at.isoformat(),
    }
    if with_versions:
        out["versions"] = [version_json(v) for v in s.versions]
    return out


@bp.get("/indicator-sets")
@token_required
def list_indicator_sets() -> Any:
    actor = current_actor()
    person_id = request.args.get("person_id", type=int) or actor.person_id
    person = db.session.get(Person, person_id) if person_id else None
    if person is None:
        raise NotFound(T_("Person %(id)s does not exist.", id=person_id))
    if not sets.can_view(actor, person):
        raise Forbidden(T_("You may not see this person's indicators."))
    stmt = db.select(IndicatorSet).where(IndicatorSet.person_id == person.id).order_by(IndicatorSet.year.desc())
    if (year := request.args.get("year", type=int)) is not None:
        stmt = stmt.where(IndicatorSet.year == year)
    items = db.session.scalars(stmt).all()
    return jsonify({"items": [set_json(s) for s in items], "total": len(items)})


@bp.get("/indicator-sets/<int:set_id>")
@token_required
def get_indicator_set(set_id: int) -> Any:
    return jsonify(set_json(sets.get_set(current_session(), current_actor(), set_id), with_versions=True))


@bp.post("/indicator-sets/<int:set_id>/draft")
@token_required
def save_indicator_draft(set_id: int) -> Any:
    body = json_body()
    lock = body.get("lock_version")
    if lock is not None and not isinstance(lock, int):
        raise Invalid(T_("lock_version must be an integer."), {"lock_version": T_("Must be an integer.")})
    check = sets.save_draft(current_session(), current_actor(), set_id, body.get("indicators"), lock)
    s = sets.get_set(current_session(), current_actor(), set_id)
    return jsonify({**set_json(s, with_versions=True), "problems": check.all_errors()})


@bp.post("/indicator-sets/<int:set_id>/adjustments")
@token_required
def request_indicator_adjustment(set_id: int) -> Any:
    reason = json_body().get("reason")
    version = flow.request_adjustment(
        current_session(), current_actor(), set_id, reason if isinstance(reason, str) else ""
    )
    return jsonify(version_json(version)), 201


@bp.post("/units/<int:unit_id>/indicator-setting")
@token_required
def open_indicator_setting(unit_id: int) -> Any:
    year = json_body().get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid(T_("Send the year, e.g. 2027."), {"year": T_("A year such as 2027.")})
    summary = flow.open_for_unit(current_session(), current_actor(), unit_id, year)
    return jsonify({"opened": summary.opened, "already_open": summary.already_open, "skipped": summary.skipped})


_item = {
    "type": "object",
    "required": ["category", "name", "standard", "weight"],
    "properties": {
        "id": {"type": "integer"},
        "category": {"type": "string", "enum": ["key_work", "duties", "common", "temporary"]},
        "name": {"type": "string"},
        "standard": {"type": "string"},
        "weight": {"type": "number"},
        "method": {"type": "string"},
        "unit_task_id": {"type": ["integer", "null"]},
        "common_indicator_id": {"type": ["integer", "null"]},
        "locked": {"type": "boolean"},
        "review_comment": {"type": ["string", "null"]},
    },
}
_sid = [{"name": "set_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_common = {
    "401": error_response("No or bad token"),
    "403": error_response("Not allowed"),
    "404": error_response("No such set"),
}
register_paths(
    {
        "/indicator-sets": {
            "get": {
                "summary": "A person's indicator sets (default: the caller's)",
                "tags": ["indicators"],
                "parameters": [
                    {"name": "person_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "year", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": json_response("Sets", ref("IndicatorSetList")), **_common},
            }
        },
        "/indicator-sets/{set_id}": {
            "get": {
                "summary": "An indicator set with every version and its indicators",
                "tags": ["indicators"],
                "parameters": _sid,
                "responses": {"200": json_response("The set", ref("IndicatorSet")), **_common},
            }
        },
        "/indicator-sets/{set_id}/draft": {
            "post": {
                "summary": "Save the open draft without submitting it (refused if lock_version is stale)",
                "tags": ["indicators"],
                "parameters": _sid,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "indicators": {"type": "array", "items": _item},
                                    "lock_version": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response("Saved; problems lists rules not met yet", ref("IndicatorSet")),
                    **_common,
                    "409": error_response("Not being drafted, or saved by someone else meanwhile"),
                    "422": error_response("Rows that cannot be saved"),
                },
            }
        },
        "/indicator-sets/{set_id}/adjustments": {
            "post": {
                "summary": "Ask to adjust an effective set (动态调整); runs the same approval",
                "tags": ["indicators"],
                "parameters": _sid,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reason"],
                                "properties": {"reason": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": json_response("The new draft version", ref("IndicatorSetVersion")),
                    **_common,
                    "409": error_response("Not effective, or an adjustment is under way"),
                    "422": error_response("No reason given"),
                },
            }
        },
        "/units/{unit_id}/indicator-setting": {
            "post": {
                "summary": "Open indicator setting for every active person of a unit (idempotent)",
                "tags": ["indicators"],
                "parameters": [{"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["year"],
                                "properties": {"year": {"type": "integer"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response(
                        "What was opened",
                        {
                            "type": "object",
                            "properties": {
                                "opened": {"type": "integer"},
                                "already_open": {"type": "integer"},
                                "skipped": {"type": "object"},
                            },
                        },
                    ),
                    "401": error_response("No or bad token"),
                    "403": error_response("Not the unit's admin"),
                    "422": error_response("Bad year"),
                },
            }
        },
    },
    {
        "IndicatorItem": _item,
        "IndicatorSetVersion": {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "kind": {"type": "string", "enum": ["initial", "adjustment"]},
                "status": {"type": "string", "enum": ["draft", "in_review", "returned", "effective", "superseded"]},
                "reason": {"type": ["string", "null"]},
                "instance_id": {"type": ["integer", "null"]},
                "indicators": {"type": "array", "items": ref("IndicatorItem")},
            },
        },
        "IndicatorSet": {
            "type": "object",
            "required": ["id", "person", "year", "status"],
            "properties": {
                "id": {"type": "integer"},
                "person": {"type": "object"},
                "year": {"type": "integer"},
                "status": {"type": "string", "enum": ["drafting", "in_review", "returned", "effective"]},
                "effective_version": {"type": ["integer", "null"]},
                "lock_version": {"type": "integer"},
                "versions": {"type": "array", "items": ref("IndicatorSetVersion")},
            },
        },
        "IndicatorSetList": {
            "type": "object",
            "properties": {"items": {"type": "array", "items": ref("IndicatorSet")}, "total": {"type": "integer"}},
        },
    },
)
