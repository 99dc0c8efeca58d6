"""Bonus and deduction pages (绩优加分/绩差扣分): propose, my items, the section/unit list with cap usage
and its Excel export, the item page with evidence and history, and the task page of bonus_deduction.

``pages.py`` holds the proposal and list pages, ``tasks.py`` the item and task pages. This module holds
the blueprint and the labels they share.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from app.services.appraisal import common

bp = Blueprint("bonus", __name__, url_prefix="/bonus")

KIND_LABELS = {
    "innovation": _l("Innovative work"),
    "commendation": _l("Commendation or award"),
    "responsibility": _l("Taking on responsibility"),
    "over_fulfilment": _l("Over-fulfilment of tasks"),
    "information": _l("Information reporting"),
    "criticism": _l("Criticised in a circular"),
    "discipline": _l("Breach of appraisal discipline"),
}
STATUS_LABELS = {
    "proposed": (_l("Proposed"), "info"),
    "in_review": (_l("Awaiting approval"), "warning"),
    "approved": (_l("Approved"), "success"),
    "rejected": (_l("Not approved"), "danger"),
    "withdrawn": (_l("Withdrawn"), "secondary"),
}
DIRECTION_LABELS = {"bonus": _l("Bonus"), "deduction": _l("Deduction")}


@bp.context_processor
def _labels() -> dict[str, Any]:
    def value(key: object) -> str:
        return str(getattr(key, "value", key))

    return {
        "kind_label": lambda k: str(KIND_LABELS.get(value(k), value(k))),
        "status_label": lambda s: str(STATUS_LABELS.get(value(s), (value(s), ""))[0]),
        "status_colour": lambda s: STATUS_LABELS.get(value(s), ("", "secondary"))[1],
        "direction_label": lambda d: str(DIRECTION_LABELS.get(value(d), value(d))),
        "fmt_points": common.fmt,
    }


def store() -> Path:
    """The evidence store, outside the web root."""
    return Path(current_app.instance_path) / "evidence"


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


for _module in ("pages", "tasks"):  # their routes register on ``bp`` when imported
    import_module(f"app.web.bonus.{_module}")
