"""The process designer (performance office): versions, modeler, diff, simulation, deploy, roll back, migration."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.models import Role
from app.services.errors import T_, Forbidden

bp = Blueprint("processes", __name__, url_prefix="/processes")

F = TypeVar("F", bound=Callable[..., Any])

STATUS_LABELS = {"draft": _l("Draft"), "active": _l("In use"), "retired": _l("Retired")}
ACTION_LABELS = {
    "save": _l("Saved a draft"),
    "upload": _l("Uploaded a draft"),
    "deploy": _l("Deployed"),
    "rollback": _l("Rolled back"),
    "migrate": _l("Moved instances"),
}
CHANGE_LABELS = {
    "added": _l("Added"),
    "removed": _l("Removed"),
    "renamed": _l("Renamed"),
    "lane": _l("Moved to another lane"),
    "form": _l("Form changed"),
    "due": _l("Due time changed"),
    "documentation": _l("Instructions changed"),
    "timer": _l("Timer changed"),
    "notify": _l("Notification changed"),
    "type": _l("Type changed"),
    "condition": _l("Condition changed"),
    "rerouted": _l("Re-routed"),
    "default": _l("Default flow changed"),
}
OUTCOME_LABELS = {
    "completed": _l("The process reaches its end."),
    "limit": _l("Stopped: the chosen decisions make it loop."),
    "waiting": _l("The process waits for an event or a timer; no task is open."),
    "error": _l("The engine stopped on an error."),
}


def office_required(view: F) -> F:
    """Logged in and in the performance office (others get 403)."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.actor.has(Role.perf_office):
            raise Forbidden(T_("Only the performance office may change process definitions."))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.context_processor
def _labels() -> dict[str, Any]:
    def label(table: dict[str, Any], key: object) -> str:
        value = str(getattr(key, "value", key) or "")
        return str(table.get(value, value))

    return {
        "status_label": lambda k: label(STATUS_LABELS, k),
        "action_label": lambda k: label(ACTION_LABELS, k),
        "change_label": lambda k: label(CHANGE_LABELS, k),
        "outcome_label": lambda k: label(OUTCOME_LABELS, k),
    }


from app.web.processes import editor, pages, tools  # noqa: E402,F401
