"""The message centre: creating notifications by the recipient's preferences, reading, marking read.

Every notification the system sends goes through ``notify`` (task assignments, returns and
appeals from the workflow mirror, BPMN reminders and escalations, the scheduler's weekly-log,
quarterly-publication and overdue messages). It looks up each recipient's preference for the
kind once and records on the row which channels it goes to: ``in_app`` (listed, counted as
unread) and ``email_wanted`` (sent by the e-mail job *after* the creating transaction has
committed, so a rolled-back action never mails anybody). A recipient who turned both off gets
no row at all. Messages that must exist once (the weekly reminder of one person for one week)
carry a ``dedupe_key``; creating one again is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Notification, NotificationPreference, Person
from app.models.base import utcnow
from app.services import uow_cache
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, Invalid, NotFound

# Kinds a person can set preferences for, in the order the preferences form lists them.
KINDS: tuple[str, ...] = (
    "assigned",
    "returned",
    "appeal",
    "reminder",
    "escalation",
    "feedback",
    "weekly_log",
    "weekly_log_missing",
    "publish_quarter",
    "publication",
    "objection",
    "objection_answer",
    "differentiation",
    "overdue_digest",
    "overdue_unit_digest",
)
DEFAULT = (True, False)  # (in_app, email) when a person has not chosen

uow_cache.watch(NotificationPreference)


def preferences(session: Session, person_ids: Iterable[int], kind: str) -> dict[int, tuple[bool, bool]]:
    """(in_app, email) for each person who set a preference for ``kind``; the others use ``DEFAULT``."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return {}
    if uow_cache.active(session):  # a bulk run (cycle opening): one read per kind instead of one per message
        chosen = uow_cache.get(session, ("notification_preferences", kind), lambda: _all_preferences(session, kind))
        return {pid: chosen[pid] for pid in ids if pid in chosen}
    with session.no_autoflush:  # preferences are flushed when saved; don't flush the caller's work for this read
        rows = session.execute(
            select(NotificationPreference.person_id, NotificationPreference.in_app, NotificationPreference.email).where(
                NotificationPreference.kind == kind, NotificationPreference.person_id.in_(ids)
            )
        ).all()
    return {r.person_id: (r.in_app, r.email) for r in rows}


def _all_preferences(session: Session, kind: str) -> dict[int, tuple[bool, bool]]:
    """Everyone's choice for ``kind``: at most one row per person, read once per cached bulk run."""
    with session.no_autoflush:
        rows = session.execute(
            select(NotificationPreference.person_id, NotificationPreference.in_app, NotificationPreference.email).where(
                NotificationPreference.kind == kind
            )
        ).all()
    return {r.person_id: (r.in_app, r.email) for r in rows}


def notify(
    session: Session,
    recipients: Iterable[int],
    kind: str,
    text: str,
    *,
    link: str | None = None,
    instance_id: int | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: Callable[[int], str] | None = None,
) -> int:
    """Create one notification per recipient by their preferences; returns how many were created.

    With ``dedupe_key`` (recipient id → key) a recipient who already has the message is skipped,
    also when another transaction created it concurrently.
    """
    people = list(dict.fromkeys(recipients))
    if not people:
        return 0
    prefs = preferences(session, people, kind)
    keys = {pid: dedupe_key(pid) for pid in people} if dedupe_key else {}
    if keys:
        with session.no_autoflush:
            existing = set(
                session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys.values())))
            )
        people = [pid for pid in people if keys[pid] not in existing]
    rows = []
    for pid in people:
        in_app, email = prefs.get(pid, DEFAULT)
        if not (in_app or email):
            continue
        rows.append(
            Notification(
                recipient_id=pid,
                kind=kind,
                text=text[:500],
                link=link,
                instance_id=instance_id,
                data=data,
                dedupe_key=keys.get(pid),
                in_app=in_app,
                email_wanted=email,
                created_at=utcnow(),
            )
        )
    if not rows:
        return 0
    if not keys:
        session.add_all(rows)  # flushed with the caller's work
        return len(rows)
    try:
        with session.begin_nested():
            session.add_all(rows)
            session.flush()
        return len(rows)
    except IntegrityError:  # a concurrent run created some of them: insert one by one, skipping those
        created = 0
        for row in rows:
            fresh = Notification(**{c: getattr(row, c) for c in _COPY})
            try:
                with session.begin_nested():
                    session.add(fresh)
                    session.flush()
                created += 1
            except IntegrityError:
                continue
        return created


_COPY = ("recipient_id", "kind", "text", "link", "instance_id", "data", "dedupe_key", "in_app", "email_wanted")


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _visible(person_id: int) -> Any:
    return (Notification.recipient_id == person_id) & Notification.in_app.is_(True)


def unread_count(session: Session, person_id: int | None) -> int:
    """The number beside "Messages" in the navigation."""
    if person_id is None:
        return 0
    return (
        session.scalar(
            select(func.count()).select_from(Notification).where(_visible(person_id), Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(session: Session, actor: Actor, page: int = 1, per_page: int = 50) -> NotificationPage:
    """The actor's messages, unread first, newest first within each group."""
    if actor.person_id is None:
        return NotificationPage([], 0, 0, 1, per_page)
    where = _visible(actor.person_id)
    total = session.scalar(select(func.count()).select_from(Notification).where(where)) or 0
    items = session.scalars(
        select(Notification)
        .where(where)
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return NotificationPage(list(items), total, unread_count(session, actor.person_id), max(page, 1), per_page)


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's own messages read (reading someone else's is refused)."""
    item = session.get(Notification, notification_id)
    if item is None:
        raise NotFound(T_("Message %(id)s does not exist.", id=notification_id))
    if item.recipient_id != actor.person_id:
        raise Forbidden(T_("This message is not yours."))
    if item.read_at is None:
        item.read_at = utcnow()
        session.flush()
    return item


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark every unread message of the actor read; returns how many."""
    if actor.person_id is None:
        return 0
    result = session.execute(
        update(Notification)
        .where(Notification.recipient_id == actor.person_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def my_preferences(session: Session, actor: Actor) -> dict[str, tuple[bool, bool]]:
    """(in_app, email) for every kind, defaults filled in."""
    if actor.person_id is None:
        return dict.fromkeys(KINDS, DEFAULT)
    rows = session.scalars(select(NotificationPreference).where(NotificationPreference.person_id == actor.person_id))
    chosen = {r.kind: (r.in_app, r.email) for r in rows}
    return {k: chosen.get(k, DEFAULT) for k in KINDS}


def set_preferences(
    session: Session, actor: Actor, choices: dict[str, tuple[bool, bool]], email_address: str | None
) -> None:
    """Save the actor's channels per kind and the address e-mails go to; applies to messages from now on."""
    if actor.person_id is None:
        raise Forbidden(T_("Only a person can have notification preferences."))
    unknown = set(choices) - set(KINDS)
    if unknown:
        raise Invalid(T_("Unknown notification kind: %(kinds)s.", kinds=", ".join(sorted(unknown))))
    address = (email_address or "").strip() or None
    if address is not None and ("@" not in address or len(address) > 254 or any(c.isspace() for c in address)):
        raise Invalid(T_("Enter a valid e-mail address."), {"email": T_("Not an e-mail address.")})
    if address is None and any(email for _in_app, email in choices.values()):
        raise Invalid(T_("Enter the e-mail address to send to."), {"email": T_("Required for e-mail notifications.")})
    person = session.get(Person, actor.person_id)
    assert person is not None
    person.email = address
    existing = {
        r.kind: r
        for r in session.scalars(
            select(NotificationPreference).where(NotificationPreference.person_id == actor.person_id)
        )
    }
    now = utcnow()
    for kind, (in_app, email) in choices.items():
        row = existing.get(kind)
        if row is None:
            session.add(
                NotificationPreference(person_id=actor.person_id, kind=kind, in_app=in_app, email=email, updated_at=now)
            )
        elif (row.in_app, row.email) != (in_app, email):
            row.in_app, row.email, row.updated_at = in_app, email, now
    session.flush()
