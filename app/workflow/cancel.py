"""Stopping a running process instance from the domain side.

A domain object can end the work a process waits for — an evaluation round is closed, so the
raters who have not submitted have nothing left to do. ``cancel_instance`` then takes the
instance out of the engine's hands: its open tasks leave every inbox (status ``cancelled``), no
timer fires for it any more, the history says who stopped it and why, and the process's
listeners hear ``"cancelled"`` so the domain can follow. The caller checks the right to stop it;
the engine does not know why the work is over.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import T_, NotFound
from app.workflow import hooks, mirror


def cancel_instance(session: Session, actor: Actor, instance_id: int, reason: str) -> bool:
    """Cancel ``instance_id`` if it is still running; return False if it had already ended.

    The status flips through a conditional UPDATE, so a concurrent completion or cancel cannot
    both win: the instance row's lock (taken by ``with_for_update``) orders them. A copy the session
    already holds is refreshed under that lock: read before another transaction ended the instance,
    it would look running (and a locking ``get`` refuses its stale version with ``StaleDataError``).
    """
    held = session.identity_map.get(session.identity_key(ProcessInstance, instance_id))
    if held is not None:
        session.refresh(held, with_for_update=True)
        instance: ProcessInstance | None = held
    else:
        instance = session.get(ProcessInstance, instance_id, with_for_update=True)
    if instance is None:
        raise NotFound(T_("Process instance %(id)s does not exist.", id=instance_id))
    if instance.status is not InstanceStatus.running:
        return False
    now = utcnow()
    session.execute(
        update(HumanTask)
        .where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.ready)
        .values(status=TaskStatus.cancelled, completed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    instance.status = InstanceStatus.cancelled
    instance.completed_at = now
    instance.next_timer_at = None
    mirror.record(session, instance, "", "", "cancelled", actor_id=actor.person_id, comment=reason, at=now)
    session.flush()
    audit.record(session, actor, "instance.cancel", "process_instance", instance.id, "success", {"reason": reason})
    hooks.notify_listeners(session, instance, None, "cancelled")
    return True
