"""The OpenAPI description of the publication and bonus-distribution endpoints (app.web.api.publication)."""

from __future__ import annotations

from typing import Any

from app.web.api.openapi import error_response, json_response, ref, register_paths

_common = {"401": error_response("No or bad token"), "403": error_response("Not allowed")}
_id = {"in": "path", "required": True, "schema": {"type": "integer"}}
_unit_q = {"name": "unit_id", "in": "query", "schema": {"type": "integer"}, "description": "Default: the caller's unit"}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_text = {"type": "string", "maxLength": 2000}
register_paths(
    {
        "/publications": {
            "get": {
                "summary": "A unit's publications (managers: all; the unit's people: the published ones)",
                "tags": ["publication"],
                "parameters": [_unit_q],
                "responses": {"200": json_response("Publications", {"type": "object"}), **_common},
            },
            "post": {
                "summary": "Snapshot a quarter's confirmed results and start the approval (unit admin)",
                "description": "A quarter already published gets a correction (next revision), which needs a reason.",
                "tags": ["publication"],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["period"],
                        "properties": {
                            "unit_id": {"type": "integer"},
                            "period": {"type": "string", "example": "2026-Q4"},
                            "reason": _text,
                        },
                    }
                ),
                "responses": {
                    "201": json_response("The draft publication", ref("Publication")),
                    **_common,
                    "409": error_response("Results not confirmed, or a draft is waiting"),
                    "422": error_response("Bad period, or a correction without reason"),
                },
            },
        },
        "/publications/{publication_id}": {
            "get": {
                "summary": "One publication with the rows the caller may see (scheme's publish_scope)",
                "tags": ["publication"],
                "parameters": [{"name": "publication_id", **_id}],
                "responses": {
                    "200": json_response("The publication", ref("Publication")),
                    **_common,
                    "404": error_response("No such publication"),
                },
            }
        },
        "/publications/{publication_id}/withdraw": {
            "post": {
                "summary": "Withdraw a publication waiting for approval (unit admin); its approval run is stopped",
                "description": "The draft is kept as withdrawn; the quarter can then be prepared again.",
                "tags": ["publication"],
                "parameters": [{"name": "publication_id", **_id}],
                "requestBody": _body({"type": "object", "required": ["reason"], "properties": {"reason": _text}}),
                "responses": {
                    "200": json_response("The withdrawn publication", ref("Publication")),
                    **_common,
                    "404": error_response("No such publication"),
                    "409": error_response("Already published or withdrawn"),
                    "422": error_response("No reason"),
                },
            }
        },
        "/publications/mine": {
            "get": {
                "summary": "The caller's row in the publication in force for a quarter",
                "tags": ["publication"],
                "parameters": [{"name": "period", "in": "query", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response("The row or null", {"type": "object"}), **_common},
            }
        },
        "/publications/rows/{row_id}/objections": {
            "post": {
                "summary": "Object to one's own published row during the publicity window",
                "tags": ["publication"],
                "parameters": [{"name": "row_id", **_id}],
                "requestBody": _body({"type": "object", "required": ["text"], "properties": {"text": _text}}),
                "responses": {
                    "201": json_response("The objection", ref("Objection")),
                    **_common,
                    "404": error_response("No such row"),
                    "409": error_response("The window closed, or the publication was superseded"),
                    "422": error_response("Empty or too long"),
                },
            }
        },
        "/publications/objections/{objection_id}/answer": {
            "post": {
                "summary": "Answer an objection (unit admin), once",
                "tags": ["publication"],
                "parameters": [{"name": "objection_id", **_id}],
                "requestBody": _body({"type": "object", "required": ["answer"], "properties": {"answer": _text}}),
                "responses": {
                    "200": json_response("The objection", ref("Objection")),
                    **_common,
                    "404": error_response("No such objection"),
                    "409": error_response("Already answered"),
                    "422": error_response("Empty or too long"),
                },
            }
        },
        "/distributions": {
            "get": {
                "summary": "A unit's bonus distributions (unit admin, principal, office)",
                "tags": ["publication"],
                "parameters": [_unit_q],
                "responses": {"200": json_response("Distributions", {"type": "object"}), **_common},
            },
            "post": {
                "summary": "Create and compute a quarter's distribution, and start its confirmation (unit admin)",
                "tags": ["publication"],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["period", "pool"],
                        "properties": {
                            "unit_id": {"type": "integer"},
                            "period": {"type": "string", "example": "2026-Q4"},
                            "pool": {"type": "string", "example": "10000.00", "description": "Yuan, 2 decimals"},
                            "reason": _text,
                        },
                    }
                ),
                "responses": {
                    "201": json_response("The distribution", ref("Distribution")),
                    **_common,
                    "409": error_response("Results not confirmed, or one is being prepared"),
                    "422": error_response("Bad period or pool"),
                },
            },
        },
        "/distributions/{distribution_id}": {
            "get": {
                "summary": "One distribution: formula, coefficients and amounts",
                "tags": ["publication"],
                "parameters": [{"name": "distribution_id", **_id}],
                "responses": {
                    "200": json_response("The distribution", ref("Distribution")),
                    **_common,
                    "404": error_response("No such distribution"),
                },
            }
        },
        "/distributions/{distribution_id}/compute": {
            "post": {
                "summary": "Change the pool of a draft and/or compute it again",
                "tags": ["publication"],
                "parameters": [{"name": "distribution_id", **_id}],
                "requestBody": _body({"type": "object", "properties": {"pool": {"type": "string"}}}),
                "responses": {
                    "200": json_response("The distribution", ref("Distribution")),
                    **_common,
                    "409": error_response("Submitted or confirmed"),
                    "422": error_response("Bad pool"),
                },
            }
        },
        "/distributions/{distribution_id}/withdraw": {
            "post": {
                "summary": "Withdraw a distribution not yet confirmed (unit admin); its confirmation run is stopped",
                "tags": ["publication"],
                "parameters": [{"name": "distribution_id", **_id}],
                "requestBody": _body({"type": "object", "required": ["reason"], "properties": {"reason": _text}}),
                "responses": {
                    "200": json_response("The withdrawn distribution", ref("Distribution")),
                    **_common,
                    "404": error_response("No such distribution"),
                    "409": error_response("Already confirmed or withdrawn"),
                    "422": error_response("No reason"),
                },
            }
        },
        "/distributions/{distribution_id}/export.xlsx": {
            "get": {
                "summary": "The payroll sheet of a confirmed distribution (Excel)",
                "tags": ["publication"],
                "parameters": [{"name": "distribution_id", **_id}],
                "responses": {
                    "200": {
                        "description": "The workbook",
                        "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
                    },
                    **_common,
                    "409": error_response("Not confirmed yet"),
                },
            }
        },
    },
    {
        "Publication": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "unit": {"type": "object"},
                "period": {"type": "string"},
                "revision": {"type": "integer"},
                "status": {"type": "string", "enum": ["draft", "published", "superseded", "withdrawn"]},
                "reason": {"type": ["string", "null"]},
                "publish_scope": {"type": "string", "enum": ["own", "unit"]},
                "published_at": {"type": ["string", "null"], "format": "date-time"},
                "window_ends_at": {"type": ["string", "null"], "format": "date-time"},
                "objections_until": {"type": ["string", "null"], "format": "date"},
                "rows": {"type": "array", "items": {"type": "object"}},
                "own_row_id": {"type": ["integer", "null"]},
            },
        },
        "Objection": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "row_id": {"type": "integer"},
                "text": {"type": "string"},
                "filed_at": {"type": "string", "format": "date-time"},
                "answer": {"type": ["string", "null"]},
                "answered_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "Distribution": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "period": {"type": "string"},
                "revision": {"type": "integer"},
                "status": {"type": "string", "enum": ["draft", "submitted", "confirmed", "withdrawn"]},
                "pool": {"type": "string"},
                "method": {"type": "string", "enum": ["score", "score_x_grade"]},
                "coefficient_sum": {"type": "string"},
                "formula": {"type": "string"},
                "shares": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
)
