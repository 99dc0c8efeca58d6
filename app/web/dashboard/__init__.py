"""Dashboards (every role's home page), their Excel exports, the registration form, process analytics.

Routes only parse arguments and call ``app.services.dashboard`` / ``app.workflow.analytics``;
every access check is in those services.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session
from app.services import accounts
from app.services.appraisal import common as appraisal_common
from app.services.appraisal.differentiation import Thresholds
from app.services.dashboard import home_kind, office, section, staff, unit
from app.services.dashboard.common import Dashboard, table_xlsx
from app.services.dashboard.registration import registration_form
from app.services.periods import month_before
from app.web.localise import localise

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today() -> Any:
    return appraisal_common.local_today(datetime.now(UTC))


def _period() -> str:
    return request.args.get("period") or month_before(_today())


def _year() -> str:
    return request.args.get("year") or str(_today().year)


def build(kind: str, scope_id: int | None) -> Dashboard:
    """The dashboard of ``kind`` for the request's period (services check the actor may see it)."""
    s, actor = current_session(), current_user.actor
    if kind == "staff":
        return staff.staff_dashboard(s, actor, _year(), person_id=scope_id)
    if kind == "section":
        if scope_id is None:
            abort(404)
        return section.section_dashboard(s, actor, scope_id, _period())
    if kind == "unit":
        if scope_id is None:
            abort(404)
        limits = Thresholds.from_config(current_app.config)
        return unit.unit_dashboard(s, actor, scope_id, _period(), limits=limits)
    if kind == "office":
        return office.office_dashboard(s, actor, _period())
    abort(404)


def _default_scope(kind: str) -> int | None:
    actor = current_user.actor
    if kind == "section":
        led = section.sections_led(current_session(), actor)
        return led[0].id if led else None
    if kind == "unit":
        from app.models import Role

        units = actor.unit_ids_for(Role.unit_admin, Role.unit_principal)
        if units:
            return min(units)
        led = section.sections_led(current_session(), actor)
        return next((s.parent_id for s in led if s.parent_id is not None and s.kind.value == "section"), None)
    return None


def _tabs() -> list[tuple[str, str, str]]:
    """(kind, label, url) of every dashboard the user has, for the switcher above each one."""
    actor, out = current_user.actor, []
    if actor.person_id is not None and actor.section_id is not None:
        out.append(("staff", _("My year"), url_for("dashboard.staff_page")))
    if section.sections_led(current_session(), actor):
        out.append(("section", _("My section"), url_for("dashboard.section_home")))
    if _default_scope("unit") is not None:
        out.append(("unit", _("My unit"), url_for("dashboard.unit_home")))
    if actor.is_district_wide:
        out.append(("office", _("District"), url_for("dashboard.office_page")))
    return out


def _export_args(dash: Dashboard) -> dict[str, Any]:
    """The query an export link needs to rebuild the same dashboard."""
    args: dict[str, Any] = {"year": dash.period} if dash.kind == "staff" else {"period": dash.period}
    if dash.kind != "office":
        args["id"] = dash.scope_id
    return args


def render(dash: Dashboard, *, home: bool = False) -> Any:
    roles = accounts.describe_roles(current_session(), current_user.account) if home else []
    led = section.sections_led(current_session(), current_user.actor) if dash.kind == "section" else []
    return render_template(
        "dashboard/page.html",
        dash=dash,
        home=home,
        roles=roles,
        tabs=_tabs(),
        led=led,
        export_args=_export_args(dash),
        fmt=appraisal_common.fmt,
        tz=appraisal_common.policy().tz,
    )


def render_home() -> Any:
    """The home page: the dashboard of the widest scope the user holds, or the plain home page."""
    kind = home_kind(current_user.actor)
    scope = _default_scope(kind) if kind in ("section", "unit") else None
    if kind is None or (kind in ("section", "unit") and scope is None):
        roles = accounts.describe_roles(current_session(), current_user.account)
        return render_template("main/home.html", roles=roles)
    return render(build(kind, scope), home=True)


@bp.get("/me")
@login_required
def staff_page() -> Any:
    return render(build("staff", request.args.get("person_id", type=int)))


@bp.get("/section")
@login_required
def section_home() -> Any:
    scope = _default_scope("section")
    if scope is None:
        abort(404)
    return redirect(url_for("dashboard.section_page", section_id=scope, period=request.args.get("period")))


@bp.get("/section/<int:section_id>")
@login_required
def section_page(section_id: int) -> Any:
    return render(build("section", section_id))


@bp.get("/unit")
@login_required
def unit_home() -> Any:
    scope = _default_scope("unit")
    if scope is None:
        abort(404)
    return redirect(url_for("dashboard.unit_page", unit_id=scope, period=request.args.get("period")))


@bp.get("/unit/<int:unit_id>")
@login_required
def unit_page(unit_id: int) -> Any:
    return render(build("unit", unit_id))


@bp.get("/office")
@login_required
def office_page() -> Any:
    return render(build("office", None))


@bp.get("/<any(staff, section, unit, office):kind>/export/<key>.xlsx")
@login_required
def export(kind: str, key: str) -> Any:
    """One panel's table as Excel, with the same period and scope as the page it sits on."""
    dash = build(kind, request.args.get("id", type=int))
    panel = dash.panel(key)
    heading = " · ".join(x for x in (str(localise(dash.title)), dash.scope_name, dash.period) if x)
    body = table_xlsx(panel, localise, heading)
    name = f"{kind}-{key}-{dash.period}.xlsx"
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/registration/<int:person_id>/<year>")
@login_required
def registration(person_id: int, year: str) -> Any:
    form = registration_form(current_session(), current_user.actor, person_id, year)
    return render_template("dashboard/registration.html", form=form, printed=_today(), fmt=appraisal_common.fmt)


from app.web.dashboard import analytics as _analytics  # noqa: E402,F401  (routes of the analytics blueprint)
