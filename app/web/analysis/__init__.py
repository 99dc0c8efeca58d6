"""Monthly analysis reports (月分析报告) and the quarterly showcase (成果展示).

``reports.py``: the unit's report list, a report, its task page (``analysis.task``), the
office's overview and side-by-side reading. ``showcase.py``: the showcase page, posting,
curation and the authorised picture route.
"""

from __future__ import annotations

from datetime import datetime
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

bp = Blueprint("analysis", __name__, url_prefix="/analysis")

REPORT_STATE = {
    "not_opened": (_l("Not opened"), "light"),
    "drafting": (_l("Being drafted"), "info"),
    "returned": (_l("Returned for changes"), "warning"),
    "approving": (_l("With the principal"), "primary"),
    "reviewing": (_l("Submitted to the office"), "success"),
    "closed": (_l("Reviewed"), "secondary"),
}
SHOWCASE_STATE = {
    "pending": (_l("Awaiting curation"), "warning"),
    "approved": (_l("Published"), "success"),
    "featured": (_l("Featured"), "primary"),
    "hidden": (_l("Hidden"), "secondary"),
}


class PostForm(FlaskForm):
    """Only the CSRF token: the buttons' forms carry their own few fields."""


@bp.app_template_global()
def report_state(key: object) -> tuple[str, str]:
    label, colour = REPORT_STATE.get(str(getattr(key, "value", key)), (str(key), "light"))
    return str(label), colour


@bp.app_template_global()
def showcase_state(key: object) -> tuple[str, str]:
    label, colour = SHOWCASE_STATE.get(str(getattr(key, "value", key)), (str(key), "light"))
    return str(label), colour


@bp.app_template_filter("fromiso")
def fromiso(value: object) -> object:
    """A moment stored as ISO text in a report's figures, back to a datetime for ``datetimeformat``."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def local_today() -> datetime:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"]))


def store() -> Path:
    """The evidence store, outside the web root (shared with the other uploads)."""
    return Path(current_app.instance_path) / "evidence"


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


for _module in ("reports", "showcase"):
    import_module(f"{__name__}.{_module}")
