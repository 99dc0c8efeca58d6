"""Results pages: a unit's quarter and annual results, grading within the quota, veto items, my results.

``pages.py`` holds the quarter and annual pages and their actions; ``flags.py`` the scoring flags
(differentiation check) and the Excel export. This module holds the blueprint, forms, labels and
the sentences that explain each rule applied to a result.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.web.results.labels import STATUS, grade_label

bp = Blueprint("results", __name__, url_prefix="/results")


class PeriodForm(FlaskForm):
    period = StringField(_l("Quarter"), validators=[InputRequired()], description=_l("For example 2026-Q4."))


class YearForm(FlaskForm):
    year = StringField(_l("Year"), validators=[InputRequired()], description=_l("For example 2026."))


class VetoForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, validators=[InputRequired()])
    item = SelectField(_l("Veto item"), validators=[InputRequired()])
    occurred_on = DateField(_l("Date"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(), Length(max=2000)],
        description=_l("What happened and where it is documented (decision number, notice)."),
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why is it withdrawn?"), validators=[InputRequired(), Length(max=2000)])


REQUIRES = {
    "none": _l("nothing beyond the score"),
    "one_good": _l("at least one"),
    "majority_good": _l("more than half"),
}


def explain(step: dict[str, Any]) -> str:
    """One rule applied to a result, as a sentence with its numbers."""
    rule = step.get("rule")
    grade = grade_label(step.get("grade"))
    if rule == "threshold":
        return _(
            "score %(total)s → %(grade)s by threshold (from %(minimum)s)",
            total=step["total"],
            grade=grade,
            minimum=step["minimum"],
        )
    if rule == "veto":
        return _("set to %(grade)s by a veto item: %(label)s", grade=grade, label=step.get("label", ""))
    if rule == "excellent_requires":
        return _(
            "demoted to %(grade)s: only %(good)s of %(periods)s quarters graded 好 (rule: %(rule)s)",
            grade=grade,
            good=step["good"],
            periods=step["periods"],
            rule=str(REQUIRES.get(step.get("requires", ""), step.get("requires", ""))),
        )
    if rule == "excellent_forbids_low":
        return _(
            "demoted to %(grade)s: %(quarters)s graded 一般 or 较差 (rule: no such quarter for 优秀)",
            grade=grade,
            quarters=", ".join(step.get("quarters", [])),
        )
    if rule == "quota_choice":
        if step.get("kept"):
            return _(
                "kept %(grade)s within the quota of %(cap)s (chosen by %(by)s)",
                grade=grade,
                cap=step["cap"],
                by=step["by"],
            )
        return _(
            "dropped to %(grade)s: over the quota of %(cap)s (chosen by %(by)s)",
            grade=grade,
            cap=step["cap"],
            by=step["by"],
        )
    return str(rule)


@bp.context_processor
def _labels() -> dict[str, Any]:
    def status_of(key: object) -> tuple[str, str]:
        value = str(getattr(key, "value", key))
        label, colour = STATUS.get(value, (value, "secondary"))
        return str(label), colour

    def requires_label(key: str) -> str:
        return str(REQUIRES.get(key, key))

    return {
        "grade_label": grade_label,
        "result_status": status_of,
        "explain": explain,
        "requires_label": requires_label,
    }


for _module in ("pages", "flags"):  # their routes register on ``bp`` when imported
    import_module(f"app.web.results.{_module}")
