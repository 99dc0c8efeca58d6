"""Results endpoints of /api/v1: a unit's quarter or annual results, computing, confirming, veto items.

``?period=`` is a quarter (``2026-Q4``) or a year (``2026``). Confirming over the top-grade quota
answers 409 with ``candidates`` (person_id, name, total, rank, tie, suggested) and ``cap``; send
``choices`` ({person_id: grade}) naming who keeps the top grade to confirm.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, jsonify, request

from app.extensions import current_session
from app.models import PeriodResult, VetoRecord
from app.services.appraisal import annual, differentiation, grading, results
from app.services.errors import T_, Invalid
from app.services.periods import period_kind
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.web.params import is_id


def result_json(r: PeriodResult) -> dict[str, Any]:
    def n(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "id": r.id,
        "unit_id": r.unit_id,
        "person_id": r.person_id,
        "name": r.person.name,
        "period": r.period,
        "kind": r.kind.value,
        "indicator_score": n(r.indicator_score),
        "evaluation_score": n(r.evaluation_score),
        "bonus_points": n(r.bonus_points),
        "deduction_points": n(r.deduction_points),
        "total": str(r.total),
        "computed_grade": r.computed_grade,
        "grade": r.grade,
        "rule": r.rule,
        "rules": results.detail(r),
        "formula": r.formula,
        "sources": results.sources(r),
        "status": r.status.value,
        "confirmed_at": r.confirmed_at.isoformat() if r.confirmed_at else None,
    }


def veto_json(v: VetoRecord) -> dict[str, Any]:
    return {
        "id": v.id,
        "person_id": v.person_id,
        "unit_id": v.unit_id,
        "year": v.year,
        "item": v.item,
        "label": v.item_label,
        "reason": v.reason,
        "occurred_on": v.occurred_on.isoformat() if v.occurred_on else None,
        "recorded_at": v.recorded_at.isoformat(),
        "withdrawn_at": v.withdrawn_at.isoformat() if v.withdrawn_at else None,
        "withdraw_reason": v.withdraw_reason,
    }


def _period() -> str:
    period = request.args.get("period", "")
    if period_kind(period) not in ("quarter", "year"):
        raise Invalid(T_("Give a quarter (2026-Q4) or a year (2026)."), {"period": T_("A quarter or a year.")})
    return period


@bp.get("/results/units/<int:unit_id>")
@token_required
def get_results(unit_id: int) -> Any:
    session, actor = current_session(), current_actor()
    period = _period()
    results.get_unit(session, unit_id)
    results.check_may_read(actor, unit_id)
    q, found = grading.grading_state(session, unit_id, period)
    out: dict[str, Any] = {
        "unit_id": unit_id,
        "period": period,
        "results": [result_json(r) for r in results.period_results(session, unit_id, period)],
        "quota": {
            "top_grade": q.top_grade,
            "share": str(q.share),
            "graded": q.graded,
            "cap": q.cap,
            "holders": q.holders,
        },
        "candidates": [c.as_dict() for c in found],
    }
    if period_kind(period) == "quarter":
        out["missing"] = [
            {"person_id": m.person_id, "name": m.name, "months": list(m.months), "has_result": m.has_result}
            for m in results.missing_people(session, unit_id, period)
        ]
    return jsonify(out)


@bp.post("/results/units/<int:unit_id>/compute")
@token_required
def compute_results(unit_id: int) -> Any:
    session, actor = current_session(), current_actor()
    period = _period()
    if period_kind(period) == "quarter":
        rows = results.compute_period_results(session, actor, unit_id, period)
    else:
        rows = annual.compute_annual_results(session, actor, unit_id, int(period))
    return jsonify({"unit_id": unit_id, "period": period, "results": [result_json(r) for r in rows]})


@bp.post("/results/units/<int:unit_id>/confirm")
@token_required
def confirm_results(unit_id: int) -> Any:
    period = _period()
    body = request.get_json(silent=True) or {}
    choices = body.get("choices") if isinstance(body, dict) else None
    if choices is not None and not isinstance(choices, dict):
        raise Invalid(T_("Send choices as an object {person_id: grade}."), {"choices": T_("An object.")})
    rows = grading.confirm_grades(current_session(), current_actor(), unit_id, period, choices)
    return jsonify({"unit_id": unit_id, "period": period, "results": [result_json(r) for r in rows]})


@bp.get("/results/mine")
@token_required
def my_results() -> Any:
    actor = current_actor()
    rows = results.results_of_person(current_session(), actor.person_id) if actor.person_id else []
    return jsonify({"results": [result_json(r) for r in rows]})


@bp.get("/results/flags")
@token_required
def scoring_flags() -> Any:
    limits = differentiation.Thresholds.from_config(current_app.config)
    found = differentiation.flags(
        current_session(),
        current_actor(),
        request.args.get("period", ""),
        limits,
        request.args.get("unit_id", type=int),
    )
    return jsonify(
        {
            "flags": [
                {
                    "unit_id": f.unit_id,
                    "period": f.period,
                    "reviewer_id": f.reviewer_id,
                    "reviewer": f.figures.reviewer_name,
                    "scored": f.figures.scored,
                    "full_share": round(f.figures.full_share, 4),
                    "spread": f.figures.spread,
                    "equal_share": round(f.figures.equal_share, 4),
                    "reasons": [str(r) for r in f.reasons],
                }
                for f in found
            ]
        }
    )


@bp.get("/vetoes")
@token_required
def list_vetoes() -> Any:
    unit_id = request.args.get("unit_id", type=int)
    if unit_id is None:
        raise Invalid(T_("Give unit_id and year."), {"unit_id": T_("Required.")})
    year = annual.check_year(request.args.get("year", ""))
    rows = annual.list_vetoes(current_session(), current_actor(), unit_id, year)
    return jsonify({"vetoes": [veto_json(v) for v in rows]})


@bp.post("/vetoes")
@token_required
def create_veto() -> Any:
    body = json_body()
    person_id = body.get("person_id")
    if not is_id(person_id):
        raise Invalid(T_("Give person_id as a number."), {"person_id": T_("Unknown person.")})
    raw_day = body.get("occurred_on")
    try:
        day = date.fromisoformat(raw_day) if isinstance(raw_day, str) and raw_day else None
    except ValueError as exc:
        raise Invalid(T_("The veto record has errors."), {"occurred_on": T_("A date like 2026-07-03.")}) from exc
    row = annual.record_veto(
        current_session(),
        current_actor(),
        person_id,
        annual.check_year(body.get("year")),
        str(body.get("item") or ""),
        str(body.get("reason") or ""),
        day,
    )
    return jsonify(veto_json(row)), 201


@bp.post("/vetoes/withdraw")
@token_required
def withdraw_veto() -> Any:
    body = json_body()
    veto_id = body.get("veto_id")
    if not is_id(veto_id):
        raise Invalid(T_("Give veto_id as a number."), {"veto_id": T_("A number.")})
    row = annual.withdraw_veto(current_session(), current_actor(), veto_id, str(body.get("reason") or ""))
    return jsonify(veto_json(row))


_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_unit = {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_per = {
    "name": "period",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "2026-Q4 or 2026",
}
_list = {"type": "object", "properties": {"results": {"type": "array", "items": ref("PeriodResult")}}}
_veto_body = {
    "type": "object",
    "required": ["person_id", "year", "item", "reason"],
    "properties": {
        "person_id": {"type": "integer"},
        "year": {"type": "integer"},
        "item": {"type": "string", "description": "A veto item key of the scheme"},
        "reason": {"type": "string"},
        "occurred_on": {"type": "string", "format": "date"},
    },
}
register_paths(
    {
        "/results/units/{unit_id}": {
            "get": {
                "summary": "A unit's results of a quarter or year, with the quota, candidates and missing months",
                "tags": ["results"],
                "parameters": [_unit, _per],
                "responses": {"200": json_response("Results", {"type": "object"}), **_common},
            }
        },
        "/results/units/{unit_id}/compute": {
            "post": {
                "summary": "Compute the drafts again: quarters from archived months, years from confirmed quarters",
                "tags": ["results"],
                "parameters": [_unit, _per],
                "responses": {
                    "200": json_response("Drafts", _list),
                    **_common,
                    "409": error_response("Already confirmed"),
                },
            }
        },
        "/results/units/{unit_id}/confirm": {
            "post": {
                "summary": "Confirm the grades within the top-grade quota",
                "tags": ["results"],
                "parameters": [_unit, _per],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "choices": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                        "description": "person_id → the top grade (keeps it) or the next one",
                                    }
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": json_response("Confirmed", _list),
                    **_common,
                    "409": error_response("Over the quota (candidates and cap given) or already confirmed"),
                    "422": error_response("A choice names a non-candidate or another grade"),
                },
            }
        },
        "/results/mine": {
            "get": {
                "summary": "The caller's confirmed results",
                "tags": ["results"],
                "responses": {"200": json_response("Results", _list), "401": error_response("No or bad token")},
            }
        },
        "/results/flags": {
            "get": {
                "summary": "Reviewers of a month whose scores do not differentiate (with the numbers)",
                "tags": ["results"],
                "parameters": [
                    {"name": "period", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "unit_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": json_response("Flags", {"type": "object"}), **_common},
            }
        },
        "/vetoes": {
            "get": {
                "summary": "Veto items (一票否决) of a unit and year",
                "tags": ["results"],
                "parameters": [
                    {"name": "unit_id", "in": "query", "required": True, "schema": {"type": "integer"}},
                    {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": {"200": json_response("Veto records", {"type": "object"}), **_common},
            },
            "post": {
                "summary": "Record a veto item against a person (unit admin or office; audited)",
                "tags": ["results"],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _veto_body}}},
                "responses": {
                    "201": json_response("Recorded", {"type": "object"}),
                    **_common,
                    "409": error_response("The annual result is confirmed"),
                    "422": error_response("Invalid item, reason or date"),
                },
            },
        },
        "/vetoes/withdraw": {
            "post": {
                "summary": "Withdraw a veto record (veto_id) with a reason",
                "tags": ["results"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"veto_id": {"type": "integer"}, "reason": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"200": json_response("Withdrawn", {"type": "object"}), **_common},
            }
        },
    },
    {
        "PeriodResult": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "person_id": {"type": "integer"},
                "period": {"type": "string"},
                "kind": {"type": "string", "enum": ["quarter", "year"]},
                "indicator_score": {"type": ["string", "null"]},
                "evaluation_score": {"type": ["string", "null"]},
                "bonus_points": {"type": ["string", "null"]},
                "deduction_points": {"type": ["string", "null"]},
                "total": {"type": "string"},
                "computed_grade": {"type": "string"},
                "grade": {"type": "string"},
                "rule": {"type": "string"},
                "rules": {"type": "array", "items": {"type": "object"}},
                "formula": {"type": "string"},
                "status": {"type": "string", "enum": ["draft", "confirmed"]},
            },
        }
    },
)
