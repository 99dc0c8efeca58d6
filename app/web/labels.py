"""Translated labels for enum values shown in the UI."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

ROLE_LABELS: dict[str, LazyString] = {
    "staff": _l("Staff"),
    "section_head": _l("Section head"),
    "unit_leader": _l("Leader in charge"),
    "unit_principal": _l("Unit principal"),
    "unit_admin": _l("Unit performance administrator"),
    "perf_office": _l("Performance office"),
    "sys_admin": _l("System administrator"),
    "sec_admin": _l("Security administrator"),
    "audit_admin": _l("Audit administrator"),
}

UNIT_TYPE_LABELS: dict[str, LazyString] = {
    "township": _l("Township / street office"),
    "department": _l("District department"),
}


def role_label(key: object) -> str:
    value = getattr(key, "value", key)
    return str(ROLE_LABELS.get(str(value), value))


def unit_type_label(key: object) -> str:
    value = getattr(key, "value", key)
    return str(UNIT_TYPE_LABELS.get(str(value), value or ""))


TASK_STATUS: dict[str, LazyString] = {
    "ready": _l("Waiting"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
INSTANCE_STATUS: dict[str, LazyString] = {
    "running": _l("In progress"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
DECISIONS: dict[str, LazyString] = {
    "approve": _l("Approved"),
    "return": _l("Returned"),
    "acknowledge": _l("Acknowledged"),
    "appeal": _l("Appealed"),
}
NOTIFICATION_KINDS: dict[str, LazyString] = {
    "assigned": _l("New task"),
    "returned": _l("Returned to you"),
    "appeal": _l("Appeal"),
    "reminder": _l("Reminder"),
    "escalation": _l("Escalation"),
    "feedback": _l("Feedback"),
    "weekly_log": _l("Weekly log"),
    "weekly_log_missing": _l("Missing weekly log"),
    "publish_quarter": _l("Publish the quarter"),
    "publication": _l("Results published"),
    "objection": _l("Objection to published results"),
    "objection_answer": _l("Answer to my objection"),
    "differentiation": _l("Scores that do not differentiate"),
    "overdue_digest": _l("My overdue tasks"),
    "overdue_unit_digest": _l("Overdue tasks of my unit"),
}


def _lookup(table: dict[str, LazyString], key: object) -> str:
    value = str(getattr(key, "value", key) or "")
    return str(table.get(value, value))


def task_status(key: object) -> str:
    return _lookup(TASK_STATUS, key)


def instance_status(key: object) -> str:
    return _lookup(INSTANCE_STATUS, key)


def decision_label(key: object) -> str:
    return _lookup(DECISIONS, key)


def notification_kind(key: object) -> str:
    return _lookup(NOTIFICATION_KINDS, key)


def assignment_warning(code: str | None) -> str:
    """Words for the ``kind|lane_role|role`` codes written by lane resolution."""
    if not code:
        return ""
    kind, lane, role = ([*code.split("|"), "", ""])[:3]
    if kind == "escalated":
        return str(
            _l(
                "The subject holds the %(lane)s role; the step went up to the %(role)s.",
                lane=role_label(lane),
                role=role_label(role),
            )
        )
    if kind == "vacant":
        return str(
            _l(
                "Nobody holds the %(lane)s role for this person; the %(role)s received it. "
                "Appoint one on the organisation page.",
                lane=role_label(lane),
                role=role_label(role),
            )
        )
    return str(
        _l("Nobody holds the %(lane)s role and there is no administrator to fall back to.", lane=role_label(lane))
    )
