"""Unit tasks and the responsibility matrix (责任矩阵表), read-only under /api/v1; documented in OpenAPI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, request

from app.extensions import current_session
from app.models import UnitTask, UnitTaskAssignment
from app.services.errors import Invalid
from app.services.indicators import matrix as matrix_service
from app.services.indicators import unit_tasks
from app.web.api import bp, current_actor, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.web.params import INT_MAX


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _int_arg(name: str, *, required: bool) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        if required:
            raise Invalid(f"Give {name} as a query parameter.", {name: "Required."})
        return None
    if not raw.isdigit() or int(raw) > INT_MAX:  # out of range would reach the database and fail there
        raise Invalid(f"{name} must be a whole number.", {name: "Must be an integer."})
    return int(raw)


def assignment_json(a: UnitTaskAssignment) -> dict[str, Any]:
    return {
        "id": a.id,
        "person": {"id": a.person_id, "name": a.person.name},
        "section_id": a.section_id,
        "role": a.role,
        "progress": a.progress,
        "last_update_at": _iso(a.last_update_at),
    }


def task_json(task: UnitTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "unit_id": task.unit_id,
        "year": task.year,
        "title": task.title,
        "description": task.description,
        "unit_indicator": task.unit_indicator,
        "deadline": _iso(task.deadline),
        "assignments": [assignment_json(a) for a in task.assignments],
    }


def _today() -> date:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _year() -> int:
    return _int_arg("year", required=False) or _today().year


@bp.get("/unit-tasks")
@token_required
def list_unit_tasks() -> Any:
    actor = current_actor()
    unit_id = _int_arg("unit_id", required=actor.unit_id is None) or actor.unit_id
    items = unit_tasks.list_tasks(current_session(), actor, unit_id or 0, _year())
    return jsonify({"items": [task_json(t) for t in items], "total": len(items)})


@bp.get("/unit-tasks/<int:task_id>")
@token_required
def get_unit_task(task_id: int) -> Any:
    actor = current_actor()
    task = unit_tasks.get_task(current_session(), actor, task_id)
    body = task_json(task)
    body["status"] = unit_tasks.status_of(unit_tasks.overall_progress(task), task.deadline, _today())
    body["progress_updates"] = [
        {
            "id": u.id,
            "assignment_id": a.id,
            "person_id": a.person_id,
            "progress": u.progress,
            "note": u.note,
            "by": {"id": u.by_id, "name": u.by.name},
            "at": u.at.isoformat(),
            "evidence_name": u.evidence_name,
        }
        for a in task.assignments
        for u in a.updates
    ]
    body["progress_updates"].sort(key=lambda u: u["at"], reverse=True)
    body["comments"] = [
        {
            "id": c.id,
            "assignment_id": c.assignment_id,
            "author": {"id": c.author_id, "name": c.author.name},
            "text": c.text,
            "at": c.at.isoformat(),
        }
        for c in task.comments
    ]
    return jsonify(body)


@bp.get("/matrix")
@token_required
def get_matrix() -> Any:
    actor = current_actor()
    unit_id = _int_arg("unit_id", required=actor.unit_id is None) or actor.unit_id
    m = matrix_service.matrix(
        current_session(), actor, unit_id or 0, _year(), _int_arg("section_id", required=False), on=_today()
    )
    return jsonify(
        {
            "unit_id": m.unit.id,
            "year": m.year,
            "section_id": m.section_id,
            "tasks": [
                {
                    "id": r.task.id,
                    "title": r.task.title,
                    "unit_indicator": r.task.unit_indicator,
                    "deadline": _iso(r.task.deadline),
                    "progress": r.progress,
                    "status": r.status,
                    "latest_comments": [
                        {"id": c.id, "author": c.author.name, "text": c.text, "at": c.at.isoformat()}
                        for c in r.latest_comments
                    ],
                }
                for r in m.rows
            ],
            "people": [
                {
                    "id": p.id,
                    "name": p.name,
                    "section_id": p.section_id,
                    "section": p.section.name if p.section else None,
                }
                for p in m.people
            ],
            "cells": [
                {
                    "task_id": c.task_id,
                    "person_id": c.person_id,
                    "role": c.role,
                    "progress": c.progress,
                    "status": c.status,
                    "last_update_at": _iso(c.last_update_at),
                }
                for c in m.cells.values()
            ],
        }
    )


_STATUS = {"type": "string", "enum": list(unit_tasks.STATUSES)}
_ROLE = {"type": "string", "enum": list(unit_tasks.ROLES)}
_DT = {"type": ["string", "null"], "format": "date-time"}
_NAMED = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
_unit_year = [
    {"name": "unit_id", "in": "query", "schema": {"type": "integer"}, "description": "Default: the caller's unit"},
    {"name": "year", "in": "query", "schema": {"type": "integer"}, "description": "Default: this year"},
]
_errors = {
    "401": error_response("No or bad token"),
    "403": error_response("Not of this unit (the performance office sees all units)"),
    "404": error_response("No such unit or task"),
}
register_paths(
    {
        "/unit-tasks": {
            "get": {
                "summary": "A unit's major tasks of a year with their assignments (lead/assist, progress)",
                "tags": ["unit tasks"],
                "parameters": _unit_year,
                "responses": {
                    "200": json_response("The tasks", ref("UnitTaskList")),
                    **_errors,
                    "422": error_response("Malformed unit_id or year"),
                },
            }
        },
        "/unit-tasks/{task_id}": {
            "get": {
                "summary": "One unit task with its assignments, progress updates and leaders' comments",
                "tags": ["unit tasks"],
                "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": json_response("The task", ref("UnitTaskDetail")), **_errors},
            }
        },
        "/matrix": {
            "get": {
                "summary": "The responsibility matrix (责任矩阵表): tasks × people with each cell's status",
                "tags": ["unit tasks"],
                "parameters": [
                    *_unit_year,
                    {"name": "section_id", "in": "query", "schema": {"type": "integer"}, "description": "One section"},
                ],
                "responses": {
                    "200": json_response("The matrix", ref("Matrix")),
                    **_errors,
                    "422": error_response("Malformed parameter, or a section of another unit"),
                },
            }
        },
    },
    {
        "UnitTaskAssignment": {
            "type": "object",
            "required": ["person", "section_id", "role", "progress", "last_update_at"],
            "properties": {
                "id": {"type": "integer"},
                "person": _NAMED,
                "section_id": {"type": ["integer", "null"]},
                "role": _ROLE,
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "last_update_at": _DT,
            },
        },
        "UnitTask": {
            "type": "object",
            "required": ["id", "unit_id", "year", "title", "description", "unit_indicator", "deadline", "assignments"],
            "properties": {
                "id": {"type": "integer"},
                "unit_id": {"type": "integer"},
                "year": {"type": "integer"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "unit_indicator": {"type": "string"},
                "deadline": {"type": ["string", "null"], "format": "date"},
                "assignments": {"type": "array", "items": ref("UnitTaskAssignment")},
            },
        },
        "UnitTaskList": {
            "type": "object",
            "required": ["items", "total"],
            "properties": {"items": {"type": "array", "items": ref("UnitTask")}, "total": {"type": "integer"}},
        },
        "UnitTaskDetail": {
            "allOf": [
                ref("UnitTask"),
                {
                    "type": "object",
                    "properties": {
                        "status": _STATUS,
                        "progress_updates": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "assignment_id": {"type": "integer"},
                                    "person_id": {"type": "integer"},
                                    "progress": {"type": "integer"},
                                    "note": {"type": "string"},
                                    "by": _NAMED,
                                    "at": {"type": "string", "format": "date-time"},
                                    "evidence_name": {"type": ["string", "null"]},
                                },
                            },
                        },
                        "comments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "assignment_id": {"type": ["integer", "null"]},
                                    "author": _NAMED,
                                    "text": {"type": "string"},
                                    "at": {"type": "string", "format": "date-time"},
                                },
                            },
                        },
                    },
                },
            ]
        },
        "Matrix": {
            "type": "object",
            "required": ["tasks", "people", "cells"],
            "properties": {
                "unit_id": {"type": "integer"},
                "year": {"type": "integer"},
                "section_id": {"type": ["integer", "null"]},
                "tasks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "title": {"type": "string"},
                            "unit_indicator": {"type": "string"},
                            "deadline": {"type": ["string", "null"], "format": "date"},
                            "progress": {"type": "integer"},
                            "status": _STATUS,
                            "latest_comments": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
                "people": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "name": {"type": "string"},
                            "section_id": {"type": ["integer", "null"]},
                            "section": {"type": ["string", "null"]},
                        },
                    },
                },
                "cells": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["task_id", "person_id", "role", "progress", "status", "last_update_at"],
                        "properties": {
                            "task_id": {"type": "integer"},
                            "person_id": {"type": "integer"},
                            "role": _ROLE,
                            "progress": {"type": "integer"},
                            "status": _STATUS,
                            "last_update_at": _DT,
                        },
                    },
                },
            },
        },
    },
)
