"""Labels of grades, rules and statuses shown on the results and scheme pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

PERIOD_GRADES: dict[str, Any] = {
    "good": _l("好 (good)"),
    "fairly_good": _l("较好 (fairly good)"),
    "average": _l("一般 (average)"),
    "poor": _l("较差 (poor)"),
}
# 合格/基本合格/不合格 for public institutions; civil servants say 称职/基本称职/不称职
ANNUAL_GRADES: dict[str, Any] = {
    "excellent": _l("优秀 (excellent)"),
    "competent": _l("合格 / 称职 (competent)"),
    "basically_competent": _l("基本合格 / 基本称职 (basically competent)"),
    "incompetent": _l("不合格 / 不称职 (incompetent)"),
}
STATUS: dict[str, tuple[Any, str]] = {
    "draft": (_l("Draft"), "warning"),
    "confirmed": (_l("Confirmed"), "success"),
}


def grade_label(key: str | None) -> str:
    if not key:
        return "—"
    return str(PERIOD_GRADES.get(key) or ANNUAL_GRADES.get(key) or key)
