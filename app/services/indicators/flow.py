"""The indicator-setting flow (indicator_setting.bpmn) seen from the indicators' side.

- Opening: one process per active person of a unit and year (idempotent), or a person's own.
- The draft step's handler checks the rows against the rules and writes them into the open
  version; the review steps' handler stores per-item comments.
- The listener moves the set along: drafting → in review → returned / effective.
- Adjustment (动态调整): a new version copied from the effective one, run through the same
  approval as revision N of the year's process; the effective version stays in force until
  the new one is approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    HumanTask,
    IndicatorSet,
    IndicatorSetVersion,
    InstanceStatus,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessInstance,
    Role,
    SetStatus,
    VersionStatus,
)
from app.models.base import utcnow
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid
from app.services.indicators import sets
from app.services.indicators.rules import CATEGORY_LABELS
from app.workflow import hooks, runtime
from forms.builder import validate_json

PROCESS = "indicator_setting"


def _year(instance: ProcessInstance) -> int:
    return int(instance.period[:4])


def version_for_instance(session: Session, instance: ProcessInstance) -> IndicatorSetVersion | None:
    return session.scalar(select(IndicatorSetVersion).where(IndicatorSetVersion.instance_id == instance.id))


def _link(session: Session, instance: ProcessInstance) -> IndicatorSetVersion:
    """The version this instance works on, creating the set (and first draft) when the process started elsewhere."""
    version = version_for_instance(session, instance)
    if version is not None:
        return version
    assert instance.subject is not None  # indicator setting is always about a person
    s = sets.ensure_set(session, instance.subject, _year(instance))
    wanted = instance.revision + 1  # revision 0 drafts version 1; an adjustment run N drafts version N+1
    version = next((v for v in s.versions if v.number == wanted), None)
    if version is None:
        raise Conflict(T_("No draft version %(n)s exists for this indicator set.", n=wanted))
    version.instance_id = instance.id
    session.flush()
    return version


def _summary(version: IndicatorSetVersion) -> str:
    lines = [f"{CATEGORY_LABELS[i.category]}｜{i.name}｜{i.weight.normalize():f}" for i in version.items]
    return "\n".join(lines)


def handle_draft(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit the draft: every rule must hold; the rows become the version under review."""
    instance = task.instance
    version = _link(session, instance)
    note = payload.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 4000):
        raise Invalid(T_("Some fields need attention."), {"note": T_("At most %(n)d characters.", n=4000)})
    unknown = set(payload) - {"indicators", "note"}
    if unknown:
        raise Invalid(T_("Some fields need attention."), {k: T_("Unknown field for this form.") for k in unknown})
    assert instance.subject is not None  # indicator setting is always about a person
    check = sets.check_rows(session, instance.subject, _year(instance), payload.get("indicators"))
    if not check.ok:
        raise Invalid(T_("The indicators do not meet the rules yet."), check.all_errors())
    sets.write_rows(version, check.rows)
    session.flush()
    total = sum((r.weight for r in check.rows), Decimal(0))
    return {
        "indicators_text": _summary(version),
        "indicator_count": len(check.rows),
        "total_weight": float(total),
        "note": (note or "").strip(),
    }


def handle_review(session: Session, actor: Actor, task: HumanTask, payload: dict[str, Any]) -> dict[str, Any]:
    """Approve or return; comments on single items are kept beside them for the drafter."""
    payload = dict(payload)
    item_comments = payload.pop("item_comments", None) or {}
    data, errors = validate_json(task.form_key, payload)
    if not isinstance(item_comments, dict):
        errors["item_comments"] = T_("Send an object mapping indicator ids to comments.")
    if errors:
        raise Invalid(T_("Some fields need attention."), errors)
    version = _link(session, task.instance)
    by_id = {str(i.id): i for i in version.items}
    for key, text in item_comments.items():
        item = by_id.get(str(key))
        if item is None:
            raise Invalid(
                T_("Some fields need attention."), {f"item_comments.{key}": T_("No such indicator in this draft.")}
            )
        comment = str(text or "").strip()[:2000]
        if comment:
            who = actor.name
            item.review_comment = (
                f"{item.review_comment}\n{who}：{comment}" if item.review_comment else f"{who}：{comment}"
            )
    session.flush()
    return data


def on_progress(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    """Keep the set's and version's status equal to where the process is."""
    version = _link(session, instance)
    s = version.indicator_set
    now = utcnow()
    if instance.status is InstanceStatus.completed:
        if s.effective_version is not None and s.effective_version.id != version.id:
            s.effective_version.status = VersionStatus.superseded
        version.status, version.effective_at = VersionStatus.effective, now
        s.effective_version_id, s.status = version.id, SetStatus.effective
    elif decision == "return":
        version.status, s.status = VersionStatus.returned, SetStatus.returned
    elif task is not None and task.form_key == "indicator_draft":
        version.status, version.submitted_at = VersionStatus.in_review, now
        for item in version.items:
            item.review_comment = None  # a new round of review starts clean
        s.status = SetStatus.in_review
    elif decision == "started":
        version.status = VersionStatus.draft
        s.status = SetStatus.drafting if s.effective_version_id is None else SetStatus.effective
    s.updated_at = now
    session.flush()


@dataclass
class OpenSummary:
    opened: int = 0
    already_open: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def open_for_unit(session: Session, actor: Actor, unit_id: int, year: int) -> OpenSummary:
    """Open indicator setting for every active person of a unit (idempotent: reruns open nothing twice)."""
    if not (actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)):
        raise Forbidden(T_("Only the unit's administrator or principal, or the office, can open indicator setting."))
    section_ids = select(OrgUnit.id).where(OrgUnit.parent_id == unit_id)
    people = session.scalars(select(Person).where(Person.section_id.in_(section_ids)).order_by(Person.staff_no))
    summary = OpenSummary()
    for person in people:
        if person.status is not PersonStatus.active:
            summary.skipped["left"] = summary.skipped.get("left", 0) + 1
            continue
        result = start_for(session, actor, person, year)
        if result:
            summary.opened += 1
        else:
            summary.already_open += 1
    return summary


def start_for(session: Session, actor: Actor, person: Person, year: int) -> bool:
    """Start the year's indicator setting for one person; False when it already runs (or ran)."""
    sets.ensure_set(session, person, year)
    result = runtime.start_process(session, actor, PROCESS, str(year), person.id)
    return result.created


def request_adjustment(session: Session, actor: Actor, set_id: int, reason: str) -> IndicatorSetVersion:
    """Start an adjustment of an effective set: a new draft copied from it, through the same approval."""
    s = sets.get_set(session, actor, set_id)
    if actor.person_id != s.person_id and not actor.unit_ids_for(Role.unit_admin):
        raise Forbidden(T_("Only the person (or the unit administrator) can ask for an adjustment."))
    if s.effective_version is None:
        raise Conflict(T_("Only an effective set can be adjusted; this one is %(status)s.", status=s.status.value))
    if sets.open_version(s) is not None:
        raise Conflict(T_("An adjustment of this set is already under way."))
    if not reason or not reason.strip():
        raise Invalid(T_("Say why the indicators must change."), {"reason": T_("Required.")})
    source = s.effective_version
    version = IndicatorSetVersion(
        number=sets.latest(s).number + 1, kind="adjustment", status=VersionStatus.draft, reason=reason.strip()[:2000]
    )
    sets.write_rows(
        version,
        [
            sets.Row(i.category, i.name, i.standard, i.weight, i.method, i.unit_task_id, i.common_indicator_id)
            for i in source.items
        ],
    )
    s.versions.append(version)
    session.flush()
    runtime.start_process(session, actor, PROCESS, str(s.year), s.person_id, revision=version.number - 1)
    return version


def task_context(session: Session, task: HumanTask) -> dict[str, Any]:
    """What an indicator task shows: the rows of the version it works on, and the diff for an adjustment."""
    version = _link(session, task.instance)
    s: IndicatorSet = version.indicator_set
    out: dict[str, Any] = {
        "indicator_set": {
            "id": s.id,
            "year": s.year,
            "version": version.number,
            "kind": version.kind,
            "reason": version.reason,
            "lock_version": s.lock_version,
            "items": [sets.item_dict(i) for i in version.items],
        },
    }
    if version.kind == "adjustment" and s.effective_version is not None:
        out["changes"] = [c.__dict__ for c in sets.diff(s.effective_version, version)]
    return out


def register() -> None:
    hooks.register_task_handler("indicator_draft", handle_draft, task_context)
    hooks.register_task_handler("indicator_review", handle_review, task_context)
    hooks.register_listener(PROCESS, on_progress)
