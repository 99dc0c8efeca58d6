"""The drafting and review page of the indicator-setting process (forms ``indicator_draft``, ``indicator_review``).

Drafting posts every row on every button (``action``): add, remove-<n>, up-<n>, down-<n> re-render
the rows; save keeps a draft (guarded by the set's lock_version); copy and import fill the editor;
submit completes the task. A refused action re-renders what was typed, with the status that
rolls the request back (409 for a stale save, 422 for rule or input errors).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import current_session, db
from app.models import HumanTask, IndicatorSet, IndicatorSetVersion, TaskStatus, UnitTask
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.indicators import excel, flow, overview, sets, unit_tasks
from app.web.indicators import bp, rows
from app.web.localise import localise
from app.workflow import runtime, views

DRAFT, REVIEW = "indicator_draft", "indicator_review"


def _can_act(task: HumanTask) -> bool:
    actor = current_user.actor
    return (
        task.status is TaskStatus.ready
        and runtime.is_candidate(current_session(), task, actor.person_id)
        and task.claimed_by_id in (None, actor.person_id)
    )


def _version(task: HumanTask) -> tuple[IndicatorSet, IndicatorSetVersion, dict[str, Any]]:
    context = flow.task_context(current_session(), task)
    info = context["indicator_set"]
    s = sets.get_set(current_session(), current_user.actor, info["id"])
    version = next(v for v in s.versions if v.number == info["version"])
    return s, version, context


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    item = runtime.get_task_for(current_session(), current_user.actor, task_id)
    if item.form_key == DRAFT:
        return _draft(item)
    if item.form_key == REVIEW:
        return _review(item)
    return redirect(url_for("inbox.task", task_id=task_id))


def _common_page_data(item: HumanTask) -> dict[str, Any]:
    detail = views.instance_detail(current_session(), current_user.actor, item.instance_id)
    return {
        "task": item,
        "history": detail.history,
        "data": detail.data,
        "documentation": views.step_documentation(item.instance, item.step_id),
    }


# --- drafting -------------------------------------------------------------------------------


def _task_options(s: IndicatorSet, editing: list[rows.EditRow]) -> list[tuple[int, str]]:
    """Unit tasks a row may link to: the person's own of the year, plus any a row already names."""
    actor = current_user.actor
    own = unit_tasks.my_unit_tasks(current_session(), actor, s.year) if s.person_id == actor.person_id else []
    options = {t.id: t.title for t in own}
    linked = {int(r.unit_task_id) for r in editing if r.unit_task_id.isdigit()} - set(options)
    if linked and s.person.unit is not None:
        stmt = select(UnitTask).where(UnitTask.id.in_(linked), UnitTask.unit_id == s.person.unit.id)
        options.update({t.id: t.title for t in db.session.scalars(stmt)})
    return sorted(options.items(), key=lambda p: p[1])


_NOTICES = ("stale", "info", "warning", "import_error", "import_result", "focus", "message")


def _render_draft(
    item: HumanTask,
    s: IndicatorSet,
    version: IndicatorSetVersion,
    context: dict[str, Any],
    editing: list[rows.EditRow],
    status: int = 200,
    **extra: Any,
) -> Any:
    comments = {i.id: i.review_comment for i in version.items if i.review_comment}
    data = _common_page_data(item)
    page = render_template(
        "indicators/draft.html",
        s=s,
        version=version,
        rows=editing,
        totals=rows.totals(editing),
        comments=comments,
        can_act=_can_act(item),
        editable=rows.EDITABLE,
        task_options=_task_options(s, editing),
        changes=context.get("changes"),
        lock_version=extra.get("lock_version", s.lock_version),
        returned_comment=data["data"].get("comment") if version.status.value == "returned" else None,
        note=extra.get("note", ""),
        errors=extra.get("errors", {}),
        rule_errors=extra.get("rule_errors", []),
        **{k: extra.get(k) for k in _NOTICES},
        **data,
    )
    return page, status


def _draft(item: HumanTask) -> Any:
    s, version, context = _version(item)
    library = sets.common_library(current_session(), s.year, s.person)
    if request.method == "GET" or not _can_act(item):
        if request.method == "POST":
            flash(_("This task is not waiting for you."), "warning")
            return redirect(url_for("indicators.task", task_id=item.id))
        return _render_draft(item, s, version, context, rows.merge_common(rows.from_items(version.items), library))
    editing = rows.merge_common(rows.from_form(request.form), library)
    action = request.form.get("action", "save")
    note = request.form.get("note", "")
    lock = request.form.get("lock_version", type=int)
    keep: dict[str, Any] = {"note": note, "lock_version": lock if lock is not None else s.lock_version}
    if action in ("save", "submit"):
        editing = [r for r in editing if not r.blank()]
    if action == "submit" and lock is not None and lock != s.lock_version:
        message = _("Someone saved this draft after you opened it; reload to see their changes.")
        keep["lock_version"] = s.lock_version  # as after a stale save: sending again is a deliberate choice
        return _render_draft(item, s, version, context, editing, 409, stale=message, **keep)
    if action == "save":
        return _save(item, s, version, context, editing, keep, lock)
    if action == "submit":
        return _submit(item, s, version, context, editing, keep)
    if action == "copy":
        previous = overview.previous_year_items(current_session(), current_user.actor, s.person, s.year)
        if previous is None:
            info = _("You have no effective indicator set for %(year)s to copy.", year=s.year - 1)
            return _render_draft(item, s, version, context, editing, info=info, **keep)
        editing = rows.replace_editable(editing, rows.from_items(previous, keep_ids=False, keep_tasks=False))
        info = _(
            "Copied %(n)d rows of your %(year)s set. Check them, then save the draft.", n=len(previous), year=s.year - 1
        )
        return _render_draft(item, s, version, context, editing, info=info, **keep)
    if action == "import":
        upload = request.files.get("import_file")
        if upload is None or not upload.filename:
            message = _("Choose the Excel file to import.")
            return _render_draft(item, s, version, context, editing, 422, import_error=message, **keep)
        result = excel.read_rows(upload.read(), upload.filename)
        if not result.ok:
            return _render_draft(item, s, version, context, editing, 422, import_result=result, **keep)
        editing = rows.replace_editable(editing, rows.from_dicts(result.rows))
        info = _(
            "Imported %(n)d rows from %(file)s. Check them, then save the draft.",
            n=len(result.rows),
            file=upload.filename,
        )
        return _render_draft(item, s, version, context, editing, info=info, import_result=result, **keep)
    outcome = rows.apply(editing, action, request.form.get("add_category", ""))
    warning = _("Common indicators come from the office's library and cannot be removed.") if outcome.refused else None
    return _render_draft(
        item,
        s,
        version,
        context,
        outcome.rows,
        422 if outcome.refused else 200,
        warning=warning,
        focus=outcome.focus,
        **keep,
    )


def _save(
    item: HumanTask,
    s: IndicatorSet,
    version: IndicatorSetVersion,
    context: dict[str, Any],
    editing: list[rows.EditRow],
    keep: dict[str, Any],
    lock: int | None,
) -> Any:
    try:
        check = sets.save_draft(current_session(), current_user.actor, s.id, [r.payload() for r in editing], lock)
    except Conflict as exc:
        db.session.rollback()
        s, version, context = _version(item)
        # The typed rows stay; the form now carries the newest lock, so saving again is a deliberate choice.
        keep = {**keep, "lock_version": s.lock_version}
        return _render_draft(item, s, version, context, editing, 409, stale=localise(exc.message), **keep)
    except Invalid as exc:
        db.session.rollback()
        s, version, context = _version(item)
        return _render_draft(item, s, version, context, editing, 422, errors=exc.fields, **keep)
    flash(_("Draft saved."), "success")
    for message in [*check.field_errors.values(), *check.rule_errors]:
        flash(_("Before you submit: %(problem)s", problem=localise(message)), "warning")
    return redirect(url_for("indicators.task", task_id=item.id))


def _submit(
    item: HumanTask,
    s: IndicatorSet,
    version: IndicatorSetVersion,
    context: dict[str, Any],
    editing: list[rows.EditRow],
    keep: dict[str, Any],
) -> Any:
    payload = [r.payload() for r in editing]
    try:
        runtime.complete_task(
            current_session(), current_user.actor, item.id, {"indicators": payload, "note": keep["note"]}
        )
    except Invalid as exc:
        db.session.rollback()
        s, version, context = _version(item)
        errors = dict(exc.fields)
        rule_errors: list[Any] = []
        if "indicators" in errors:  # the set-level rules, one message each (the handler joins them)
            again = sets.check_rows(current_session(), s.person, s.year, payload)
            rule_errors = list(again.rule_errors) or [errors["indicators"]]
            if again.field_errors.get("indicators"):
                rule_errors = [again.field_errors["indicators"]]
            errors.pop("indicators")
        return _render_draft(
            item,
            s,
            version,
            context,
            editing,
            422,
            errors=errors,
            rule_errors=rule_errors,
            message=localise(exc.message),
            **keep,
        )
    except (Conflict, Forbidden) as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("indicators.task", task_id=item.id))
    flash(_("Submitted: your indicators for %(year)s went to review.", year=s.year), "success")
    return redirect(url_for("indicators.my_set", year=s.year))


# --- review ---------------------------------------------------------------------------------


def _review(item: HumanTask) -> Any:
    s, version, context = _version(item)
    values = {"decision": "", "comment": "", "item_comments": {}}
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        if not _can_act(item):
            flash(_("This task is not waiting for you."), "warning")
            return redirect(url_for("indicators.task", task_id=item.id))
        comments = {str(i.id): request.form.get(f"item_comments-{i.id}", "").strip() for i in version.items}
        values = {
            "decision": request.form.get("decision", ""),
            "comment": request.form.get("comment", "").strip(),
            "item_comments": comments,
        }
        payload = {**values, "item_comments": {k: v for k, v in comments.items() if v}}
        try:
            result = runtime.complete_task(current_session(), current_user.actor, item.id, payload)
        except Invalid as exc:
            db.session.rollback()
            s, version, context = _version(item)
            errors, status = {**exc.fields, "_message": localise(exc.message)}, 422
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(localise(exc.message), "warning")
            return redirect(url_for("indicators.task", task_id=item.id))
        else:
            decided = _("Returned") if values["decision"] == "return" else _("Approved")
            flash(_("%(decision)s: the indicators of %(name)s.", decision=decided, name=s.person.name), "success")
            nxt = result.next_tasks[0] if result.next_tasks else None
            if nxt is not None and runtime.is_candidate(current_session(), nxt, current_user.actor.person_id):
                return redirect(url_for("indicators.task", task_id=nxt.id))
            return redirect(url_for("inbox.tasks"))
    data = _common_page_data(item)
    total = sum((i.weight for i in version.items), start=0)
    return render_template(
        "indicators/review.html",
        s=s,
        version=version,
        items=version.items,
        total=total,
        can_act=_can_act(item),
        changes=context.get("changes"),
        note=data["data"].get("note"),
        values=values,
        errors=errors,
        **data,
    ), status
