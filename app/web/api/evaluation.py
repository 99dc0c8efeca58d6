"""Comprehensive evaluation (综合测评) endpoints of /api/v1.

A rater's work is a task (form ``evaluation_rating``): list it with ``GET /tasks`` and submit the
whole sheet with ``POST /tasks/<id>/complete`` and ``{"ratings": [{ratee_id, scores, comments}]}``.
The endpoints here open and close rounds, show completion (no scores), read and save the caller's
own draft sheet, and give the caller their own result (aggregates only, once the round is closed).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app, jsonify, request

from app.extensions import current_session
from app.models import EvaluationRound
from app.services.appraisal import evaluation, evaluation_flow, evaluation_views
from app.services.errors import T_, Invalid
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, register_paths
from app.web.params import is_id


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def round_json(row: EvaluationRound) -> dict[str, Any]:
    return {
        "id": row.id,
        "unit": {"id": row.unit_id, "name": row.unit.name},
        "period": row.period,
        "status": row.status.value,
        "closes_on": row.closes_on.isoformat() if row.closes_on else None,
        "opened_at": row.opened_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def _unit_id(raw: object) -> int:
    unit_id = raw if raw is not None else current_actor().unit_id
    if not is_id(unit_id):
        raise Invalid(T_("Send unit_id as an integer."), {"unit_id": T_("Required, an integer.")})
    return unit_id


def _closes_on(raw: object) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise Invalid(T_("closes_on must be a date like 2026-12-31."), {"closes_on": T_("Not a date.")}) from None


@bp.get("/evaluation/rounds")
@token_required
def list_rounds() -> Any:
    rows = evaluation.rounds_for(current_session(), current_actor(), _unit_id(request.args.get("unit_id", type=int)))
    return jsonify({"items": [round_json(r) for r in rows], "total": len(rows)})


@bp.post("/evaluation/rounds")
@token_required
def open_round() -> Any:
    body = json_body()
    outcome = evaluation.open_round(
        current_session(),
        current_actor(),
        _unit_id(body.get("unit_id")),
        body.get("period"),  # type: ignore[arg-type]  # validated by the service
        _closes_on(body.get("closes_on")),
        max_peers=int(current_app.config["EVALUATION_MAX_PEERS"]),
    )
    body_out = {
        **round_json(outcome.round),
        "created": outcome.created,
        "assignments": outcome.assignments,
        "raters": outcome.raters,
        "processes_opened": outcome.processes_opened,
    }
    return jsonify(body_out), 201 if outcome.created else 200


@bp.post("/evaluation/rounds/<int:round_id>/close")
@token_required
def close_round(round_id: int) -> Any:
    return jsonify(round_json(evaluation.close_round(current_session(), current_actor(), round_id)))


@bp.get("/evaluation/rounds/<int:round_id>/completion")
@token_required
def round_completion(round_id: int) -> Any:
    state = evaluation_views.completion(current_session(), current_actor(), round_id)
    return jsonify(
        {
            "round": round_json(state.round),
            "raters_total": len(state.raters),
            "raters_done": state.done,
            "percent": state.percent,
            "raters": [
                {
                    "person": {"id": r.person_id, "name": r.name},
                    "section": r.section,
                    "ratees": r.ratees,
                    "submitted": r.done,
                    "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
                }
                for r in state.raters
            ],
        }
    )


def sheet_json(sheet: evaluation_flow.Sheet) -> dict[str, Any]:
    return {
        "period": sheet.period,
        "editable": sheet.editable,
        "submitted": sheet.submitted,
        "closes_on": sheet.closes_on.isoformat() if sheet.closes_on else None,
        "ratings": [
            {
                "ratee_id": r.ratee_id,
                "name": r.ratee_name,
                "section": r.section,
                "group": r.group,
                "scores": {d: _dec(v) for d, v in r.scores.items()},
                "comments": r.comments,
            }
            for r in sheet.rows
        ],
    }


@bp.get("/evaluation/ratings/<period>")
@token_required
def my_sheet(period: str) -> Any:
    actor = current_actor()
    if actor.person_id is None:
        raise Invalid(T_("This account has no person; it rates nobody."))
    return jsonify(sheet_json(evaluation_flow.rater_sheet(current_session(), actor, actor.person_id, period)))


@bp.put("/evaluation/ratings/<period>")
@token_required
def save_draft(period: str) -> Any:
    sheet = evaluation_flow.save_ratings(current_session(), current_actor(), period, json_body(), submit=False)
    return jsonify(sheet_json(sheet))


@bp.get("/evaluation/results/<period>")
@token_required
def my_result(period: str) -> Any:
    view = evaluation_views.my_result(current_session(), current_actor(), period)
    result = view.result
    return jsonify(
        {
            "period": view.period,
            "round_id": view.round.id,
            "score": _dec(result.score) if result else None,
            "by_dimension": {d: _dec(v) for d, v in result.by_dimension.items()} if result else {},
            "raters_done": result.raters_done if result else 0,
            "raters_total": result.raters_total if result else 0,
            "missing_groups": list(result.missing_groups) if result else [],
            "merged": view.merged,
            "details_withheld": view.details_withheld,
            "min_group_size": view.min_group_size,
            "groups": [
                {
                    "group": g.key,
                    "raters": g.raters,
                    "score": _dec(g.score),
                    "by_dimension": {d: _dec(v) for d, v in g.by_dimension.items()},
                }
                for g in view.groups
            ],
            "comments": [{"dimension": d, "text": t} for d, t in view.comments],
        }
    )


_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_obj = {"type": "object"}
_round_id = {"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_period = {"name": "period", "in": "path", "required": True, "schema": {"type": "string", "example": "2026-Q4"}}
_sheet_body = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "ratings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ratee_id"],
                            "properties": {
                                "ratee_id": {"type": "integer"},
                                "scores": {"type": "object", "description": "de, neng, qin, ji, lian: 0–100"},
                                "comments": {"type": "object"},
                            },
                        },
                    }
                },
            }
        }
    },
}

register_paths(
    {
        "/evaluation/rounds": {
            "get": {
                "summary": "A unit's evaluation rounds (unit admin, office)",
                "tags": ["evaluation"],
                "parameters": [{"name": "unit_id", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": json_response("Rounds", _obj), **_common},
            },
            "post": {
                "summary": "Open a unit's evaluation round for a period; idempotent per (unit, period)",
                "description": "Starts one rating task per rater. 201 when created, 200 when it already existed.",
                "tags": ["evaluation"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["period"],
                                "properties": {
                                    "unit_id": {"type": "integer"},
                                    "period": {"type": "string", "example": "2026-Q4"},
                                    "closes_on": {"type": "string", "format": "date"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": json_response("The new round", _obj),
                    "200": json_response("The round that already existed", _obj),
                    **_common,
                    "422": error_response("Bad period for the unit's scheme"),
                },
            },
        },
        "/evaluation/rounds/{round_id}/close": {
            "post": {
                "summary": "Close a round: no more ratings, results final",
                "tags": ["evaluation"],
                "parameters": [_round_id],
                "responses": {"200": json_response("The round", _obj), **_common, "409": error_response("Closed")},
            }
        },
        "/evaluation/rounds/{round_id}/completion": {
            "get": {
                "summary": "Who has submitted and who not (no scores)",
                "tags": ["evaluation"],
                "parameters": [_round_id],
                "responses": {"200": json_response("Completion per rater", _obj), **_common},
            }
        },
        "/evaluation/ratings/{period}": {
            "get": {
                "summary": "The caller's own rating sheet of the period (drafts and submitted ratings)",
                "tags": ["evaluation"],
                "parameters": [_period],
                "responses": {"200": json_response("The sheet", _obj), **_common},
            },
            "put": {
                "summary": "Save the caller's ratings as a draft (submit through the task)",
                "tags": ["evaluation"],
                "parameters": [_period],
                "requestBody": _sheet_body,
                "responses": {
                    "200": json_response("The sheet", _obj),
                    **_common,
                    "409": error_response("No open round, or already submitted"),
                    "422": error_response("A score out of range, named by person and dimension"),
                },
            },
        },
        "/evaluation/results/{period}": {
            "get": {
                "summary": "The caller's own evaluation result: aggregates only, once the round is closed",
                "tags": ["evaluation"],
                "parameters": [_period],
                "responses": {
                    "200": json_response("The result", _obj),
                    **_common,
                    "409": error_response("The round is still open"),
                },
            }
        },
    }
)
