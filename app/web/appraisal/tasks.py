"""The task pages of periodic appraisal (``appraisal.task``): summary, per-item scoring, the leader's review.

The generic task page sends tasks of these forms here. The page builds the same payload the
API takes and completes the task through the engine; the task handlers validate it.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session, db
from app.models import HumanTask, TaskStatus
from app.models.base import utcnow
from app.services.appraisal import common, flow, records, scoring, weeks
from app.services.errors import Conflict, Forbidden, Invalid
from app.web.appraisal import bp, today
from app.web.localise import localise
from app.workflow import runtime, views
from forms import FORMS
from forms.registry import DATA_LABELS, FLAT_TYPES

PAGE = "appraisal.task"


def _can_act(task: HumanTask) -> bool:
    actor = current_user.actor
    return (
        task.status is TaskStatus.ready
        and runtime.is_candidate(current_session(), task, actor.person_id)
        and task.claimed_by_id in (None, actor.person_id)
    )


def _payload(task: HumanTask, mode: str | None, item_ids: list[int]) -> dict[str, Any]:
    form = request.form
    if task.form_key == "appraisal_score" and mode is not None:
        payload: dict[str, Any] = {
            "score_comment": form.get("score_comment", ""),
            "justification": form.get("justification", ""),
        }
        if mode == "items":
            payload["item_scores"] = [
                {"item_id": i, "score": form.get(f"item-{i}-score", ""), "comment": form.get(f"item-{i}-comment", "")}
                for i in item_ids
            ]
        else:
            payload["score"] = form.get("score", "")
        return payload
    return {f.name: form.get(f.name, "") for f in FORMS[task.form_key].fields if f.type in FLAT_TYPES}


def _context(task: HumanTask) -> dict[str, Any]:
    """What the page shows beside the form: the record, the indicators, the logs of the period."""
    record = flow.record_for_task(current_session(), task)
    out: dict[str, Any] = {"record": record, "mode": None, "indicators": [], "groups": [], "states": []}
    if record is None:
        return out
    out["groups"] = weeks.period_entries(current_session(), record.person_id, record.period)
    out["states"] = weeks.person_weeks(
        current_session(), record.person_id, common.weeks_of_period(record.period), today()
    )
    out["by_item"] = {g.item.id: g for g in out["groups"] if g.item is not None}
    out["formula"] = records.formula(record)
    if task.form_key == "appraisal_score":
        version = scoring.basis(current_session(), record)
        out["mode"] = "items" if version is not None else "overall"
        out["indicators"] = list(version.items) if version is not None else []
        out["version"] = version
        out["threshold"] = scoring.threshold
        out["low_share"] = int(common.policy().low_share * 100)
    elif task.form_key == "period_summary":
        out["prefill"] = weeks.prefill(out["groups"])
    return out


def _values(task: HumanTask, ctx: dict[str, Any]) -> dict[str, Any]:
    """Initial form values: the record's earlier answers (a re-score starts from the last scores)."""
    record = ctx["record"]
    if record is None:
        return {}
    if task.form_key == "period_summary":
        return {"summary": record.summary or ctx.get("prefill", ""), "plan": record.plan or ""}
    if task.form_key == "appraisal_score":
        values: dict[str, Any] = {
            "score_comment": record.score_comment or "",
            "justification": record.justification or "",
            "score": common.fmt(record.score) if record.score_mode == "overall" else "",
        }
        for s in record.items:
            values[f"item-{s.indicator_item_id}-score"] = common.fmt(s.score)
            values[f"item-{s.indicator_item_id}-comment"] = s.comment or ""
        return values
    return {}


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    actor = current_user.actor
    item = runtime.get_task_for(current_session(), actor, task_id)
    spec = FORMS[item.form_key]
    if spec.page != PAGE:
        return redirect(url_for("inbox.task", task_id=task_id))
    ctx = _context(item)
    values = _values(item, ctx)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not _can_act(item):
            flash(_("This task is not waiting for you."), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        payload = _payload(item, ctx["mode"], [i.id for i in ctx["indicators"]])
        try:
            result = runtime.complete_task(current_session(), actor, item.id, payload)
        except Invalid as exc:
            db.session.rollback()
            errors = {k: localise(v) for k, v in exc.fields.items()}
            flash(localise(exc.message), "danger")
            values = dict(request.form)
            item = runtime.get_task_for(current_session(), actor, task_id)
            ctx = _context(item)
            status = 422
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(localise(exc.message), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        else:
            flash(_("Done: %(step)s for %(name)s.", step=item.step_name, name=item.subject_name), "success")
            nxt = result.next_tasks[0] if result.next_tasks else None
            if nxt is not None and runtime.is_candidate(current_session(), nxt, actor.person_id):
                return redirect(url_for("inbox.task", task_id=nxt.id))
            return redirect(url_for("inbox.tasks"))
    detail = views.instance_detail(current_session(), actor, item.instance_id)
    shown = {k: detail.data[k] for k in spec.shows if detail.data.get(k) not in (None, "")}
    return render_template(
        "appraisal/task.html",
        task=item,
        spec=spec,
        can_act=_can_act(item),
        detail=detail,
        shown=shown,
        labels=DATA_LABELS,
        documentation=views.step_documentation(item.instance, item.step_id),
        values=values,
        errors=errors,
        flat_fields=[f for f in spec.fields if f.type in FLAT_TYPES],
        now=utcnow(),
        **ctx,
    ), status
