"""Where domain areas plug into task completion without the engine knowing them.

- A *task handler* owns a form key whose data is richer than flat fields (an indicator set's
  rows): it validates the payload, stores what belongs to the domain, and returns the small
  dict that goes into the workflow data. It raises ``Invalid`` naming each bad field.
- A *listener* is told after every completion of a process's task (and after start), so the
  domain can move its own status along (a draft goes into review, a set becomes effective).
Both run inside the same transaction as the completion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import HumanTask, ProcessInstance
from app.services.actor import Actor

TaskHandler = Callable[[Session, Actor, HumanTask, dict[str, Any]], dict[str, Any]]
TaskContext = Callable[[Session, HumanTask], dict[str, Any]]
Listener = Callable[[Session, ProcessInstance, "HumanTask | None", "str | None"], None]


@dataclass(frozen=True)
class Started:
    """A newly started instance as plain values: what a start listener needs, without loading the instance."""

    instance_id: int
    process_key: str
    subject_id: int | None
    period: str
    created_at: datetime
    completed: bool
    waiting_forms: tuple[str, ...]  # form keys of the user tasks the instance now waits on


StartListener = Callable[[Session, Sequence[Started]], None]

_handlers: dict[str, TaskHandler] = {}
_contexts: dict[str, TaskContext] = {}
_listeners: dict[str, list[Listener]] = {}
_start_listeners: dict[str, dict[Listener, StartListener]] = {}


def register_task_handler(form_key: str, handler: TaskHandler, context: TaskContext | None = None) -> None:
    _handlers[form_key] = handler
    if context is not None:
        _contexts[form_key] = context


def register_listener(process_key: str, listener: Listener) -> None:
    listeners = _listeners.setdefault(process_key, [])
    if listener not in listeners:
        listeners.append(listener)


def handler_for(form_key: str) -> TaskHandler | None:
    return _handlers.get(form_key)


def context_for(session: Session, task: HumanTask) -> dict[str, Any]:
    fn = _contexts.get(task.form_key)
    return fn(session, task) if fn else {}


def notify_listeners(session: Session, instance: ProcessInstance, task: HumanTask | None, decision: str | None) -> None:
    for listener in _listeners.get(instance.process_key, []):
        listener(session, instance, task, decision)


def register_start_listener(process_key: str, listener: Listener, on_started: StartListener) -> None:
    """Let ``on_started`` do ``listener``'s work for started instances, for many of them in one call.

    Bulk starts (cycle opening) then write the domain rows of a whole chunk at once; ``listener``
    is no longer called for starts of ``process_key``.
    """
    register_listener(process_key, listener)
    _start_listeners.setdefault(process_key, {})[listener] = on_started


def notify_started(
    session: Session,
    process_key: str,
    started: Sequence[Started],
    instances: Mapping[int, ProcessInstance] | None = None,
) -> None:
    """Tell the listeners of ``process_key`` that these instances started (decision ``"started"``).

    A listener without a start counterpart gets each instance as an ORM object: from ``instances``
    when the caller has them, else loaded with one query.
    """
    if not started:
        return
    bulk = _start_listeners.get(process_key, {})
    loaded: Mapping[int, ProcessInstance] | None = instances
    for listener in _listeners.get(process_key, []):
        if listener in bulk:
            bulk[listener](session, started)
            continue
        if loaded is None:
            ids = [s.instance_id for s in started]
            loaded = {i.id: i for i in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids)))}
        for s in started:
            listener(session, loaded[s.instance_id], None, "started")
