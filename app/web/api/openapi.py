"""The OpenAPI 3 document for /api/v1.

Each API module adds its paths with ``register_paths``; ``build_spec`` also checks that
every /api/v1 route in the URL map is documented, so an undocumented endpoint fails a test.
"""

from __future__ import annotations

import copy
from typing import Any

from werkzeug.routing import Map

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, Any] = {}

ERROR = {"$ref": "#/components/schemas/Error"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict[str, Any]:
    return json_response(description, ERROR)


def register_paths(paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None = None) -> None:
    for path, ops in paths.items():
        _PATHS.setdefault(path, {}).update(ops)
    _SCHEMAS.update(schemas or {})


register_paths(
    {
        "/auth/token": {
            "post": {
                "summary": "Exchange a username and password for a bearer token",
                "security": [],
                "tags": ["auth"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("Credentials")}},
                },
                "responses": {
                    "200": json_response("A token", ref("Token")),
                    "401": error_response("Wrong credentials or code; code otp_required when the account needs one"),
                    "403": error_response("The account's role requires a second factor it has not set up"),
                    "422": error_response("Missing fields"),
                    "429": error_response("Too many failed attempts from this address"),
                },
            }
        },
        "/me": {
            "get": {
                "summary": "The account behind the token, with its roles",
                "tags": ["auth"],
                "responses": {"200": json_response("Me", ref("Me")), "401": error_response("No or bad token")},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "tags": ["meta"],
                "responses": {"200": {"description": "OpenAPI 3 document"}},
            }
        },
    },
    {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            },
        },
        "Credentials": {
            "type": "object",
            "required": ["username", "password"],
            "properties": {
                "username": {"type": "string"},
                "password": {"type": "string"},
                "otp": {"type": "string", "description": "The current TOTP code, for accounts with a second factor"},
            },
        },
        "Token": {
            "type": "object",
            "required": ["token", "expires_at"],
            "properties": {"token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}},
        },
        "RoleScope": {
            "type": "object",
            "required": ["role"],
            "properties": {
                "role": {"type": "string"},
                "unit": {"type": ["string", "null"]},
                "section": {"type": ["string", "null"]},
            },
        },
        "Me": {
            "type": "object",
            "required": ["id", "username", "name", "roles"],
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "name": {"type": "string"},
                "person_id": {"type": ["integer", "null"]},
                "roles": {"type": "array", "items": ref("RoleScope")},
            },
        },
    },
)


def _openapi_path(rule: str) -> str:
    # /api/v1/tasks/<int:task_id> -> /tasks/{task_id}
    out = rule.removeprefix("/api/v1")
    while "<" in out:
        start, end = out.index("<"), out.index(">")
        name = out[start + 1 : end].split(":")[-1]
        out = out[:start] + "{" + name + "}" + out[end + 1 :]
    return out


def build_spec(url_map: Map | None = None) -> dict[str, Any]:
    paths = copy.deepcopy(_PATHS)
    for path, ops in paths.items():
        params = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
        for op in ops.values():
            if params and "parameters" not in op:
                op["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in params
                ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jixiao 全员绩效管理系统 API",
            "version": "1",
            "description": 'Errors are JSON {"error": {"code", "message"}}. Authenticate with '
            "POST /auth/token, then send Authorization: Bearer <token>.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(_SCHEMAS),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def undocumented_routes(url_map: Map) -> list[str]:
    """API routes in the URL map that the document does not describe (for tests)."""
    missing: list[str] = []
    for rule in url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = _openapi_path(rule.rule)
        methods = {m.lower() for m in (rule.methods or set())} - {"head", "options"}
        documented = set(_PATHS.get(path, {}))
        missing.extend(f"{m.upper()} {path}" for m in sorted(methods - documented))
    return missing
