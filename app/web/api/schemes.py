"""Scoring scheme endpoints of /api/v1 (考核方案): the district default and a unit's override of a year.

``GET`` answers the scheme that applies (with its source: unit, district or built-in) and the
version to send back; ``PUT`` saves the settings given (the others keep their values) and refuses
a stale ``version`` with 409; ``DELETE`` removes a unit's override.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import current_session
from app.services.appraisal import scheme as schemes
from app.services.errors import T_, Invalid, NotFound
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths


def _check_year(raw: object = None) -> int:
    value = request.args.get("year", "") if raw is None else raw
    year = int(value) if isinstance(value, str) and value.isdigit() else value
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid(T_("The year must be between 2000 and 2100."), {"year": T_("Out of range.")})
    return year


def _view(unit_id: int | None, year: int) -> dict[str, Any]:
    session = current_session()
    found = schemes.effective_scheme(session, unit_id, year)
    own = found.row is not None and found.year == year and found.source == ("unit" if unit_id else "district")
    out: dict[str, Any] = {
        "unit_id": unit_id,
        "year": year,
        "source": found.source,
        "source_year": found.year,
        "version": found.row.version if own and found.row is not None else 0,
        "scheme": schemes.as_json(found.scheme),
    }
    if unit_id is not None:
        district = schemes.to_dict(schemes.scheme_for(session, None, year))
        mine = schemes.to_dict(found.scheme)
        out["differs_from_district"] = sorted(k for k in mine if mine[k] != district[k])
    return out


def _data(body: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    data = body.get("scheme", {k: v for k, v in body.items() if k != "version"})
    if not isinstance(data, dict):
        raise Invalid(T_("Send the settings as a JSON object."))
    veto = data.get("veto_items")
    if isinstance(veto, list):  # the GET shape: [{key, label}]
        data = {**data, "veto_items": {str(v.get("key")): v.get("label") for v in veto if isinstance(v, dict)}}
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise Invalid(T_("Send version as a number."), {"version": T_("A number.")})
    return data, version


def _unit_check(unit_id: int) -> None:
    from app.services.appraisal.results import get_unit

    get_unit(current_session(), unit_id)


@bp.get("/schemes/district")
@token_required
def get_district_scheme() -> Any:
    return jsonify(_view(None, _check_year()))


@bp.put("/schemes/district")
@token_required
def put_district_scheme() -> Any:
    year = _check_year()
    data, version = _data(json_body())
    schemes.save_scheme(current_session(), current_actor(), None, year, data, version)
    return jsonify(_view(None, year))


@bp.get("/schemes/units/<int:unit_id>")
@token_required
def get_unit_scheme(unit_id: int) -> Any:
    _unit_check(unit_id)
    actor = current_actor()
    from app.services.appraisal.results import may_read_unit

    if not may_read_unit(actor, unit_id):
        schemes.check_may_edit(actor, unit_id)
    return jsonify(_view(unit_id, _check_year()))


@bp.put("/schemes/units/<int:unit_id>")
@token_required
def put_unit_scheme(unit_id: int) -> Any:
    year = _check_year()
    data, version = _data(json_body())
    schemes.save_scheme(current_session(), current_actor(), unit_id, year, data, version)
    return jsonify(_view(unit_id, year))


@bp.delete("/schemes/units/<int:unit_id>")
@token_required
def delete_unit_scheme(unit_id: int) -> Any:
    year = _check_year()
    if not schemes.delete_override(current_session(), current_actor(), unit_id, year):
        raise NotFound(T_("The unit has no override for this year."))
    return jsonify(_view(unit_id, year))


_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_year = {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}}
_unit = {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_put_body = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer", "description": "The version read; 0 when there was no row yet"},
                    "scheme": {"type": "object", "description": "Settings to change (as GET returns them)"},
                },
            }
        }
    },
}
_put = {
    "requestBody": _put_body,
    "responses": {
        "200": json_response("The saved scheme", ref("SchemeView")),
        **_common,
        "409": error_response("Someone else saved the scheme since it was read (stale version)"),
        "422": error_response("Invalid settings; fields names each bad one"),
    },
}
register_paths(
    {
        "/schemes/district": {
            "get": {
                "summary": "The district default scheme of a year",
                "tags": ["schemes"],
                "parameters": [_year],
                "responses": {"200": json_response("Scheme", ref("SchemeView")), **_common},
            },
            "put": {
                "summary": "Save the district default (performance office)",
                "tags": ["schemes"],
                "parameters": [_year],
                **_put,
            },
        },
        "/schemes/units/{unit_id}": {
            "get": {
                "summary": "The scheme that applies to a unit in a year, and what differs from the district",
                "tags": ["schemes"],
                "parameters": [_unit, _year],
                "responses": {
                    "200": json_response("Scheme", ref("SchemeView")),
                    **_common,
                    "404": error_response("No such unit"),
                },
            },
            "put": {
                "summary": "Save the unit's override (unit admin or office)",
                "tags": ["schemes"],
                "parameters": [_unit, _year],
                **_put,
            },
            "delete": {
                "summary": "Remove the unit's override (the district default applies again)",
                "tags": ["schemes"],
                "parameters": [_unit, _year],
                "responses": {
                    "200": json_response("Scheme", ref("SchemeView")),
                    **_common,
                    "404": error_response("No override"),
                },
            },
        },
    },
    {
        "SchemeView": {
            "type": "object",
            "properties": {
                "unit_id": {"type": ["integer", "null"]},
                "year": {"type": "integer"},
                "source": {"type": "string", "enum": ["unit", "district", "builtin"]},
                "source_year": {"type": "integer"},
                "version": {"type": "integer"},
                "scheme": {"type": "object"},
                "differs_from_district": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
)
