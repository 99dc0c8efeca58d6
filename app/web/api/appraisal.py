"""Appraisal endpoints of /api/v1: weekly logs, a section's log overview, appraisal records.

The summary, scoring, review and feedback steps are completed through ``/tasks/<id>/complete``;
``GET /tasks/<id>`` describes their fields and adds the record and the period's logs to ``data``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import current_session
from app.models import Person, WeeklyLog
from app.services.appraisal import common, logs, records, weeks
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths


def _week_json(person: Person, week: str, log: WeeklyLog | None) -> dict[str, Any]:
    today = common.local_today()
    state = weeks.person_weeks(current_session(), person.id, [week], today)[0]
    return {
        "person": {"id": person.id, "name": person.name},
        **state.as_json(),
        "entries": [logs.entry_dict(e) for e in (log.entries if log is not None else [])],
        "comments": [logs.comment_dict(c) for c in (log.comments if log is not None else [])],
        "items": [
            {"id": i.id, "category": i.category.value, "name": i.name}
            for i in logs.linkable_items(current_session(), person.id, week)
        ],
    }


def _week_arg(body: dict[str, Any] | None = None) -> str:
    value = request.args.get("week") or (body or {}).get("week") or common.week_of(common.local_today())
    return common.check_week(value)


@bp.get("/logs")
@token_required
def get_logs() -> Any:
    actor = current_actor()
    week = _week_arg()
    person, log = logs.read_week(current_session(), actor, request.args.get("person_id", type=int), week)
    return jsonify(_week_json(person, week, log))


@bp.post("/logs")
@token_required
def save_logs() -> Any:
    actor = current_actor()
    body = json_body()
    week = _week_arg(body)
    log = logs.save_week(current_session(), actor, week, body.get("entries"))
    return jsonify(_week_json(log.person, week, log))


@bp.get("/logs/section/<int:section_id>")
@token_required
def section_logs(section_id: int) -> Any:
    count = request.args.get("weeks", 4, type=int)
    overview = weeks.section_overview(current_session(), current_actor(), section_id, count, common.local_today())
    return jsonify(
        {
            "section": {"id": overview.section.id, "name": overview.section.name},
            "weeks": overview.weeks,
            "counts": overview.counts,
            "people": [
                {"id": p.id, "name": p.name, "weeks": [s.as_json() for s in states]} for p, states in overview.rows
            ],
        }
    )


@bp.get("/appraisals")
@token_required
def list_appraisals() -> Any:
    found = records.list_records(
        current_session(), current_actor(), request.args.get("person_id", type=int), request.args.get("year", type=int)
    )
    return jsonify({"items": [records.record_dict(r) for r in found], "total": len(found)})


@bp.get("/appraisals/<int:record_id>")
@token_required
def get_appraisal(record_id: int) -> Any:
    return jsonify(records.record_dict(records.get_record(current_session(), current_actor(), record_id)))


_entry_in = {
    "type": "object",
    "required": ["content"],
    "properties": {
        "id": {"type": ["integer", "null"], "description": "An entry of this week to keep (with its evidence)"},
        "item_id": {"type": ["integer", "null"], "description": "An item of the effective set; null: other work"},
        "content": {"type": "string", "maxLength": 2000},
        "progress": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
    },
}
_week_state: dict[str, Any] = {
    "type": "object",
    "properties": {
        "week": {"type": "string", "example": "2026-W47"},
        "status": {"type": "string", "enum": list(weeks.STATUSES)},
        "entries": {"type": "integer"},
        "first_written_at": {"type": ["string", "null"], "format": "date-time"},
        "deadline": {"type": "string", "format": "date"},
    },
}
_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_week_q = {"name": "week", "in": "query", "schema": {"type": "string"}, "description": "ISO week; default: this one"}
register_paths(
    {
        "/logs": {
            "get": {
                "summary": "A week's log (default: the caller's, this week); leaders may pass person_id",
                "tags": ["appraisal"],
                "parameters": [_week_q, {"name": "person_id", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": json_response("The week", ref("WeekLog")), **_common},
            },
            "post": {
                "summary": "Replace the caller's entries of a week (entries with an id are kept and updated)",
                "tags": ["appraisal"],
                "parameters": [_week_q],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["entries"],
                                "properties": {
                                    "week": {"type": "string"},
                                    "entries": {"type": "array", "items": _entry_in},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response("Saved", ref("WeekLog")),
                    **_common,
                    "409": error_response("The week belongs to an archived appraisal"),
                    "422": error_response("Entries that cannot be saved, or a future week"),
                },
            },
        },
        "/logs/section/{section_id}": {
            "get": {
                "summary": "People of a section × recent weeks: on time, late, missing (heads and leaders)",
                "tags": ["appraisal"],
                "parameters": [
                    {"name": "section_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "weeks", "in": "query", "schema": {"type": "integer", "default": 4, "maximum": 26}},
                ],
                "responses": {
                    "200": json_response("The overview", ref("SectionLogs")),
                    **_common,
                    "404": error_response("No such section"),
                },
            }
        },
        "/appraisals": {
            "get": {
                "summary": "A person's appraisal records (default: the caller's)",
                "tags": ["appraisal"],
                "parameters": [
                    {"name": "person_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "year", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": json_response(
                        "Records",
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": ref("AppraisalRecord")},
                                "total": {"type": "integer"},
                            },
                        },
                    ),
                    **_common,
                    "404": error_response("No such person"),
                },
            }
        },
        "/appraisals/{record_id}": {
            "get": {
                "summary": "One appraisal record: summary, item scores and formula, review, feedback, appeals",
                "tags": ["appraisal"],
                "responses": {
                    "200": json_response("The record", ref("AppraisalRecord")),
                    **_common,
                    "404": error_response("No such record"),
                },
            }
        },
    },
    {
        "WeekLog": {
            "type": "object",
            "properties": {
                "person": {"type": "object"},
                **_week_state["properties"],
                "entries": {"type": "array", "items": _entry_in},
                "comments": {"type": "array", "items": {"type": "object"}},
                "items": {"type": "array", "items": {"type": "object"}, "description": "Indicators to link to"},
            },
        },
        "WeekState": _week_state,
        "SectionLogs": {
            "type": "object",
            "properties": {
                "section": {"type": "object"},
                "weeks": {"type": "array", "items": {"type": "string"}},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                "people": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "name": {"type": "string"},
                            "weeks": {"type": "array", "items": ref("WeekState")},
                        },
                    },
                },
            },
        },
        "AppraisalRecord": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "person": {"type": "object"},
                "period": {"type": "string"},
                "instance_id": {"type": "integer"},
                "status": {"type": "string", "enum": ["summary", "scoring", "review", "feedback", "archived"]},
                "summary": {"type": ["string", "null"]},
                "plan": {"type": ["string", "null"]},
                "score_mode": {"type": ["string", "null"], "enum": ["items", "overall", None]},
                "score": {"type": ["number", "null"]},
                "score_formula": {"type": "string"},
                "score_comment": {"type": ["string", "null"]},
                "justification": {"type": ["string", "null"]},
                "items": {"type": "array", "items": {"type": "object"}},
                "review": {"type": "object"},
                "adjusted_score": {"type": ["number", "null"]},
                "adjust_reason": {"type": ["string", "null"]},
                "final_score": {"type": ["number", "null"]},
                "feedback_at": {"type": ["string", "null"], "format": "date-time"},
                "appeal_deadline": {"type": ["string", "null"], "format": "date-time"},
                "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
                "appeals": {"type": "array", "items": {"type": "object"}},
                "archived_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
    },
)
