"""Proposing an item, my items, the section/unit list with per-person cap usage, and its Excel export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from openpyxl import Workbook
from wtforms import DateField, DecimalField, MultipleFileField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.extensions import current_session, db
from app.services import evidence
from app.services.appraisal import bonus_access, bonus_items, common
from app.services.appraisal.bonus import quarter_of
from app.services.appraisal.scheme import BONUS_KINDS, DEDUCTION_KINDS
from app.services.errors import Forbidden, Invalid
from app.services.xlsx import header_cell, text_cell, to_bytes
from app.web.bonus import KIND_LABELS, STATUS_LABELS, bp, max_upload_bytes, store
from app.web.localise import localise


class ProposeForm(FlaskForm):
    person_id = SelectField(_l("For"), coerce=int, validators=[InputRequired()])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    points = DecimalField(_l("Points"), places=None, validators=[InputRequired()])
    occurred_on = DateField(_l("Date"), validators=[InputRequired()], description=_l("When it happened."))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    evidence = MultipleFileField(
        _l("Evidence"),
        description=_l("A commendation, circular, report or other proof: PDF, image, Word, Excel or text."),
    )


def _kind_choices(can_deduct: bool) -> list[tuple[str, str]]:
    kinds = BONUS_KINDS + (DEDUCTION_KINDS if can_deduct else ())
    return [(k, str(KIND_LABELS[k])) for k in kinds]


@bp.route("/propose", methods=["GET", "POST"])
@login_required
def propose() -> Any:
    actor = current_user.actor
    people = bonus_access.proposable_people(current_session(), actor)
    form = ProposeForm()
    form.person_id.choices = [(p.id, p.name + (f" · {p.section.name}" if p.section else "")) for p in people]
    form.kind.choices = _kind_choices(len(people) > 1)
    if request.method == "GET":
        form.person_id.data = request.args.get("person_id", actor.person_id, type=int)
        form.occurred_on.data = common.local_today()
    status = 200
    if request.method == "POST":
        if form.validate():
            data = {
                "kind": form.kind.data,
                "points": form.points.data,
                "occurred_on": form.occurred_on.data,
                "reason": form.reason.data,
            }
            files = [f for f in request.files.getlist(form.evidence.name) if f and f.filename]
            try:
                result = bonus_items.propose(current_session(), actor, form.person_id.data, data, common.local_today())
                for f in files:
                    upload = evidence.Upload(f.filename or "", f.read())
                    bonus_items.add_evidence(
                        current_session(), actor, result.item.id, upload, store(), max_upload_bytes()
                    )
            except (Invalid, Forbidden) as exc:
                db.session.rollback()
                for name, message in getattr(exc, "fields", {}).items():
                    if name in form:
                        form[name].errors = [*form[name].errors, localise(message)]
                flash(localise(exc.message), "danger")
                status = 422
            else:
                flash(_("The item is proposed; it now waits for the next step."), "success")
                if result.warning:
                    flash(localise(result.warning), "warning")
                if not files:
                    flash(_("Attach the evidence: an item without evidence cannot be approved."), "warning")
                return redirect(url_for("bonus.item", item_id=result.item.id))
        else:
            status = 422
    return render_template("bonus/propose.html", form=form), status


@bp.get("/mine")
@login_required
def mine() -> Any:
    actor = current_user.actor
    items = bonus_items.list_items(current_session(), actor, bonus_items.ItemFilters(person_id=actor.person_id))
    return render_template("bonus/mine.html", items=items, quarter_of=quarter_of)


def _filters() -> tuple[bonus_items.ItemFilters, str]:
    period = (request.args.get("period") or "").strip() or quarter_of(common.local_today())
    actor = current_user.actor
    units = bonus_access.unit_choices(current_session(), actor)
    unit_id = request.args.get("unit_id", type=int)
    if unit_id is None and units:
        unit_id = actor.unit_id if any(u.id == actor.unit_id for u in units) else units[0].id
    return (
        bonus_items.ItemFilters(
            unit_id=unit_id,
            section_id=request.args.get("section_id", type=int),
            period=period,
            kind=request.args.get("kind") or None,
            status=request.args.get("status") or None,
        ),
        period,
    )


@bp.get("/items")
@login_required
def items() -> Any:
    actor = current_user.actor
    units = bonus_access.unit_choices(current_session(), actor)
    if not units:
        raise Forbidden(_("Only section heads, unit leaders and the performance office see the lists of items."))
    filters, period = _filters()
    try:
        rows = bonus_items.list_items(current_session(), actor, filters)
    except Invalid as exc:
        flash(localise(exc.message), "warning")
        return redirect(url_for("bonus.items", unit_id=filters.unit_id))
    usage = []
    quarter = period if len(period) == 7 and "-Q" in period else None
    if quarter and filters.unit_id is not None:
        usage = bonus_access.cap_usage(current_session(), actor, filters.unit_id, quarter)
    return render_template(
        "bonus/items.html",
        items=rows,
        usage=usage,
        quarter=quarter,
        filters=filters,
        units=units,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        quarter_of=quarter_of,
    )


@bp.get("/items.xlsx")
@login_required
def export() -> Any:
    actor = current_user.actor
    filters, period = _filters()
    rows = bonus_items.list_items(current_session(), actor, filters, limit=20000)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Bonus and deduction items"))
    heads = [
        _("Name"),
        _("Section"),
        _("Kind"),
        _("Bonus or deduction"),
        _("Points"),
        _("Date"),
        _("Quarter"),
        _("Reason"),
        _("Status"),
        _("Proposed by"),
        _("Decision comment"),
        _("Decided by"),
        _("Evidence files"),
    ]
    ws.append([header_cell(ws, h) for h in heads])
    for item in rows:
        signed = item.points if item.direction.value == "bonus" else -item.points
        ws.append(
            [
                text_cell(ws, item.person.name),
                text_cell(ws, item.section.name if item.section else ""),
                text_cell(ws, str(KIND_LABELS.get(item.kind, item.kind))),
                text_cell(ws, _("Bonus") if item.direction.value == "bonus" else _("Deduction")),
                float(signed),
                item.occurred_on,
                text_cell(ws, quarter_of(item.occurred_on)),
                text_cell(ws, item.reason),
                text_cell(ws, str(STATUS_LABELS[item.status.value][0])),
                text_cell(ws, item.proposed_by.name),
                text_cell(ws, item.decision_comment or ""),
                text_cell(ws, item.decided_by.name if item.decided_by else ""),
                len(item.evidence),
            ]
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(
        to_bytes(wb),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="bonus-items-{period}-{stamp}.xlsx"'},
    )
