"""Comprehensive evaluation pages (综合测评): rounds and completion for the unit administrator, the rating
sheet (the task page of ``evaluation_rating``) for raters, and each person's own aggregate result.

Routes are thin: every rule — who may see what, anonymity, validation — lives in
``app.services.appraisal.evaluation*``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")

DIMENSION_LABELS = {
    "de": _l("De (integrity)"),
    "neng": _l("Neng (ability)"),
    "qin": _l("Qin (diligence)"),
    "ji": _l("Ji (results)"),
    "lian": _l("Lian (probity)"),
}
GROUP_LABELS = {
    "leader": _l("Leaders"),
    "peer": _l("Colleagues"),
    "self": _l("Self"),
    "others": _l("Leaders and colleagues (merged)"),
}
STATUS_LABELS = {"open": _l("Open"), "closed": _l("Closed")}


@bp.context_processor
def _labels() -> dict[str, Any]:
    def value(key: object) -> str:
        return str(getattr(key, "value", key))

    return {
        "dimension_label": lambda d: str(DIMENSION_LABELS.get(value(d), value(d))),
        "group_label": lambda g: str(GROUP_LABELS.get(value(g), value(g))),
        "round_status_label": lambda s: str(STATUS_LABELS.get(value(s), value(s))),
    }


from app.web.evaluation import pages  # noqa: E402,F401
