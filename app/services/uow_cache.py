"""A read cache that lives for one bulk operation inside one transaction (cycle opening).

Why: opening a cycle asks the same questions thousands of times in one unit of work — who
holds a role on this section, which notification channels a person chose. Answers are kept in
``session.info`` only while a ``scope`` is active, so ordinary requests never see cached data.

Why it stays correct: the cache is dropped whenever the data it mirrors may have changed —
a flush with new/changed/deleted ``RoleAssignment``, ``Person`` or ``NotificationPreference``
objects, any bulk UPDATE/DELETE/INSERT run through the session, and every commit or rollback
(another transaction may have changed the rows since), and a
rollback to a SAVEPOINT. It is then filled again lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

_ENABLED = "jixiao.uow_cache.enabled"
_DATA = "jixiao.uow_cache.data"

V = TypeVar("V")

# Classes whose changes invalidate the cache; filled by ``watch`` (avoids importing models here).
_WATCHED: tuple[type, ...] = ()


def watch(*classes: type) -> None:
    """Register model classes whose new/dirty/deleted instances make cached answers stale."""
    global _WATCHED
    _WATCHED = tuple(dict.fromkeys(_WATCHED + classes))


@contextmanager
def scope(session: Session) -> Iterator[None]:
    """Cache reads made through ``get`` while the block runs; nested scopes share the outer one."""
    if session.info.get(_ENABLED):
        yield
        return
    session.info[_ENABLED] = True
    try:
        yield
    finally:
        session.info.pop(_ENABLED, None)
        session.info.pop(_DATA, None)


def active(session: Session) -> bool:
    return bool(session.info.get(_ENABLED))


def get(session: Session, key: tuple[Any, ...], load: Callable[[], V]) -> V:
    """``load()``'s answer for ``key``, from the cache when a scope is active and it is fresh."""
    if not session.info.get(_ENABLED):
        return load()
    if _DATA in session.info and _pending_change(session):
        clear(session)  # unflushed changes: the query ``load`` runs would see (or autoflush) them
    data: dict[tuple[Any, ...], Any] = session.info.setdefault(_DATA, {})
    if key not in data:
        data[key] = load()
    return data[key]


def clear(session: Session) -> None:
    session.info.pop(_DATA, None)


def _pending_change(session: Session) -> bool:
    return bool(_WATCHED) and any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if _DATA in session.info and _pending_change(session):
        clear(session)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if _DATA in state.session.info and not state.is_select:
        clear(state.session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction ended (commit or rollback); a SAVEPOINT release keeps it
        clear(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    clear(session)
