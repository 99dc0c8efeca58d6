"""Task and process endpoints of /api/v1 (contract in the engine issue; documented in OpenAPI)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import current_session
from app.models import HumanTask, InstanceStatus, ProcessInstance
from app.services.errors import Conflict, Invalid
from app.services.periods import check_generic_start
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.workflow import hooks, inbox, repository, runtime, views
from forms import FORMS


def task_json(task: HumanTask, names: dict[str, str] | None = None) -> dict[str, Any]:
    names = names if names is not None else repository.process_names(current_session())
    return {
        "id": task.id,
        "instance_id": task.instance_id,
        "process_key": task.process_key,
        "process_name": names.get(task.process_key, task.process_key),
        "step_id": task.step_id,
        "step_name": task.step_name,
        "subject": {"id": task.subject_id, "name": task.subject_name},
        "period": task.period,
        "form": task.form_key,
        "status": task.status.value,
        "claimed_by": task.claimed_by_id,
        "assigned_role": task.assigned_role,
        "assignment_warning": task.assignment_warning,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "created_at": task.created_at.isoformat(),
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


def instance_json(instance: ProcessInstance) -> dict[str, Any]:
    return {"id": instance.id, "status": instance.status.value}


@bp.get("/tasks")
@token_required
def list_tasks() -> Any:
    page = inbox.list_tasks(
        current_session(),
        current_actor(),
        request.args.get("scope", "mine"),
        inbox.TaskFilters(
            process=request.args.get("process") or None,
            period=request.args.get("period") or None,
            unit_id=request.args.get("unit_id", type=int),
            section_id=request.args.get("section_id", type=int),
        ),
        page=request.args.get("page", 1, type=int),
        per_page=min(request.args.get("per_page", 50, type=int), 200),
    )
    names = repository.process_names(current_session())
    return jsonify({"items": [task_json(t, names) for t in page.items], "total": page.total, "page": page.page})


@bp.get("/tasks/<int:task_id>")
@token_required
def get_task(task_id: int) -> Any:
    task = runtime.get_task_for(current_session(), current_actor(), task_id)
    body = task_json(task)
    body["data"] = {**views.task_data(task.instance, task), **hooks.context_for(current_session(), task)}
    body["fields"] = [f.as_json() for f in FORMS[task.form_key].fields]
    body["documentation"] = views.step_documentation(task.instance, task.step_id)
    return jsonify(body)


@bp.post("/tasks/<int:task_id>/claim")
@token_required
def claim_task(task_id: int) -> Any:
    return jsonify(task_json(runtime.claim(current_session(), current_actor(), task_id)))


@bp.post("/tasks/<int:task_id>/release")
@token_required
def release_task(task_id: int) -> Any:
    return jsonify(task_json(runtime.release(current_session(), current_actor(), task_id)))


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def complete_task(task_id: int) -> Any:
    result = runtime.complete_task(current_session(), current_actor(), task_id, json_body())
    names = repository.process_names(current_session())
    return jsonify(
        {"instance": instance_json(result.instance), "next_tasks": [task_json(t, names) for t in result.next_tasks]}
    )


@bp.post("/processes/<key>/start")
@token_required
def start_process(key: str) -> Any:
    body = json_body()
    subject_id = body.get("subject_id")
    if subject_id is not None and not isinstance(subject_id, int):
        raise Invalid("subject_id must be a person id (integer).", {"subject_id": "Must be an integer."})
    names = repository.process_names(current_session())
    if key not in names:
        return jsonify({"error": {"code": "not_found", "message": f"There is no process '{key}'."}}), 404
    check_generic_start(key)
    # check_period refuses anything that is not a period string, with the message the API returns
    result = runtime.start_process(current_session(), current_actor(), key, body.get("period"), subject_id)  # type: ignore[arg-type]
    if not result.created:
        raise Conflict(
            "This process is already running (or done) for that person and period.",
            instance_id=result.instance.id,
            status=result.instance.status.value,
        )
    return jsonify(
        {
            "instance_id": result.instance.id,
            "status": result.instance.status.value,
            "tasks": [task_json(t, names) for t in result.tasks],
        }
    ), 201


@bp.get("/process-instances/<int:instance_id>")
@token_required
def get_instance(instance_id: int) -> Any:
    detail = views.instance_detail(current_session(), current_actor(), instance_id)
    inst = detail.instance
    status = inst.status.value if inst.status is not InstanceStatus.running else "running"
    return jsonify(
        {
            "id": inst.id,
            "process_key": inst.process_key,
            "version": inst.definition.version,
            "status": status,
            "subject": {"id": inst.subject_id, "name": inst.subject_name},
            "period": inst.period,
            "created_at": inst.created_at.isoformat(),
            "completed_at": inst.completed_at.isoformat() if inst.completed_at else None,
            "current_steps": detail.current_steps,
            "open_tasks": [task_json(t) for t in detail.open_tasks],
            "history": [
                {
                    "step_id": e.step_id,
                    "step_name": e.step_name,
                    "kind": e.kind,
                    "by": {"id": e.actor_id, "name": e.actor.name} if e.actor else None,
                    "at": e.at.isoformat(),
                    "decision": e.decision,
                    "comment": e.comment,
                }
                for e in detail.history
            ],
        }
    )


_TASK = {
    "type": "object",
    "required": [
        "id",
        "process_key",
        "process_name",
        "step_id",
        "step_name",
        "subject",
        "period",
        "form",
        "status",
        "due_at",
        "created_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "instance_id": {"type": "integer"},
        "process_key": {"type": "string"},
        "process_name": {"type": "string"},
        "step_id": {"type": "string"},
        "step_name": {"type": "string"},
        "subject": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "period": {"type": "string"},
        "form": {"type": "string"},
        "status": {"type": "string", "enum": ["ready", "completed", "cancelled"]},
        "claimed_by": {"type": ["integer", "null"]},
        "assigned_role": {"type": "string"},
        "assignment_warning": {"type": ["string", "null"]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_q = [
    {"name": "scope", "in": "query", "schema": {"type": "string", "enum": list(inbox.SCOPES), "default": "mine"}},
    {"name": "process", "in": "query", "schema": {"type": "string"}},
    {"name": "period", "in": "query", "schema": {"type": "string"}},
    {"name": "unit_id", "in": "query", "schema": {"type": "integer"}},
    {"name": "section_id", "in": "query", "schema": {"type": "integer"}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]
_tid = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_errors = {
    "401": error_response("No or bad token"),
    "403": error_response("Not a candidate"),
    "404": error_response("No such task"),
}
register_paths(
    {
        "/tasks": {
            "get": {
                "summary": "Tasks in an inbox scope (mine, claimable, done, related)",
                "tags": ["tasks"],
                "parameters": _q,
                "responses": {
                    "200": json_response("A page of tasks", ref("TaskList")),
                    "401": error_response("No or bad token"),
                    "422": error_response("Unknown scope"),
                },
            }
        },
        "/tasks/{task_id}": {
            "get": {
                "summary": "One task with its data and form fields",
                "tags": ["tasks"],
                "parameters": _tid,
                "responses": {"200": json_response("The task", ref("TaskDetail")), **_errors},
            }
        },
        "/tasks/{task_id}/claim": {
            "post": {
                "summary": "Claim a shared task",
                "tags": ["tasks"],
                "parameters": _tid,
                "responses": {
                    "200": json_response("Claimed", ref("Task")),
                    **_errors,
                    "409": error_response("Taken or done"),
                },
            }
        },
        "/tasks/{task_id}/release": {
            "post": {
                "summary": "Release a task you claimed",
                "tags": ["tasks"],
                "parameters": _tid,
                "responses": {
                    "200": json_response("Released", ref("Task")),
                    **_errors,
                    "409": error_response("Not claimed by you"),
                },
            }
        },
        "/tasks/{task_id}/complete": {
            "post": {
                "summary": "Complete a task with its form's fields; review steps take {decision, comment}",
                "tags": ["tasks"],
                "parameters": _tid,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": json_response("Completed", ref("Completion")),
                    **_errors,
                    "409": error_response("Already completed or claimed by someone else"),
                    "422": error_response("Invalid fields: error.fields maps each field to a message"),
                },
            }
        },
        "/processes/{key}/start": {
            "post": {
                "summary": "Start a process for a subject (default: the caller) and period",
                "tags": ["processes"],
                "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("StartRequest")}}},
                "responses": {
                    "201": json_response("Started", ref("Started")),
                    "401": error_response("No or bad token"),
                    "403": error_response("Not allowed"),
                    "404": error_response("No such process"),
                    "409": error_response("Already exists: error.instance_id names it"),
                    "422": error_response("Bad period or subject"),
                },
            }
        },
        "/process-instances/{instance_id}": {
            "get": {
                "summary": "A process instance with its history",
                "tags": ["processes"],
                "parameters": [{"name": "instance_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": json_response("The instance", ref("Instance")),
                    "401": error_response("No or bad token"),
                    "403": error_response("Not allowed"),
                    "404": error_response("No such instance"),
                },
            }
        },
    },
    {
        "Task": _TASK,
        "TaskList": {
            "type": "object",
            "required": ["items", "total"],
            "properties": {
                "items": {"type": "array", "items": ref("Task")},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
            },
        },
        "TaskDetail": {
            "allOf": [
                ref("Task"),
                {
                    "type": "object",
                    "properties": {
                        "data": {"type": "object"},
                        "fields": {"type": "array", "items": {"type": "object"}},
                        "documentation": {"type": ["string", "null"]},
                    },
                },
            ]
        },
        "Completion": {
            "type": "object",
            "required": ["instance", "next_tasks"],
            "properties": {
                "instance": {"type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}},
                "next_tasks": {"type": "array", "items": ref("Task")},
            },
        },
        "StartRequest": {
            "type": "object",
            "required": ["period"],
            "properties": {
                "period": {"type": "string", "examples": ["2026", "2026-Q4", "2026-11", "2026-W47"]},
                "subject_id": {"type": "integer"},
            },
        },
        "Started": {
            "type": "object",
            "required": ["instance_id", "tasks"],
            "properties": {
                "instance_id": {"type": "integer"},
                "status": {"type": "string"},
                "tasks": {"type": "array", "items": ref("Task")},
            },
        },
        "Instance": {
            "type": "object",
            "required": ["id", "process_key", "version", "status", "subject", "period", "history"],
            "properties": {
                "id": {"type": "integer"},
                "process_key": {"type": "string"},
                "version": {"type": "integer"},
                "status": {"type": "string", "enum": ["running", "completed", "cancelled"]},
                "subject": {"type": "object"},
                "period": {"type": "string"},
                "history": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "step_id": {"type": "string"},
                            "step_name": {"type": "string"},
                            "kind": {"type": "string"},
                            "by": {"type": ["object", "null"]},
                            "at": {"type": "string"},
                            "decision": {"type": ["string", "null"]},
                            "comment": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    },
)
