"""Process-definition endpoints of /api/v1 for the performance office: versions, validation, drafts.

An offline tool can list the versions of a process, download one, check a file and store it as a
draft; deploying stays a deliberate act on the process page. Refusals are 422 with ``problems``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.extensions import current_session
from app.models import ProcessDefinition
from app.services.errors import Invalid
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.workflow import designer


def definition_json(row: ProcessDefinition) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "version": row.version,
        "name": row.name,
        "status": row.status.value,
        "unit_id": row.unit_id,
        "sha256": row.sha256,
        "created_by": row.created_by_id,
        "created_at": row.created_at.isoformat(),
        "comment": row.comment,
    }


def _xml(body: dict[str, Any]) -> str:
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        raise Invalid("Send the BPMN document as the string field 'xml'.", {"xml": "Required."})
    return xml


@bp.get("/process-definitions/<key>")
@token_required
def list_definitions(key: str) -> Any:
    designer.require_office(current_actor())
    return jsonify({"items": [definition_json(r) for r in designer.versions(current_session(), key)]})


@bp.get("/process-definitions/<key>/<int:definition_id>.bpmn")
@token_required
def download_definition(key: str, definition_id: int) -> Any:
    designer.require_office(current_actor())
    row = designer.get_version(current_session(), key, definition_id)
    return Response(row.bpmn_xml, mimetype="application/xml")


@bp.post("/process-definitions/validate")
@token_required
def validate_definition() -> Any:
    designer.require_office(current_actor())
    body = json_body()
    key = body.get("key") if isinstance(body.get("key"), str) else None
    _loaded, problems = designer.validate(_xml(body), key)
    return jsonify({"ok": not problems, "problems": [p.as_json() for p in problems]})


@bp.post("/process-definitions/<key>/drafts")
@token_required
def create_draft(key: str) -> Any:
    body = json_body()
    comment = body.get("comment") if isinstance(body.get("comment"), str) else None
    row = designer.save_draft(current_session(), current_actor(), key, _xml(body), comment=comment, action="upload")
    return jsonify(definition_json(row)), 201


_key = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}]
_problems = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["message"],
        "properties": {"element_id": {"type": ["string", "null"]}, "message": {"type": "string"}},
    },
}
_office = {"401": error_response("No or bad token"), "403": error_response("Not the performance office")}
_refused = error_response("Refused: error.problems names each element and how to fix it")
register_paths(
    {
        "/process-definitions/{key}": {
            "get": {
                "summary": "Every version of a process (draft, active per scope, retired)",
                "tags": ["processes"],
                "parameters": _key,
                "responses": {
                    "200": json_response("Versions, newest first", ref("ProcessDefinitionList")),
                    **_office,
                    "404": error_response("No such process"),
                },
            }
        },
        "/process-definitions/{key}/{definition_id}.bpmn": {
            "get": {
                "summary": "One version's BPMN file",
                "tags": ["processes"],
                "parameters": [
                    *_key,
                    {"name": "definition_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {"description": "BPMN 2.0 XML", "content": {"application/xml": {}}},
                    **_office,
                    "404": error_response("No such version"),
                },
            }
        },
        "/process-definitions/validate": {
            "post": {
                "summary": "Check a BPMN document with the designer's rules without storing it",
                "tags": ["processes"],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("BpmnUpload")}}},
                "responses": {
                    "200": json_response("The result", ref("ValidationResult")),
                    **_office,
                    "422": error_response("No XML sent"),
                },
            }
        },
        "/process-definitions/{key}/drafts": {
            "post": {
                "summary": "Store a BPMN document as a new draft version (validated; running work is not affected)",
                "tags": ["processes"],
                "parameters": _key,
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("BpmnUpload")}}},
                "responses": {
                    "201": json_response("The draft", ref("ProcessDefinition")),
                    **_office,
                    "404": error_response("No such process"),
                    "422": _refused,
                },
            }
        },
    },
    {
        "ProcessDefinition": {
            "type": "object",
            "required": ["id", "key", "version", "name", "status"],
            "properties": {
                "id": {"type": "integer"},
                "key": {"type": "string"},
                "version": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string", "enum": ["draft", "active", "retired"]},
                "unit_id": {"type": ["integer", "null"], "description": "A unit's variant; null for the district"},
                "sha256": {"type": "string"},
                "created_by": {"type": ["integer", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "comment": {"type": ["string", "null"]},
            },
        },
        "ProcessDefinitionList": {
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": ref("ProcessDefinition")}},
        },
        "BpmnUpload": {
            "type": "object",
            "required": ["xml"],
            "properties": {"xml": {"type": "string"}, "key": {"type": "string"}, "comment": {"type": "string"}},
        },
        "ValidationResult": {
            "type": "object",
            "required": ["ok", "problems"],
            "properties": {"ok": {"type": "boolean"}, "problems": _problems},
        },
    },
)
