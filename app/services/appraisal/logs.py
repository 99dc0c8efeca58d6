"""Weekly logs (个人周记实): a person writes the week's entries; the section's leaders read and comment.

Saving a week replaces its entries with the list sent: rows that carry the ``id`` of an entry
already in the week are updated in place (keeping their evidence), the others are created,
and entries left out are removed. Evidence files go to the evidence store (checked by content,
generated names, outside the web root). A week that belongs to an archived appraisal is frozen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AppraisalRecord,
    IndicatorItem,
    IndicatorSet,
    IndicatorSetVersion,
    LogComment,
    LogEntry,
    LogEvidence,
    Person,
    RecordStatus,
    VersionStatus,
    WeeklyLog,
)
from app.services import evidence
from app.services.actor import Actor
from app.services.appraisal import common
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound


def find_log(session: Session, person_id: int, week: str) -> WeeklyLog | None:
    return session.scalar(select(WeeklyLog).where(WeeklyLog.person_id == person_id, WeeklyLog.week == week))


def read_week(session: Session, actor: Actor, person_id: int | None, week: str) -> tuple[Person, WeeklyLog | None]:
    """A person's log of a week (``None`` when nothing was written), if the actor may read it."""
    week = common.check_week(week)
    person = common.person_of(session, person_id if person_id is not None else actor.person_id)
    if not common.can_read(actor, person):
        raise Forbidden(T_("Only the person and the leaders of their section can read these logs."))
    return person, find_log(session, person.id, week)


def linkable_items(session: Session, person_id: int, week: str) -> list[IndicatorItem]:
    """Items an entry of the week can link to: those of the person's effective set for the week's year."""
    version = common.effective_version(session, person_id, common.week_year(week))
    return list(version.items) if version is not None else []


def _known_item_ids(session: Session, person_id: int, year: int) -> set[int]:
    """Items of versions of the person's set that are or were in force (entries of older weeks keep theirs)."""
    return set(
        session.scalars(
            select(IndicatorItem.id)
            .join(IndicatorSetVersion, IndicatorItem.version_id == IndicatorSetVersion.id)
            .join(IndicatorSet, IndicatorSetVersion.set_id == IndicatorSet.id)
            .where(
                IndicatorSet.person_id == person_id,
                IndicatorSet.year == year,
                IndicatorSetVersion.status.in_((VersionStatus.effective, VersionStatus.superseded)),
            )
        )
    )


def archived_record_for_week(session: Session, person_id: int, week: str) -> AppraisalRecord | None:
    """An archived appraisal of the person whose period contains the week (then the week is frozen)."""
    day = common.monday_of(week) + timedelta(days=3)
    periods = {week, f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month - 1) // 3 + 1}", str(day.year)}
    return session.scalar(
        select(AppraisalRecord).where(
            AppraisalRecord.person_id == person_id,
            AppraisalRecord.period.in_(periods),
            AppraisalRecord.status == RecordStatus.archived,
        )
    )


def _ensure_not_frozen(session: Session, person_id: int, week: str) -> None:
    record = archived_record_for_week(session, person_id, week)
    if record is not None:
        raise Conflict(
            T_(
                "The log of %(week)s belongs to the archived appraisal of %(period)s and can no longer be changed.",
                week=week,
                period=record.period,
            )
        )


def _parse_entry(raw: Any, i: int, known: set[int], fields: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        fields[f"entries[{i}]"] = T_("Each entry is an object with content, item_id and progress.")
        return None
    out: dict[str, Any] = {"id": raw.get("id"), "item_id": raw.get("item_id"), "progress": raw.get("progress")}
    try:
        out["content"] = common.clean_text(raw.get("content"), common.policy().text_max)
    except ValueError:
        fields[f"entries[{i}].content"] = T_("At most %(n)d characters.", n=common.policy().text_max)
    else:
        if not out["content"]:
            fields[f"entries[{i}].content"] = T_("Say what was done.")
    item_id = out["item_id"]
    if item_id in ("", None):
        out["item_id"] = None
    elif isinstance(item_id, bool) or not isinstance(item_id, int) or item_id not in known:
        fields[f"entries[{i}].item_id"] = T_("Choose one of your indicators, or leave it empty for other work.")
    progress = out["progress"]
    if progress in ("", None):
        out["progress"] = None
    elif isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        fields[f"entries[{i}].progress"] = T_("Give a percentage from 0 to 100.")
    if out["id"] is not None and (isinstance(out["id"], bool) or not isinstance(out["id"], int)):
        fields[f"entries[{i}].id"] = T_("Must be the id of an entry of this week.")
    return out


def save_week(session: Session, actor: Actor, week: str, raw_entries: Any, *, now: datetime | None = None) -> WeeklyLog:
    """Replace the actor's entries of ``week`` with ``raw_entries`` (see the module docstring)."""
    week = common.check_week(week)
    person = common.person_of(session, actor.person_id)
    now = now or datetime.now(UTC)
    if common.monday_of(week) > common.local_today(now):
        raise Invalid(T_("%(week)s has not started yet; write the log of a week once it has.", week=week))
    _ensure_not_frozen(session, person.id, week)
    if not isinstance(raw_entries, list):
        raise Invalid(T_("Send the week's entries as a list."), {"entries": T_("A list of entries.")})
    if len(raw_entries) > common.policy().max_entries:
        raise Invalid(
            T_("At most %(n)d entries a week.", n=common.policy().max_entries),
            {"entries": T_("At most %(n)d entries a week.", n=common.policy().max_entries)},
        )
    log = find_log(session, person.id, week)
    existing = {e.id: e for e in log.entries} if log is not None else {}
    known = _known_item_ids(session, person.id, common.week_year(week))
    fields: dict[str, str] = {}
    parsed = [_parse_entry(raw, i, known, fields) for i, raw in enumerate(raw_entries)]
    for i, row in enumerate(parsed):
        if row is not None and row["id"] is not None and row["id"] not in existing:
            fields[f"entries[{i}].id"] = T_("Must be the id of an entry of this week.")
    if fields:
        raise Invalid(T_("Some entries need attention."), fields)
    if log is None:
        log = WeeklyLog(person_id=person.id, week=week, created_at=now, updated_at=now)
        session.add(log)
    kept: list[LogEntry] = []
    for position, row in enumerate(p for p in parsed if p is not None):
        entry = existing.get(row["id"]) if row["id"] is not None else None
        if entry is None:
            entry = LogEntry(created_at=now)
        elif (entry.content, entry.indicator_item_id, entry.progress) != tuple(
            row[k] for k in ("content", "item_id", "progress")
        ):
            entry.updated_at = now
        entry.position, entry.content = position, row["content"]
        entry.indicator_item_id, entry.progress = row["item_id"], row["progress"]
        kept.append(entry)
    log.entries = kept
    if kept and log.first_written_at is None:
        log.first_written_at = now
    log.updated_at = now
    session.flush()
    return log


def _own_entry(session: Session, actor: Actor, entry_id: int) -> LogEntry:
    entry = session.get(LogEntry, entry_id)
    if entry is None:
        raise NotFound(T_("Log entry %(id)s does not exist.", id=entry_id))
    if entry.log.person_id != actor.person_id:
        raise Forbidden(T_("Only the person who wrote the log can change its evidence."))
    _ensure_not_frozen(session, entry.log.person_id, entry.log.week)
    return entry


def add_evidence(
    session: Session,
    actor: Actor,
    entry_id: int,
    upload: evidence.Upload,
    *,
    store: Path,
    max_bytes: int,
    now: datetime | None = None,
) -> LogEvidence:
    """Attach a file to one of the actor's entries; its type is judged by its content."""
    entry = _own_entry(session, actor, entry_id)
    if len(entry.evidence) >= common.policy().max_evidence:
        raise Invalid(
            T_("At most %(n)d files per entry.", n=common.policy().max_evidence),
            {"evidence": T_("Remove a file first.")},
        )
    kind = evidence.check(upload, max_bytes)
    stored = evidence.save(store, upload, kind)
    try:
        row = LogEvidence(
            stored_name=stored.stored_name,
            display_name=stored.display_name,
            mimetype=kind.mimetype,
            size=len(upload.data),
            uploaded_by_id=actor.person_id,
            uploaded_at=now or datetime.now(UTC),
        )
        entry.evidence.append(row)
        session.flush()
    except Exception:
        evidence.discard(store, stored.stored_name)
        raise
    return row


def remove_evidence(session: Session, actor: Actor, evidence_id: int) -> LogEntry:
    """Detach a file from one of the actor's entries (the stored file stays until the store is cleaned)."""
    row = session.get(LogEvidence, evidence_id)
    if row is None:
        raise NotFound(T_("There is no such evidence."))
    entry = _own_entry(session, actor, row.entry_id)
    entry.evidence.remove(row)
    session.flush()
    return entry


def evidence_file(session: Session, actor: Actor, evidence_id: int, store: Path) -> tuple[Path, str, str]:
    """(path, download name, mimetype) of a log's evidence, for those who may read the log."""
    row = session.get(LogEvidence, evidence_id)
    if row is None:
        raise NotFound(T_("There is no such evidence."))
    if not common.can_read(actor, row.entry.log.person):
        raise Forbidden(T_("Only the person and the leaders of their section can open this evidence."))
    path = evidence.path_of(store, row.stored_name)
    if not path.is_file():
        raise NotFound(T_("The evidence file is missing from the store."))
    return path, row.display_name, evidence.type_of(row.stored_name).mimetype


def add_comment(
    session: Session,
    actor: Actor,
    person_id: int,
    week: str,
    text: Any,
    entry_id: int | None = None,
    *,
    now: datetime | None = None,
) -> LogComment:
    """A leader's comment on a person's week (a comment on a week with no entries reminds them to write)."""
    week = common.check_week(week)
    person = common.person_of(session, person_id)
    if not common.can_comment(actor, person):
        raise Forbidden(T_("Only the section head and the leader in charge can comment on these logs."))
    try:
        body = common.clean_text(text, common.policy().text_max)
    except ValueError:
        body = None
    if not body:
        raise Invalid(T_("Write the comment."), {"text": T_("Required, at most %(n)d characters.", n=2000)})
    now = now or datetime.now(UTC)
    log = find_log(session, person.id, week)
    if log is None:
        log = WeeklyLog(person_id=person.id, week=week, created_at=now, updated_at=now)
        session.add(log)
        session.flush()
    if entry_id is not None and entry_id not in {e.id for e in log.entries}:
        raise Invalid(T_("That entry is not part of this week."), {"entry_id": T_("Not an entry of this week.")})
    comment = LogComment(entry_id=entry_id, author_id=actor.person_id, text=body, at=now)
    log.comments.append(comment)
    session.flush()
    return comment


def entry_dict(entry: LogEntry) -> dict[str, Any]:
    item = entry.indicator_item
    return {
        "id": entry.id,
        "item_id": entry.indicator_item_id,
        "item_name": item.name if item is not None else None,
        "category": item.category.value if item is not None else None,
        "content": entry.content,
        "progress": entry.progress,
        "evidence": [
            {"id": ev.id, "name": ev.display_name, "size": ev.size, "mimetype": ev.mimetype} for ev in entry.evidence
        ],
    }


def comment_dict(comment: LogComment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "entry_id": comment.entry_id,
        "author": {"id": comment.author_id, "name": comment.author.name},
        "text": comment.text,
        "at": comment.at.isoformat(),
    }
