"""Appraisal pages (平时考核): weekly logs, the section's log overview, task pages, appraisal records.

``logs.py`` holds the log pages, ``tasks.py`` the summary / score / review task pages
(``appraisal.task``), ``records.py`` the records. This module holds the blueprint and what
they share.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l

from app.services.appraisal import common

bp = Blueprint("appraisal", __name__, url_prefix="/appraisal")

WEEK_STATUS = {
    "on_time": (_l("On time"), "success"),
    "late": (_l("Late"), "warning"),
    "missing": (_l("Missing"), "danger"),
    "pending": (_l("Not yet due"), "light"),
}
RECORD_STATUS = {
    "summary": (_l("Summary to write"), "info"),
    "scoring": (_l("Being scored"), "primary"),
    "review": (_l("In review"), "warning"),
    "feedback": (_l("Result sent"), "success"),
    "archived": (_l("Archived"), "secondary"),
}
CATEGORY_NAMES = {
    "key_work": _l("Key work"),
    "duties": _l("Functional duties"),
    "common": _l("Common indicators"),
    "temporary": _l("Temporary tasks"),
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    def week_status(key: str) -> str:
        return str(WEEK_STATUS.get(key, (key, ""))[0])

    def week_colour(key: str) -> str:
        return WEEK_STATUS.get(key, ("", "secondary"))[1]

    def record_status(key: object) -> str:
        value = str(getattr(key, "value", key))
        return str(RECORD_STATUS.get(value, (value, ""))[0])

    def record_colour(key: object) -> str:
        return RECORD_STATUS.get(str(getattr(key, "value", key)), ("", "secondary"))[1]

    def category_name(key: object) -> str:
        value = str(getattr(key, "value", key))
        return str(CATEGORY_NAMES.get(value, value))

    return {
        "week_status": week_status,
        "week_colour": week_colour,
        "record_status": record_status,
        "record_colour": record_colour,
        "category_name": category_name,
        "fmt_score": common.fmt,
    }


def store() -> Path:
    """The evidence store, outside the web root."""
    return Path(current_app.instance_path) / "evidence"


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def today() -> Any:
    return common.local_today(datetime.now(UTC))


for _module in ("logs", "records", "tasks"):  # their routes register on ``bp`` when imported
    import_module(f"app.web.appraisal.{_module}")
