"""JSON API under /api/v1, authenticated with bearer tokens only (so it needs no CSRF token)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, jsonify, request

from app.extensions import csrf, current_session
from app.services import accounts, security, totp
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
    username, password, otp = body.get("username"), body.get("password"), body.get("otp")
    if not isinstance(username, str) or not isinstance(password, str) or not isinstance(otp, str | None):
        fields = {k: "Required, as a string." for k in ("username", "password") if not isinstance(body.get(k), str)}
        if not isinstance(otp, str | None):
            fields["otp"] = "The 6-digit code, as a string."
        raise Invalid("Send username and password (and otp when the account has a second factor).", fields)
    policy = security.SecurityPolicy.load(current_session(), current_app.config)
    result = security.login(current_session(), username, password, request.remote_addr, policy, otp=otp)
    account = result.user
    if result.outcome is not security.LoginOutcome.ok or account is None:
        g.force_commit = True  # the failed attempt and the lockout counter must outlive this 401
        status = 429 if result.outcome is security.LoginOutcome.address_blocked else 401
        code = {429: "too_many_attempts"}.get(status, "unauthorized")
        if result.outcome is security.LoginOutcome.otp_required:
            code = "otp_required"
        return api_error(status, code, str(result.message))
    if totp.must_enrol(
        actor_for_user(current_session(), account), account, policy.totp_enabled, policy.totp_required_roles
    ):
        return api_error(
            403,
            "second_factor_required",
            "Your role requires a second factor: set it up in the browser (/account/second-factor), "
            "then send the code as 'otp'.",
        )
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
from app.web.api import (  # noqa: E402,F401
    analysis,
    appraisal,
    bonus,
    evaluation,
    indicators,
    matrix,
    processes,
    publication,
    results,
    schemes,
    tasks,
)
