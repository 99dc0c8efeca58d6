"""Scoring scheme pages (考核方案): the office edits the district default of a year, a unit its override.

The form lists every setting; on a unit's page the district value stands beside each one and the
settings that differ are marked. A stale form (someone saved in between) is refused with the
version check; a rejected form comes back with what was typed and a message on each bad field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.extensions import current_session, db
from app.models import OrgKind, OrgUnit, Role, ScoringScheme
from app.services.appraisal import scheme as schemes
from app.services.appraisal.common import local_today
from app.services.errors import Conflict, Forbidden, Invalid
from app.web.localise import localise
from app.web.results.labels import ANNUAL_GRADES, PERIOD_GRADES

bp = Blueprint("scheme", __name__, url_prefix="/scheme")

GROUPS: dict[str, tuple[str, ...]] = {
    "rater_weights": schemes.RATER_GROUPS,
    "dimension_weights": schemes.DIMENSIONS,
    "period_grades": schemes.PERIOD_GRADES,
    "annual_grades": schemes.ANNUAL_GRADES,
    "grade_coefficients": schemes.PERIOD_GRADES,
}
SCALARS = (
    "indicator_weight",
    "evaluation_weight",
    "bonus_cap_period",
    "bonus_cap_year",
    "deduction_cap_period",
    "period_top_share",
    "annual_top_share",
)
KEY_LABELS: dict[str, Any] = {
    "leader": _l("Leaders"),
    "peer": _l("Peers"),
    "self": _l("Self"),
    "de": _l("德 (integrity)"),
    "neng": _l("能 (ability)"),
    "qin": _l("勤 (diligence)"),
    "ji": _l("绩 (results)"),
    "lian": _l("廉 (probity)"),
    **PERIOD_GRADES,
    **ANNUAL_GRADES,
}
SECTIONS = (
    (_l("Weights of the total"), ("indicator_weight", "evaluation_weight")),
    (_l("Bonus and deduction caps"), ("bonus_cap_period", "bonus_cap_year", "deduction_cap_period")),
    (_l("Comprehensive evaluation"), ("evaluation_period", "rater_weights", "dimension_weights")),
    (_l("Quarter grades"), ("period_grades", "period_top_share")),
    (
        _l("Annual grades and rules"),
        ("annual_grades", "annual_top_share", "excellent_requires", "excellent_forbids_low_periods", "veto_items"),
    ),
    (
        _l("Publication and bonus distribution"),
        ("publicity_days", "publish_scope", "distribution_method", "grade_coefficients"),
    ),
)


class SchemeForm(FlaskForm):
    version = HiddenField()
    indicator_weight = StringField(_l("Weight of the indicator score"), description=_l("A share, e.g. 0.8."))
    evaluation_weight = StringField(
        _l("Weight of the comprehensive evaluation"), description=_l("The two weights add up to 1.")
    )
    bonus_cap_period = StringField(_l("Bonus cap per quarter (points)"))
    bonus_cap_year = StringField(_l("Bonus cap per year (points)"))
    deduction_cap_period = StringField(
        _l("Deduction cap per quarter (points)"),
        validators=[Optional()],
        description=_l("Empty: every deduction counts."),
    )
    evaluation_period = SelectField(
        _l("Evaluation round"),
        choices=[SelectChoice("quarter", _l("Every quarter")), SelectChoice("year", _l("Once a year"))],
    )
    period_top_share = StringField(_l("Largest share of 好 in a quarter"), description=_l("0.4 means 40 per cent."))
    annual_top_share = StringField(_l("Largest share of 优秀 in a year"), description=_l("0.2 means 20 per cent."))
    excellent_requires = SelectField(
        _l("优秀 requires"),
        choices=[
            SelectChoice("none", _l("Nothing beyond the score")),
            SelectChoice("one_good", _l("At least one quarter graded 好")),
            SelectChoice("majority_good", _l("好 in more than half of the quarters")),
        ],
    )
    excellent_forbids_low_periods = BooleanField(_l("No 优秀 with a quarter graded 一般 or 较差"))
    veto_items = TextAreaField(
        _l("Veto items (一票否决)"), description=_l("One per line: key: label, e.g. serious_violation: 严重违纪违法.")
    )
    publicity_days = StringField(_l("Publicity window (days)"))
    publish_scope = SelectField(
        _l("People see"),
        choices=[
            SelectChoice("unit", _l("The unit's published list")),
            SelectChoice("own", _l("Only their own result")),
        ],
    )
    distribution_method = SelectField(
        _l("Bonus distribution"),
        choices=[
            SelectChoice("score", _l("By total score")),
            SelectChoice("score_x_grade", _l("By total score × grade coefficient")),
        ],
    )


for _group, _keys in GROUPS.items():
    for _key in _keys:
        setattr(SchemeForm, f"{_group}__{_key}", StringField(KEY_LABELS.get(_key, _key)))

GROUP_LABELS: dict[str, Any] = {
    "rater_weights": _l("Rater-group weights (add up to 1)"),
    "dimension_weights": _l("Dimension weights (add up to 100)"),
    "period_grades": _l("Lowest total of each quarter grade"),
    "annual_grades": _l("Lowest total of each annual grade"),
    "grade_coefficients": _l("Bonus coefficient of each quarter grade"),
}


def fill(form: SchemeForm, scheme: schemes.Scheme) -> None:
    data = schemes.to_dict(scheme)
    for name in (*SCALARS, "evaluation_period", "excellent_requires", "publish_scope", "distribution_method"):
        value = data[name]
        getattr(form, name).data = "" if value is None else str(value)
    form.excellent_forbids_low_periods.data = bool(data["excellent_forbids_low_periods"])
    form.publicity_days.data = str(data["publicity_days"])
    form.veto_items.data = "\n".join(f"{k}: {v}" for k, v in scheme.veto_items)
    for group, keys in GROUPS.items():
        for key in keys:
            getattr(form, f"{group}__{key}").data = data[group][key]


def submitted(form: SchemeForm) -> dict[str, Any]:
    """The form as the service's dict; text is passed as typed so the service names what is wrong."""
    out: dict[str, Any] = {name: (getattr(form, name).data or "").strip() for name in SCALARS}
    out["deduction_cap_period"] = out["deduction_cap_period"] or None
    for name in ("evaluation_period", "excellent_requires", "publish_scope", "distribution_method"):
        out[name] = getattr(form, name).data
    out["excellent_forbids_low_periods"] = bool(form.excellent_forbids_low_periods.data)
    days = (form.publicity_days.data or "").strip()
    out["publicity_days"] = int(days) if days.isdigit() else days
    veto: dict[str, str] = {}
    for line in (form.veto_items.data or "").splitlines():
        if line.strip():
            key, _sep, label = line.partition(":")
            veto[key.strip()] = label.strip()
    out["veto_items"] = veto
    for group, keys in GROUPS.items():
        out[group] = {key: (getattr(form, f"{group}__{key}").data or "").strip() for key in keys}
    return out


def apply_errors(form: SchemeForm, exc: Invalid) -> dict[str, str]:
    """Put field messages on the fields; messages about a whole group are returned for its heading."""
    groups: dict[str, str] = {}
    for name, message in exc.fields.items():
        field = getattr(form, name.replace(".", "__"), None)
        if field is not None and name not in GROUPS:
            field.errors = [*list(field.errors), localise(message)]
        else:
            groups[name] = localise(message)
    return groups


def _year() -> int:
    year = request.args.get("year", type=int) or local_today().year
    if not 2000 <= year <= 2100:
        abort(404)
    return year


def _unit(unit_id: int) -> OrgUnit:
    unit = current_session().get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        abort(404)
    return unit


@bp.get("/")
@login_required
def index() -> Any:
    actor = current_user.actor
    year = _year()
    if not actor.is_district_wide:
        managed = sorted(actor.unit_ids_for(Role.unit_admin))
        if not managed:
            abort(403)
        return redirect(url_for("scheme.unit_page", unit_id=managed[0], year=year))
    session = current_session()
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.code)))
    overrides = {
        row.unit_id: row
        for row in session.scalars(
            select(ScoringScheme).where(ScoringScheme.year == year, ScoringScheme.unit_id.is_not(None))
        )
    }
    district = schemes.effective_scheme(session, None, year)
    return render_template("scheme/index.html", year=year, units=units, overrides=overrides, district=district)


def _render(unit: OrgUnit | None, year: int, form: SchemeForm, groups: dict[str, str], status: int = 200) -> Any:
    session = current_session()
    current = schemes.effective_scheme(session, unit.id if unit else None, year)
    base = schemes.effective_scheme(session, None, year) if unit else None
    mine = current.source == ("unit" if unit else "district") and current.year == year
    reference = schemes.to_dict(base.scheme) if base else None
    shown = schemes.to_dict(current.scheme)
    differs = {k for k in shown if reference is not None and shown[k] != reference[k]}
    return render_template(
        "scheme/edit.html",
        unit=unit,
        year=year,
        form=form,
        groups=groups,
        sections=SECTIONS,
        group_keys=GROUPS,
        group_labels=GROUP_LABELS,
        current=current,
        has_row=mine,
        reference=reference,
        differs=differs,
        key_labels=KEY_LABELS,
    ), status


def _edit(unit: OrgUnit | None) -> Any:
    actor = current_user.actor
    session = current_session()
    year = _year()
    unit_id = unit.id if unit else None
    try:
        schemes.check_may_edit(actor, unit_id)
    except Forbidden:
        abort(403)
    form = SchemeForm()
    if request.method == "GET":
        current = schemes.effective_scheme(session, unit_id, year)
        fill(form, current.scheme)
        # "0": no row of this scope and year yet, so a row created meanwhile by someone else is a conflict
        form.version.data = (
            str(current.row.version) if current.row is not None and _own(current, unit_id, year) else "0"
        )
        return _render(unit, year, form, {})
    if not form.validate_on_submit():
        return _render(unit, year, form, {}, 422)
    expected = int(form.version.data) if (form.version.data or "").isdigit() else None
    try:
        schemes.save_scheme(session, actor, unit_id, year, submitted(form), expected_version=expected)
    except Invalid as exc:
        db.session.rollback()
        groups = apply_errors(form, exc)
        flash(localise(exc.message), "danger")
        return _render(unit, year, form, groups, 422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return _render(unit, year, form, {}, 409)
    flash(_("The scoring scheme was saved."), "success")
    if unit is None:
        return redirect(url_for("scheme.district_page", year=year))
    return redirect(url_for("scheme.unit_page", unit_id=unit.id, year=year))


def _own(current: schemes.EffectiveScheme, unit_id: int | None, year: int) -> bool:
    return current.year == year and current.source == ("unit" if unit_id is not None else "district")


@bp.route("/district", methods=["GET", "POST"])
@login_required
def district_page() -> Any:
    return _edit(None)


@bp.route("/unit/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit_page(unit_id: int) -> Any:
    return _edit(_unit(unit_id))


@bp.post("/unit/<int:unit_id>/remove")
@login_required
def remove_override(unit_id: int) -> Any:
    unit = _unit(unit_id)
    year = _year()
    if FlaskForm().validate_on_submit():
        try:
            removed = schemes.delete_override(current_session(), current_user.actor, unit.id, year)
        except Forbidden:
            abort(403)
        flash(
            _("The unit's override was removed; the district default applies.")
            if removed
            else _("The unit had no override for this year."),
            "success" if removed else "info",
        )
    return redirect(url_for("scheme.unit_page", unit_id=unit.id, year=year))
