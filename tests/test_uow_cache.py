"""The bulk-run read cache (issue 10): cached inside a scope only, never stale after a change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select

from app.models import NotificationPreference, OrgUnit, Person, Role, RoleAssignment
from app.services import notifications, uow_cache
from app.workflow import assignment


def _count_selects(session: Any, table: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """(how many SELECTs from ``table`` ran so far, stop counting)."""
    seen = {"n": 0}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen["n"] += 1

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", before)
    return (lambda: seen["n"]), (lambda: event.remove(bind, "before_cursor_execute", before))


def test_holders_are_read_once_in_a_scope_and_a_new_role_is_still_seen(
    session: Any, make_person: Callable[..., Person]
) -> None:
    subject = make_person("ljjd-1")
    section = session.scalar(select(OrgUnit).where(OrgUnit.code == "ljjd-1"))
    count, stop = _count_selects(session, "role_assignment")
    with uow_cache.scope(session):
        first = assignment.resolve(session, "section_head", subject)
        before = count()
        assert assignment.resolve(session, "section_head", subject) == first
        assert count() == before  # answered from the cache
        newcomer = make_person("ljjd-1")  # commits: the cache is dropped as well
        session.add(RoleAssignment(person_id=newcomer.id, role=Role.section_head, org_unit_id=section.id))
        # not flushed yet: the uncached query would autoflush and see it, so must the cached path
        assert newcomer.id in assignment.resolve(session, "section_head", subject).person_ids
    stop()
    assert first.person_ids and before > 0
    assert not uow_cache.active(session)


def test_preferences_in_a_scope_follow_a_change_in_the_same_transaction(
    session: Any, make_person: Callable[..., Person]
) -> None:
    person = make_person("ljjd-1")
    with uow_cache.scope(session):
        assert notifications.preferences(session, [person.id], "assigned") == {}
        session.add(NotificationPreference(person_id=person.id, kind="assigned", in_app=False, email=False))
        session.flush()
        assert notifications.preferences(session, [person.id], "assigned") == {person.id: (False, False)}
        assert notifications.notify(session, [person.id], "assigned", "x") == 0  # both channels off: no row


def test_without_a_scope_nothing_is_cached(session: Any, make_person: Callable[..., Person]) -> None:
    person = make_person("ljjd-1")
    calls = {"n": 0}

    def load() -> int:
        calls["n"] += 1
        return 1

    uow_cache.get(session, ("k",), load)
    uow_cache.get(session, ("k",), load)
    assert calls["n"] == 2
    with uow_cache.scope(session):
        uow_cache.get(session, ("k",), load)
        uow_cache.get(session, ("k",), load)
        assert calls["n"] == 3
        session.commit()  # another transaction may change the rows: read again
        uow_cache.get(session, ("k",), load)
        assert calls["n"] == 4
    assert person.id
