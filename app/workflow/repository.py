"""Process definitions in the database: shipped BPMN as version 1, active version lookup, parsing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import DefinitionStatus, ProcessDefinition
from app.services.errors import NotFound
from app.workflow.definitions import SPEC_CACHE, LoadedDefinition, load_definition, sha256

BPMN_DIR = Path(__file__).resolve().parent.parent.parent / "bpmn"


def shipped_files() -> dict[str, Path]:
    """Process key → shipped file (the file name is the key)."""
    return {p.stem: p for p in sorted(BPMN_DIR.glob("*.bpmn"))}


def ensure_shipped(session: Session, key: str | None = None) -> list[ProcessDefinition]:
    """Store each shipped BPMN file as active version 1 of its process, once."""
    created = []
    for k, path in shipped_files().items():
        if key is not None and k != key:
            continue
        if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == k).limit(1)):
            continue
        xml = path.read_text(encoding="utf-8")
        loaded = load_definition(xml, path.name)
        row = ProcessDefinition(
            key=loaded.key,
            version=1,
            name=loaded.name,
            bpmn_xml=xml,
            sha256=sha256(xml),
            status=DefinitionStatus.active,
            comment=f"shipped {path.name}",
        )
        try:
            with session.begin_nested():  # another process may store the same version 1 at this moment
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        created.append(row)
    return created


def active_definition(session: Session, key: str, unit_id: int | None = None) -> ProcessDefinition:
    """The version new instances of ``key`` use: the unit's variant if it has one, else the district's."""
    base = select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.status == DefinitionStatus.active
    )
    if unit_id is not None:
        variant = session.scalar(
            base.where(ProcessDefinition.unit_id == unit_id).order_by(ProcessDefinition.version.desc())
        )
        if variant is not None:
            return variant
    found = session.scalar(base.where(ProcessDefinition.unit_id.is_(None)).order_by(ProcessDefinition.version.desc()))
    if found is None:
        ensure_shipped(session, key)  # stored by us or by a concurrent first start: look again either way
        found = session.scalar(base.where(ProcessDefinition.unit_id.is_(None)))
    if found is None:
        raise NotFound(f"There is no active process '{key}'.")
    return found


def loaded(definition: ProcessDefinition) -> LoadedDefinition:
    return SPEC_CACHE.get(definition.sha256, definition.bpmn_xml)


def process_names(session: Session) -> dict[str, str]:
    """Key → display name of the latest version of every process."""
    latest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v"))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).join(
            latest, (latest.c.key == ProcessDefinition.key) & (latest.c.v == ProcessDefinition.version)
        )
    )
    names = {k: n for k, n in rows}
    for k in shipped_files():
        names.setdefault(k, k)
    return names
