"""Bonus and deduction endpoints of /api/v1 (绩优加分/绩差扣分): items, their evidence, counted points.

The check, revision and approval steps are completed through ``/tasks/<id>/complete`` (forms
``bonus_check``, ``bonus_revise``, ``bonus_decide``); ``GET /tasks/<id>`` adds the item and the
person's counted points of the quarter to ``data``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request, send_file

from app.extensions import current_session
from app.services import evidence
from app.services.appraisal import bonus, bonus_access, bonus_flow, bonus_items, common
from app.services.errors import T_, Invalid
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.web.params import is_id


def _store() -> Path:
    return Path(current_app.instance_path) / "evidence"


def _max_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


@bp.get("/bonus-items")
@token_required
def list_bonus_items() -> Any:
    filters = bonus_items.ItemFilters(
        person_id=request.args.get("person_id", type=int),
        unit_id=request.args.get("unit_id", type=int),
        section_id=request.args.get("section_id", type=int),
        period=request.args.get("period") or None,
        kind=request.args.get("kind") or None,
        status=request.args.get("status") or None,
    )
    rows = bonus_items.list_items(current_session(), current_actor(), filters)
    return jsonify({"items": [bonus_items.item_dict(i) for i in rows], "total": len(rows)})


@bp.post("/bonus-items")
@token_required
def create_bonus_item() -> Any:
    actor = current_actor()
    body = json_body()
    person_id = body.get("person_id", actor.person_id)
    if not is_id(person_id):
        raise Invalid(T_("Give person_id as a number."), {"person_id": T_("Unknown person.")})
    data = {k: body.get(k) for k in ("kind", "points", "occurred_on", "reason")}
    result = bonus_items.propose(current_session(), actor, person_id, data, common.local_today())
    out = bonus_items.item_dict(result.item)
    out["warning"] = result.warning
    return jsonify(out), 201


@bp.get("/bonus-items/<int:item_id>")
@token_required
def get_bonus_item(item_id: int) -> Any:
    session = current_session()
    item = bonus_items.get_item(session, current_actor(), item_id)
    out = bonus_items.item_dict(item)
    out["counted"] = bonus_flow.points_json(
        bonus.counted_points(session, item.person_id, bonus.quarter_of(item.occurred_on))
    )
    out["history"] = [
        {
            "step": e.step_id,
            "name": e.step_name,
            "kind": e.kind,
            "by": e.actor.name if e.actor else None,
            "at": e.at.isoformat(),
            "decision": e.decision,
            "comment": e.comment,
        }
        for e in bonus_items.history(session, item)
    ]
    return jsonify(out)


@bp.post("/bonus-items/<int:item_id>/evidence")
@token_required
def upload_bonus_evidence(item_id: int) -> Any:
    file = request.files.get("evidence")
    if file is None or not file.filename:
        raise Invalid(T_("Send the file as multipart/form-data in the field 'evidence'."), {"evidence": T_("No file.")})
    upload = evidence.Upload(file.filename, file.read())
    row = bonus_items.add_evidence(current_session(), current_actor(), item_id, upload, _store(), _max_bytes())
    return jsonify({"id": row.id, "name": row.display_name, "size": row.size, "mimetype": row.mimetype}), 201


@bp.get("/bonus-evidence/<int:evidence_id>")
@token_required
def download_bonus_evidence(evidence_id: int) -> Any:
    path, name, mimetype = bonus_items.evidence_file(current_session(), current_actor(), evidence_id, _store())
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)


@bp.get("/people/<int:person_id>/counted-points")
@token_required
def counted_points(person_id: int) -> Any:
    """A person's counted points of a quarter: for those who may see the person's items."""
    session = current_session()
    actor = current_actor()
    person = common.person_of(session, person_id)
    quarter = bonus.check_quarter(request.args.get("quarter") or bonus.quarter_of(common.local_today()))
    bonus_access.check_may_see_person(session, actor, person)
    return jsonify(
        {
            "person": {"id": person.id, "name": person.name},
            **bonus_flow.points_json(bonus.counted_points(session, person.id, quarter)),
        }
    )


_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_id = {"in": "path", "required": True, "schema": {"type": "integer"}}
_num = {"type": "number"}
_points = {
    "type": "object",
    "properties": {
        "quarter": {"type": "string", "example": "2026-Q4"},
        "bonus_raw": _num,
        "bonus_counted": _num,
        "deduction_raw": _num,
        "deduction_counted": _num,
        "net": _num,
        "bonus_cap_period": _num,
        "bonus_cap_year": _num,
        "deduction_cap_period": {"type": ["number", "null"]},
        "year_bonus_counted": _num,
        "capped_note": {"type": ["string", "null"], "description": "How many points over a cap are not counted"},
        "item_ids": {"type": "array", "items": {"type": "integer"}},
    },
}
_kinds = list(bonus_items.KINDS)
_item = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "person": {"type": "object"},
        "unit_id": {"type": "integer"},
        "section_id": {"type": ["integer", "null"]},
        "kind": {"type": "string", "enum": _kinds},
        "direction": {"type": "string", "enum": ["bonus", "deduction"]},
        "points": _num,
        "quarter": {"type": "string"},
        "occurred_on": {"type": "string", "format": "date"},
        "reason": {"type": "string"},
        "status": {"type": "string", "enum": ["proposed", "in_review", "approved", "rejected", "withdrawn"]},
        "proposed_by": {"type": "object"},
        "proposed_at": {"type": "string", "format": "date-time"},
        "check_comment": {"type": ["string", "null"]},
        "decision_comment": {"type": ["string", "null"]},
        "decided_by": {"type": ["object", "null"]},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "instance_id": {"type": ["integer", "null"]},
        "evidence": {"type": "array", "items": {"type": "object"}},
        "warning": {"type": ["string", "null"], "description": "On creation: the person already reached a cap"},
        "counted": ref("CountedPoints"),
    },
}
register_paths(
    {
        "/bonus-items": {
            "get": {
                "summary": "Bonus and deduction items the caller may see, newest first",
                "tags": ["bonus"],
                "parameters": [
                    {"name": "person_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "unit_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "section_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "period", "in": "query", "schema": {"type": "string"}, "description": "2026 or 2026-Q4"},
                    {"name": "kind", "in": "query", "schema": {"type": "string", "enum": _kinds}},
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": json_response(
                        "Items",
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ref("BonusItem")}, "total": _num},
                        },
                    ),
                    **_common,
                    "422": error_response("A malformed filter"),
                },
            },
            "post": {
                "summary": "Propose an item (own bonus, or a section head's bonus or deduction for a member)",
                "tags": ["bonus"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["kind", "points", "occurred_on", "reason"],
                                "properties": {
                                    "person_id": {"type": "integer", "description": "Default: the caller"},
                                    "kind": {"type": "string", "enum": _kinds},
                                    "points": _num,
                                    "occurred_on": {"type": "string", "format": "date"},
                                    "reason": {"type": "string", "maxLength": 2000},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": json_response("Proposed; the process started", ref("BonusItem")),
                    **_common,
                    "404": error_response("No such person"),
                    "422": error_response("Fields that need attention"),
                },
            },
        },
        "/bonus-items/{item_id}": {
            "get": {
                "summary": "One item with the person's counted points of its quarter and the process history",
                "tags": ["bonus"],
                "parameters": [{"name": "item_id", **_id}],
                "responses": {
                    "200": json_response("The item", ref("BonusItem")),
                    **_common,
                    "404": error_response("No such item"),
                },
            }
        },
        "/bonus-items/{item_id}/evidence": {
            "post": {
                "summary": "Attach an evidence file (multipart field 'evidence') to an open item",
                "tags": ["bonus"],
                "parameters": [{"name": "item_id", **_id}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["evidence"],
                                "properties": {"evidence": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {
                    "201": json_response("Attached", {"type": "object"}),
                    **_common,
                    "404": error_response("No such item"),
                    "409": error_response("The item is decided"),
                    "422": error_response("Empty, too large or not an accepted type"),
                },
            }
        },
        "/bonus-evidence/{evidence_id}": {
            "get": {
                "summary": "Download an evidence file of an item the caller may see",
                "tags": ["bonus"],
                "parameters": [{"name": "evidence_id", **_id}],
                "responses": {
                    "200": {"description": "The file", "content": {"application/octet-stream": {}}},
                    **_common,
                    "404": error_response("No such evidence"),
                },
            }
        },
        "/people/{person_id}/counted-points": {
            "get": {
                "summary": "A person's approved bonus and deduction points of a quarter, as counted within the caps",
                "tags": ["bonus"],
                "parameters": [
                    {"name": "person_id", **_id},
                    {"name": "quarter", "in": "query", "schema": {"type": "string"}, "description": "Default: now"},
                ],
                "responses": {
                    "200": json_response("Counted points", ref("CountedPoints")),
                    **_common,
                    "404": error_response("No such person"),
                    "422": error_response("A malformed quarter"),
                },
            }
        },
    },
    {"BonusItem": _item, "CountedPoints": _points},
)
