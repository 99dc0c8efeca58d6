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
