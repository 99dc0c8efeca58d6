"""Where domain areas plug into task completion without the engine knowing them.

- A *task handler* owns a form key whose data is richer than flat fields (an indicator set's
  rows): it validates the payload, stores what belongs to the domain, and returns the small
  dict that goes into the workflow data. It raises ``Invalid`` naming each bad field.
- A *listener* is told after every completion of a process's task (and after start), so the
  domain can move its own status along (a draft goes into review, a set becomes effective).
Both run inside the same transaction as the completion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.models import HumanTask, ProcessInstance
from app.services.actor import Actor

TaskHandler = Callable[[Session, Actor, HumanTask, dict[str, Any]], dict[str, Any]]
TaskContext = Callable[[Session, HumanTask], dict[str, Any]]
Listener = Callable[[Session, ProcessInstance, "HumanTask | None", "str | None"], None]

_handlers: dict[str, TaskHandler] = {}
_contexts: dict[str, TaskContext] = {}
_listeners: dict[str, list[Listener]] = {}


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
