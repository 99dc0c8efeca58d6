"""Inbox pages: 待办 / 可认领 / 已办 / 与我相关, the task page with its form, the instance page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app.extensions import current_session, db
from app.models import TaskStatus
from app.models.base import utcnow
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.periods import check_generic_start, generic_start_keys
from app.web.localise import localise
from app.workflow import inbox, repository, runtime, views
from forms import FORMS
from forms.builder import form_class
from forms.registry import DATA_LABELS

bp = Blueprint("inbox", __name__)

SCOPE_LABELS = {
    "mine": _l("Waiting for me"),
    "claimable": _l("Claimable"),
    "done": _l("Done by me"),
    "related": _l("About me"),
}


def _filters() -> inbox.TaskFilters:
    return inbox.TaskFilters(
        process=request.args.get("process") or None,
        period=request.args.get("period") or None,
        unit_id=request.args.get("unit_id", type=int),
        section_id=request.args.get("section_id", type=int),
    )


@bp.get("/tasks")
@login_required
def tasks() -> Any:
    scope = request.args.get("scope", "mine")
    if scope not in inbox.SCOPES:
        scope = "mine"
    actor = current_user.actor
    page = inbox.list_tasks(
        current_session(),
        actor,
        scope,
        _filters(),
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
    )
    filters = {k: v for k, v in request.args.items() if k not in {"page", "scope"} and v}
    return render_template(
        "inbox/tasks.html",
        page=page,
        scope=scope,
        scopes=SCOPE_LABELS,
        counts=inbox.counts(current_session(), actor),
        filters=filters,
        names=repository.process_names(current_session()),
        startable=generic_start_keys(repository.process_names(current_session())),
        now=utcnow(),
        org_options=inbox.filter_options(current_session(), actor, scope),
        instances=inbox.instances_about(current_session(), actor.person_id)
        if scope == "related" and actor.person_id
        else [],
    )


def _task_form(task_key: str) -> FlaskForm:
    return form_class(task_key, FlaskForm, _l)()


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    actor = current_user.actor
    item = runtime.get_task_for(current_session(), actor, task_id)
    spec = FORMS[item.form_key]
    if spec.page:  # structured forms (an indicator set) have their own page
        return redirect(url_for(spec.page, task_id=task_id))
    form = _task_form(item.form_key)
    can_act = (
        item.status is TaskStatus.ready
        and runtime.is_candidate(current_session(), item, actor.person_id)
        and item.claimed_by_id in (None, actor.person_id)
    )
    status = 200
    if request.method == "POST":
        if form.validate():
            payload = {f.name: request.form.get(f.name) for f in spec.fields}
            try:
                result = runtime.complete_task(current_session(), actor, item.id, payload)
            except Invalid as exc:
                for name, message in exc.fields.items():
                    if name in form:
                        form[name].errors = [*form[name].errors, message]
                status = 422
            except (Conflict, Forbidden) as exc:
                db.session.rollback()
                flash(localise(exc.message), "warning")
                return redirect(url_for("inbox.task", task_id=task_id))
            else:
                flash(_("Done: %(step)s for %(name)s.", step=item.step_name, name=item.subject_name), "success")
                nxt = result.next_tasks[0] if result.next_tasks else None
                if nxt is not None and runtime.is_candidate(current_session(), nxt, actor.person_id):
                    return redirect(url_for("inbox.task", task_id=nxt.id))
                return redirect(url_for("inbox.tasks"))
        else:
            status = 422
    detail = views.instance_detail(current_session(), actor, item.instance_id)
    shown = {k: detail.data[k] for k in spec.shows if detail.data.get(k) not in (None, "")}
    return render_template(
        "inbox/task.html",
        task=item,
        spec=spec,
        form=form,
        can_act=can_act,
        detail=detail,
        shown=shown,
        labels=DATA_LABELS,
        documentation=views.step_documentation(item.instance, item.step_id),
        now=utcnow(),
    ), status


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Any:
    runtime.claim(current_session(), current_user.actor, task_id)
    flash(_("You have claimed the task; others no longer see it as claimable."), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> Any:
    runtime.release(current_session(), current_user.actor, task_id)
    flash(_("The task is released for the other candidates."), "info")
    return redirect(url_for("inbox.tasks", scope="claimable"))


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Any:
    detail = views.instance_detail(current_session(), current_user.actor, instance_id)
    return render_template(
        "inbox/instance.html", detail=detail, labels=DATA_LABELS, names=repository.process_names(current_session())
    )


@bp.get("/instances/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int) -> Any:
    inst = views.instance_for(current_session(), current_user.actor, instance_id)
    return Response(inst.definition.bpmn_xml, mimetype="application/xml")


@bp.post("/processes/start")
@login_required
def start() -> Any:
    key = request.form.get("process", "")
    if key not in repository.process_names(current_session()):
        flash(_("Choose a process."), "warning")
        return redirect(url_for("inbox.tasks", scope="related"))
    try:
        check_generic_start(key)
        result = runtime.start_process(current_session(), current_user.actor, key, request.form.get("period", ""))
    except Invalid as exc:
        db.session.rollback()
        flash(localise(exc.message), "danger")
        return redirect(url_for("inbox.tasks", scope="related"))
    if not result.created:
        flash(_("It was already started; here it is."), "info")
    mine = [t for t in result.tasks if runtime.is_candidate(current_session(), t, current_user.actor.person_id)]
    if mine:
        return redirect(url_for("inbox.task", task_id=mine[0].id))
    return redirect(url_for("inbox.instance", instance_id=result.instance.id))
