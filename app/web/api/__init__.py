"""JSON API under /api/v1, authenticated with bearer tokens only (so it needs no CSRF token)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, jsonify, request

from app.extensions import csrf, current_session
from app.services import accounts, security
from app.services.actor import Actor, actor_for_user
from app.services.errors import Invalid
from app.web.api.openapi import build_spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, code: str, message: str, **extra: Any) -> Any:
    return jsonify({"error": {"code": code, "message": message, **extra}}), status


def token_required(view: F) -> F:
    """Resolve ``Authorization: Bearer`` into ``g.api_account`` and ``g.actor``, else 401."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return api_error(401, "unauthorized", "Send 'Authorization: Bearer <token>' from POST /api/v1/auth/token.")
        account = accounts.token_user(current_session(), header[7:].strip())
        if account is None:
            return api_error(401, "unauthorized", "The token is unknown, expired or revoked; request a new one.")
        g.api_account = account
        g.actor = actor_for_user(current_session(), account)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_actor() -> Actor:
    return g.actor


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("Send a JSON object with Content-Type: application/json.")
    return body


@bp.post("/auth/token")
def issue_token() -> Any:
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        fields = {k: "Required, as a string." for k in ("username", "password") if not isinstance(body.get(k), str)}
        raise Invalid("Send username and password.", fields)
    result = security.login(
        current_session(),
        username,
        password,
        request.remote_addr,
        security.SecurityPolicy.from_config(current_app.config),
    )
    account = result.user
    if account is None:
        g.force_commit = True  # the failed attempt and the lockout counter must outlive this 401
        status = 429 if result.outcome is security.LoginOutcome.address_blocked else 401
        return api_error(status, "unauthorized" if status == 401 else "too_many_attempts", str(result.message))
    token, expires = accounts.issue_token(current_session(), account, current_app.config["API_TOKEN_HOURS"])
    return jsonify({"token": token, "expires_at": expires.isoformat()})


@bp.get("/me")
@token_required
def me() -> Any:
    account = g.api_account
    person = account.person
    return jsonify(
        {
            "id": account.id,
            "username": account.username,
            "name": person.name if person else account.username,
            "person_id": person.id if person else None,
            "roles": accounts.describe_roles(current_session(), account),
        }
    )


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_spec(current_app.url_map))


@bp.errorhandler(404)
def _not_found(_exc: Exception) -> Any:
    return api_error(404, "not_found", f"No API endpoint at {request.path}; see /api/v1/openapi.json.")


@bp.errorhandler(405)
def _method(_exc: Exception) -> Any:
    return api_error(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}.")


# The endpoint modules register their routes on ``bp`` when imported.
from app.web.api import appraisal, indicators, matrix, processes, tasks  # noqa: E402,F401
