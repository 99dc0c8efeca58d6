"""Quarterly publication of results (每季公布, 绩效公开): snapshot, approval, publishing, the window.

- ``prepare_publication`` copies a quarter's *confirmed* period results of a unit into a draft
  publication (the snapshot) and starts ``publication.bpmn``: the unit admin submits, the
  principal approves; the listener in ``publication_flow`` then calls ``publish``.
- Published rows never change: a ``before_flush`` guard refuses any insert, update or delete of
  a published publication's rows and any change to the publication except marking it superseded.
  A correction is a new revision with a reason; both stay readable and both acts are audited.
- Who reads what is ``publication_views``; objections are ``objections``; withdrawing a draft
  from approval is ``withdrawal``.
- During the publicity window a person may object to their own row; the unit admin answers.
  The window closes at the end of the ``publicity_days``-th day, the day of publication being
  day 1 (Asia/Shanghai).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import (
    OrgUnit,
    Person,
    PersonStatus,
    Publication,
    PublicationRow,
    PublicationStatus,
    Role,
)
from app.models.base import utcnow
from app.models.results import PeriodResult, ResultKind, ResultStatus
from app.services import audit, notifications
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.appraisal.scheme import scheme_for
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound
from app.services.periods import period_kind

PROCESS = "publication"
FROZEN = (PublicationStatus.published, PublicationStatus.superseded)
OBJECTION_MAX = 2000


class Frozen(Conflict):
    """A change to a published publication (or a confirmed distribution) that must go through a revision."""


# --- confirmed results ------------------------------------------------------------------------


def check_quarter(period: object) -> str:
    if not isinstance(period, str) or period_kind(period.strip()) != "quarter":
        raise Invalid(
            T_("Results are published per quarter: give the period like 2026-Q4."),
            {"period": T_("A quarter such as 2026-Q4.")},
        )
    return period.strip()


def confirmed_results(session: Session, unit_id: int, period: str) -> list[PeriodResult]:
    """The unit's quarter results of ``period``; refuses unless there are some and all are confirmed."""
    rows = list(
        session.scalars(
            select(PeriodResult).where(
                PeriodResult.unit_id == unit_id, PeriodResult.period == period, PeriodResult.kind == ResultKind.quarter
            )
        )
    )
    if not rows:
        raise Conflict(
            T_(
                "There are no results of %(period)s for this unit yet: compute the period results and confirm"
                " the grades first.",
                period=period,
            )
        )
    draft = [r for r in rows if r.status is not ResultStatus.confirmed]
    if draft:
        raise Conflict(
            T_(
                "The results of %(period)s are not confirmed yet (%(count)s of %(total)s still drafts): confirm"
                " the grades first.",
                period=period,
                count=len(draft),
                total=len(rows),
            )
        )
    return rows


def clean(value: object, name: str, max_length: int) -> str | None:
    """Stripped text or None; a non-string or an over-long text is refused naming the field."""
    try:
        return common.clean_text(value, max_length)
    except ValueError as exc:
        raise Invalid(
            T_("Some fields need attention."), {name: T_("Text of at most %(n)d characters.", n=max_length)}
        ) from exc


def _num(value: Any) -> str | None:
    return None if value is None else str(value)


def components(result: PeriodResult) -> dict[str, Any]:
    """What a published row shows beside total and grade: the parts of the total and its formula."""
    return {
        "indicator_score": _num(result.indicator_score),
        "evaluation_score": _num(result.evaluation_score),
        "bonus_points": _num(result.bonus_points),
        "deduction_points": _num(result.deduction_points),
        "formula": result.formula or "",
        "rule": result.rule,
    }


def ordered(session: Session, results: list[PeriodResult]) -> list[tuple[PeriodResult, Person]]:
    """Results with their people, highest total first, then by staff number (a stable order)."""
    pairs = [(r, session.get(Person, r.person_id)) for r in results]
    found = [(r, p) for r, p in pairs if p is not None]
    return sorted(found, key=lambda rp: (-Decimal(rp[0].total), rp[1].staff_no))


# --- authorisation ------------------------------------------------------------------------------


def may_manage(actor: Actor, unit_id: int) -> bool:
    """The unit's admin and principal and the office see drafts, every row's detail and objections."""
    return actor.is_district_wide or unit_id in actor.unit_ids_for(Role.unit_admin, Role.unit_principal)


PREPARERS = (Role.unit_admin,)


def check_may_prepare(actor: Actor, unit_id: int) -> None:
    if actor.is_district_wide or unit_id in actor.unit_ids_for(*PREPARERS):
        return
    raise Forbidden(T_("Only the unit's performance administrator may prepare a publication of its results."))


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound(T_("No such unit."))
    return unit


# --- preparing ----------------------------------------------------------------------------------


def summary_text(publication: Publication) -> str:
    """The list as plain lines for the approval step (name · section · total · grade)."""
    lines = [f"{publication.unit.name} · {publication.period} · r{publication.revision}"]
    if publication.reason:
        lines.append(publication.reason)
    lines += [
        f"{r.position}. {r.person_name} · {r.section_name} · {common.fmt(r.total)} · {r.grade or '-'}"
        for r in publication.rows
    ]
    return "\n".join(lines)


def take_snapshot(session: Session, publication: Publication) -> None:
    """(Re)copy the confirmed results into a draft publication's rows."""
    if publication.status is not PublicationStatus.draft:
        raise frozen_error(publication)
    results = confirmed_results(session, publication.unit_id, publication.period)
    publication.rows.clear()
    session.flush()
    for position, (result, person) in enumerate(ordered(session, results), start=1):
        publication.rows.append(
            PublicationRow(
                person_id=person.id,
                position=position,
                person_name=person.name,
                section_name=person.section.name if person.section else "",
                total=Decimal(result.total),
                grade=result.grade,
                components=components(result),
                result_id=result.id,
            )
        )
    session.flush()


def latest(session: Session, unit_id: int, period: str) -> Publication | None:
    return session.scalar(
        select(Publication)
        .where(Publication.unit_id == unit_id, Publication.period == period)
        .order_by(Publication.revision.desc())
        .limit(1)
    )


def current(session: Session, unit_id: int, period: str) -> Publication | None:
    """The publication in force: the published (not superseded) one."""
    return session.scalar(
        select(Publication).where(
            Publication.unit_id == unit_id,
            Publication.period == period,
            Publication.status == PublicationStatus.published,
        )
    )


def add_revision(session: Session, row: Any, quarter: str) -> None:
    """Insert a new revision (publication or distribution); its unique (unit, period, revision)
    turns a concurrent preparation of the same revision into a Conflict instead of a duplicate."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            T_("Someone else started this for %(period)s at the same moment; reload the page.", period=quarter)
        ) from exc


def prepare_publication(
    session: Session, actor: Actor, unit_id: int, period: object, reason: str | None = None
) -> Publication:
    """Snapshot the confirmed results into a draft and start its approval.

    A quarter already published gets a correction: the next revision, which needs a reason.
    """
    check_may_prepare(actor, unit_id)
    unit = _unit(session, unit_id)
    quarter = check_quarter(period)
    last = latest(session, unit_id, quarter)
    if last is not None and last.status is PublicationStatus.draft:
        raise Conflict(
            T_(
                "A publication of %(period)s is already waiting for approval (revision %(revision)s); finish it first.",
                period=quarter,
                revision=last.revision,
            )
        )
    confirmed_results(session, unit_id, quarter)  # a clear refusal before anything is written
    in_force = current(session, unit_id, quarter)
    reason = clean(reason, "reason", 2000)
    if in_force is not None and not reason:
        raise Invalid(
            T_("%(period)s is already published: a correction needs the reason for it.", period=quarter),
            {"reason": T_("Say what is corrected and why.")},
        )
    scheme = scheme_for(session, unit_id, int(quarter[:4]))
    publication = Publication(
        unit_id=unit.id,
        unit=unit,
        period=quarter,
        revision=0 if last is None else last.revision + 1,
        status=PublicationStatus.draft,
        reason=reason if in_force is not None else None,
        supersedes_id=in_force.id if in_force is not None else None,
        publicity_days=scheme.publicity_days,
        publish_scope=scheme.publish_scope,
        prepared_by_id=actor.person_id,
        created_at=utcnow(),
    )
    add_revision(session, publication, quarter)
    take_snapshot(session, publication)
    from app.workflow import runtime  # the engine is loaded only when a process starts

    started = runtime.start_process(
        session,
        actor,
        PROCESS,
        quarter,
        subject_unit_id=unit.id,
        revision=publication.revision,
        data={"publication_id": publication.id, "publication_summary": summary_text(publication)},
    )
    publication.instance_id = started.instance.id
    session.flush()
    return publication


# --- publishing (called by the flow when the principal approves) --------------------------------


def window_end(published_at: datetime, days: int) -> datetime:
    """The first instant after the window: the end of day ``days``, the day of publication being day 1."""
    return common.end_of_local_day(common.local_date(published_at) + timedelta(days=days - 1))


def last_day(publication: Publication) -> str:
    """The last local day on which objections are accepted, as 2026-11-30."""
    day = common.last_local_day(publication.window_ends_at)
    return day.isoformat() if day else ""


def window_open(publication: Publication, now: datetime) -> bool:
    """Whether objections are accepted at ``now``: published (not superseded) and before the window's end."""
    return (
        publication.status is PublicationStatus.published
        and publication.window_ends_at is not None
        and now < publication.window_ends_at
    )


def unit_people(session: Session, unit_id: int) -> list[int]:
    sections = select(OrgUnit.id).where(OrgUnit.parent_id == unit_id)
    return list(
        session.scalars(select(Person.id).where(Person.section_id.in_(sections), Person.status == PersonStatus.active))
    )


def username_of(session: Session, person_id: int | None) -> str | None:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        return None
    return person.account.username if person.account is not None else person.name


def publish(session: Session, publication: Publication, approver_id: int | None, now: datetime | None = None) -> None:
    """Make a draft public: open the window, supersede the previous one, audit, tell the unit's people."""
    if publication.status is not PublicationStatus.draft:
        return
    now = now or utcnow()
    previous = current(session, publication.unit_id, publication.period)
    if previous is not None and previous.id != publication.id:
        previous.status = PublicationStatus.superseded
        previous.superseded_at = now
    publication.status = PublicationStatus.published
    publication.published_at = now
    publication.approved_by_id = approver_id
    publication.window_ends_at = window_end(now, publication.publicity_days)
    session.flush()
    action = "publication.revise" if publication.revision else "publication.publish"
    audit.record(
        session,
        None,
        action,
        "publication",
        publication.id,
        details={
            "unit_id": publication.unit_id,
            "period": publication.period,
            "revision": publication.revision,
            "rows": len(publication.rows),
            "reason": publication.reason,
            "supersedes": publication.supersedes_id,
            "window_ends_at": publication.window_ends_at.isoformat(),
        },
        person_id=approver_id,
        username=username_of(session, approver_id),
    )
    until = last_day(publication)
    notifications.notify(  # worded in each reader's language from ``data`` (app.web.notifications.texts)
        session,
        unit_people(session, publication.unit_id),
        "publication",
        f"{publication.unit.name} {publication.period}: results published; objections until {until}.",
        link=f"/publication/{publication.id}",
        data={"quarter": publication.period, "unit": publication.unit.name, "until": until},
    )


# --- frozen once published -----------------------------------------------------------------------------


def frozen_error(publication: Publication) -> Frozen:
    when = common.local_date(publication.published_at).isoformat() if publication.published_at else ""
    return Frozen(
        T_(
            "The publication of %(period)s (revision %(revision)s) was published on %(date)s and cannot be"
            " changed; publish a correction with a reason instead.",
            period=publication.period,
            revision=publication.revision,
            date=when,
        )
    )
