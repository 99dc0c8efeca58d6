"""The item page (details, counted points, evidence, process history) and the task page of bonus_deduction.

The generic task page sends tasks of the bonus forms here (``bonus.task``). The page shows the
item beside the form, lets the proposer or section head attach evidence, and completes the task
through the engine with the same payload the API takes; the task handlers validate it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session, db
from app.models import BonusItem, HumanTask, TaskStatus
from app.models.base import utcnow
from app.services import evidence
from app.services.appraisal import bonus_access, bonus_flow, bonus_items
from app.services.appraisal.bonus import counted_points, quarter_of
from app.services.appraisal.scheme import BONUS_KINDS
from app.services.errors import Conflict, Forbidden, Invalid
from app.web.bonus import KIND_LABELS, bp, max_upload_bytes, store
from app.web.localise import localise
from app.workflow import runtime, views
from forms import FORMS
from forms.registry import FLAT_TYPES

PAGE = "bonus.task"


def _item_context(item: BonusItem) -> dict[str, Any]:
    session = current_session()
    return {
        "item": item,
        "points": counted_points(session, item.person_id, quarter_of(item.occurred_on)),
        "history": bonus_items.history(session, item),
        "may_edit_evidence": bonus_access.may_edit_evidence(current_user.actor, item),
        "quarter": quarter_of(item.occurred_on),
    }


@bp.get("/items/<int:item_id>")
@login_required
def item(item_id: int) -> Any:
    found = bonus_items.get_item(current_session(), current_user.actor, item_id)
    open_tasks = [
        t
        for t in current_session()
        .query(HumanTask)
        .filter(HumanTask.instance_id == found.instance_id, HumanTask.status == TaskStatus.ready)
        if runtime.is_candidate(current_session(), t, current_user.actor.person_id)
    ]
    return render_template("bonus/item.html", open_tasks=open_tasks, **_item_context(found))


def _back(item_id: int) -> Any:
    target = request.form.get("next_task", type=int)
    if target is not None:
        return redirect(url_for(PAGE, task_id=target))
    return redirect(url_for("bonus.item", item_id=item_id))


@bp.post("/items/<int:item_id>/evidence")
@login_required
def upload_evidence(item_id: int) -> Any:
    files = [f for f in request.files.getlist("evidence") if f and f.filename]
    if not files:
        flash(_("Choose a file to attach."), "warning")
        return _back(item_id)
    try:
        for f in files:
            upload = evidence.Upload(f.filename or "", f.read())
            bonus_items.add_evidence(
                current_session(), current_user.actor, item_id, upload, store(), max_upload_bytes()
            )
    except (Invalid, Conflict) as exc:
        db.session.rollback()
        detail = getattr(exc, "fields", {}).get("evidence")
        message = localise(exc.message)
        flash(f"{message} {localise(detail)}" if detail else message, "danger")
    else:
        flash(_("The file is attached."), "success")
    return _back(item_id)


@bp.post("/evidence/<int:evidence_id>/remove")
@login_required
def remove_evidence(evidence_id: int) -> Any:
    found = bonus_items.remove_evidence(current_session(), current_user.actor, evidence_id)
    flash(_("The file is removed."), "success")
    return _back(found.id)


@bp.get("/evidence/<int:evidence_id>")
@login_required
def evidence_download(evidence_id: int) -> Any:
    path, name, mimetype = bonus_items.evidence_file(current_session(), current_user.actor, evidence_id, store())
    inline = mimetype.startswith(("image/", "application/pdf"))
    return send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=name)


def _can_act(task: HumanTask) -> bool:
    actor = current_user.actor
    return (
        task.status is TaskStatus.ready
        and runtime.is_candidate(current_session(), task, actor.person_id)
        and task.claimed_by_id in (None, actor.person_id)
    )


def _payload(task: HumanTask) -> dict[str, Any]:
    form = request.form
    payload = {f.name: form.get(f.name, "") for f in FORMS[task.form_key].fields if f.type in FLAT_TYPES}
    if task.form_key == "bonus_revise":
        payload.update({k: form.get(k, "") for k in bonus_flow.REVISE_FIELDS})
    return payload


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    actor = current_user.actor
    current = runtime.get_task_for(current_session(), actor, task_id)
    spec = FORMS[current.form_key]
    if spec.page != PAGE:
        return redirect(url_for("inbox.task", task_id=task_id))
    found = bonus_flow.item_for_instance(current_session(), current.instance_id)
    if found is None:
        raise Conflict(_("This process has no bonus or deduction item."))
    values: dict[str, Any] = {
        "kind": found.kind,
        "points": str(found.points.normalize()),
        "occurred_on": found.occurred_on.isoformat(),
        "reason": found.reason,
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not _can_act(current):
            flash(_("This task is not waiting for you."), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        try:
            result = runtime.complete_task(current_session(), actor, current.id, _payload(current))
        except Invalid as exc:
            db.session.rollback()
            errors = {k: localise(v) for k, v in exc.fields.items()}
            flash(localise(exc.message), "danger")
            values = dict(request.form)
            current = runtime.get_task_for(current_session(), actor, task_id)
            found = bonus_flow.item_for_instance(current_session(), current.instance_id)
            assert found is not None
            status = 422
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(localise(exc.message), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        else:
            flash(_("Done: %(step)s for %(name)s.", step=current.step_name, name=current.subject_name), "success")
            nxt = result.next_tasks[0] if result.next_tasks else None
            if nxt is not None and runtime.is_candidate(current_session(), nxt, actor.person_id):
                return redirect(url_for("inbox.task", task_id=nxt.id))
            return redirect(url_for("bonus.item", item_id=found.id))
    return render_template(
        "bonus/task.html",
        task=current,
        spec=spec,
        can_act=_can_act(current),
        documentation=views.step_documentation(current.instance, current.step_id),
        values=values,
        errors=errors,
        flat_fields=[f for f in spec.fields if f.type in FLAT_TYPES],
        bonus_kinds=[(k, KIND_LABELS[k]) for k in BONUS_KINDS],
        now=utcnow(),
        **_item_context(found),
    ), status
