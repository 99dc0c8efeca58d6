"""The process designer: validate edited BPMN, save drafts, deploy per scope, roll back, keep the record.

A *draft* is a stored version that nothing runs. *Deploy* makes a draft the active version for new
instances of the district (``unit_id`` NULL) or of one unit (its variant, 量体裁衣); the version it
replaces in that scope is retired, and running instances stay on the version they started with.
*Roll back* re-activates the version the current one replaced. Every act is a
``ProcessDefinitionEvent`` with who and when. Only the performance office may do any of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import DefinitionStatus, OrgKind, OrgUnit, ProcessDefinition, ProcessDefinitionEvent, Role
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.workflow import repository
from app.workflow.checks import check_design
from app.workflow.definitions import DefinitionError, LoadedDefinition, load_definition, parse_xml, sha256

ACTIONS = ("save", "upload", "deploy", "rollback", "migrate")
_ELEMENT = re.compile(r"^(?:[A-Za-z]+|user task) '([^']+)'")


@dataclass(frozen=True)
class Problem:
    """One reason a definition is refused: the element it is about (when there is one) and what to do."""

    element_id: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "message": self.message}


class DesignRefused(Invalid):
    """The BPMN was refused; ``problems`` lists each fault. Nothing was stored."""

    def __init__(self, problems: list[Problem], message: str = "The process was refused; nothing was saved.") -> None:
        super().__init__(message, {})
        self.problems = problems

    @property
    def details(self) -> dict[str, Any]:
        """Added to the API's error body (``{"error": {..., "problems": [...]}}``)."""
        return {"problems": [p.as_json() for p in self.problems]}


def problems_from(messages: list[str]) -> list[Problem]:
    out: list[Problem] = []
    for text in dict.fromkeys(messages):  # the same fault found by two checks is listed once
        match = _ELEMENT.match(text)
        out.append(Problem(match.group(1) if match else None, text))
    return out


def validate(xml: bytes | str, key: str | None = None) -> tuple[LoadedDefinition | None, list[Problem]]:
    """Everything the designer checks, all at once: safety, Jixiao's rules, structure; and the key."""
    try:
        parse_xml(xml)
    except DefinitionError as exc:  # unsafe or malformed: nothing else may look at it
        return None, problems_from(exc.problems)
    messages: list[str] = []
    loaded: LoadedDefinition | None = None
    try:
        loaded = load_definition(xml)
    except DefinitionError as exc:
        messages.extend(exc.problems)
    messages.extend(check_design(xml))
    if loaded is not None and key is not None and loaded.key != key:
        messages.append(
            f"process '{loaded.key}': this file holds the process '{loaded.key}', not '{key}'; "
            f"keep the process id '{key}' (open the right process, or fix the id)."
        )
    problems = problems_from(messages)
    return (None if problems else loaded), problems


def require_office(actor: Actor) -> None:
    if not (actor.is_system or actor.has(Role.perf_office)):
        raise Forbidden("Only the performance office may change process definitions.")


def record(
    session: Session,
    actor: Actor,
    action: str,
    key: str,
    definition: ProcessDefinition | None,
    unit_id: int | None = None,
    **details: Any,
) -> ProcessDefinitionEvent:
    event = ProcessDefinitionEvent(
        process_key=key,
        definition_id=definition.id if definition is not None else None,
        action=action,
        unit_id=unit_id,
        actor_id=actor.person_id,
        at=utcnow(),
        details=details or None,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor,
        f"process.{action}",
        "process_definition",
        key,
        "success",
        {"definition_id": event.definition_id, "unit_id": unit_id, **details},
    )
    return event


def known_keys(session: Session) -> list[str]:
    repository.ensure_shipped(session)
    return list(session.scalars(select(ProcessDefinition.key).distinct().order_by(ProcessDefinition.key)))


def get_version(session: Session, key: str, definition_id: int) -> ProcessDefinition:
    row = session.get(ProcessDefinition, definition_id)
    if row is None or row.key != key:
        raise NotFound(f"Process '{key}' has no version with id {definition_id}.")
    return row


def versions(session: Session, key: str) -> list[ProcessDefinition]:
    repository.ensure_shipped(session, key)
    rows = list(
        session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())
        )
    )
    if not rows:
        raise NotFound(f"There is no process '{key}'.")
    return rows


def active_by_scope(session: Session, key: str, *, lock: bool = False) -> dict[int | None, ProcessDefinition]:
    """Scope (unit id, or None for the district) → its active version.

    ``lock`` takes the rows of every version of ``key`` first, so two deploys or roll backs of one
    process run one after the other (each scope keeps exactly one active version).
    """
    if lock:
        session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.key == key).with_for_update()).all()
    rows = session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.status == DefinitionStatus.active)
        .order_by(ProcessDefinition.version)
    )
    return {row.unit_id: row for row in rows}


def events(session: Session, key: str, limit: int = 200) -> list[ProcessDefinitionEvent]:
    return list(
        session.scalars(
            select(ProcessDefinitionEvent)
            .where(ProcessDefinitionEvent.process_key == key)
            .order_by(ProcessDefinitionEvent.at.desc(), ProcessDefinitionEvent.id.desc())
            .limit(limit)
        )
    )


def units(session: Session) -> list[OrgUnit]:
    return list(session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.sort_order)))


def _unit(session: Session, unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise Invalid("Choose a unit, or the whole district.", {"unit_id": "Unknown unit."})
    return unit


def save_draft(
    session: Session,
    actor: Actor,
    key: str,
    xml: str,
    *,
    comment: str | None = None,
    based_on_id: int | None = None,
    action: str = "save",
) -> ProcessDefinition:
    """Validate ``xml`` and store it as the next version of ``key``, a draft; refuse with every problem."""
    require_office(actor)
    if key not in known_keys(session):
        raise NotFound(f"There is no process '{key}'.")
    loaded, problems = validate(xml, key)
    if problems or loaded is None:
        raise DesignRefused(problems)
    digest = sha256(xml)
    latest = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version.desc())
    )
    if latest is not None and latest.sha256 == digest and latest.status is DefinitionStatus.draft:
        return latest  # saving the same diagram twice makes no second draft
    version = (session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key)) or 0) + 1
    row = ProcessDefinition(
        key=key,
        version=version,
        name=loaded.name,
        bpmn_xml=xml,
        sha256=digest,
        status=DefinitionStatus.draft,
        created_by_id=actor.person_id,
        created_at=utcnow(),
        comment=(comment or "").strip()[:500] or None,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("Someone saved a version of this process at the same moment; save again.") from exc
    record(session, actor, action, key, row, based_on=based_on_id, version=version)
    return row


def deploy(
    session: Session, actor: Actor, key: str, definition_id: int, unit_id: int | None = None
) -> ProcessDefinition:
    """Make a draft the active version of its scope; returns the version it replaced (or None)."""
    require_office(actor)
    row = get_version(session, key, definition_id)
    if row.status is not DefinitionStatus.draft:
        raise Conflict(f"Version {row.version} is {row.status.value}; only a draft can be deployed.")
    unit = _unit(session, unit_id)
    _, problems = validate(row.bpmn_xml, key)  # the rules (forms, roles) may have changed since it was saved
    if problems:
        raise DesignRefused(problems, "The draft no longer passes validation; fix it and save a new draft.")
    replaced = active_by_scope(session, key, lock=True).get(unit_id)
    if replaced is not None:
        replaced.status = DefinitionStatus.retired
    row.status = DefinitionStatus.active
    row.unit_id = unit.id if unit is not None else None
    session.flush()
    record(
        session,
        actor,
        "deploy",
        key,
        row,
        unit_id,
        version=row.version,
        replaced=replaced.id if replaced else None,
        replaced_version=replaced.version if replaced else None,
    )
    return row


def replaced_by(session: Session, current: ProcessDefinition) -> ProcessDefinition | None:
    """The version ``current`` replaced when it was last deployed (what a roll back re-activates)."""
    deployed = session.scalar(
        select(ProcessDefinitionEvent)
        .where(ProcessDefinitionEvent.definition_id == current.id, ProcessDefinitionEvent.action == "deploy")
        .order_by(ProcessDefinitionEvent.at.desc(), ProcessDefinitionEvent.id.desc())
    )
    previous_id = (deployed.details or {}).get("replaced") if deployed is not None else None
    return session.get(ProcessDefinition, previous_id) if previous_id else None


def rollback(session: Session, actor: Actor, key: str, unit_id: int | None = None) -> ProcessDefinition | None:
    """Re-activate the version the scope's active one replaced; a unit variant without one falls back to the
    district's. Returns the version now active for the scope (None: the unit uses the district's)."""
    require_office(actor)
    _unit(session, unit_id)
    current = active_by_scope(session, key, lock=True).get(unit_id)
    if current is None:
        raise NotFound("There is no active version in this scope to roll back.")
    previous = replaced_by(session, current)
    if previous is None and unit_id is None:
        raise Conflict(f"Version {current.version} is the first district version; there is nothing to roll back to.")
    current.status = DefinitionStatus.retired
    if previous is not None:
        previous.status = DefinitionStatus.active
        previous.unit_id = unit_id
    session.flush()
    record(
        session,
        actor,
        "rollback",
        key,
        previous or current,
        unit_id,
        retired=current.id,
        retired_version=current.version,
        activated=previous.id if previous else None,
        activated_version=previous.version if previous else None,
    )
    return previous
