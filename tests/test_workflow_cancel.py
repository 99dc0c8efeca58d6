"""Cancelling a running instance (app/workflow/cancel.py): open tasks leave the inbox, the history says so, and a
cancel that comes after another transaction ended the instance says so instead of failing.

The second test runs on COMMITTED data in two sessions (the ``session`` fixture's savepoint is invisible
to other connections), like the other concurrency tests: SQLite by default, PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import HumanTask, InstanceEvent, InstanceStatus, ProcessInstance, TaskStatus
from app.services.actor import SYSTEM
from app.workflow import runtime
from app.workflow.cancel import cancel_instance
from tests import test_workflow_concurrency as concurrency
from tests.test_workflow_concurrency import Committed

committed = concurrency.committed

CANCEL_PERIOD = "2033-05"  # a month no other test opens
CANCEL_OWNER = "ljjd204"


def test_cancel_takes_open_tasks_out_and_records_it_once(session: Any, make_person: Any) -> None:
    person = make_person()
    started = runtime.start_process(session, SYSTEM, "periodic_appraisal", CANCEL_PERIOD, person.id)
    instance = started.instance
    assert cancel_instance(session, SYSTEM, instance.id, "no longer needed")
    assert instance.status is InstanceStatus.cancelled and instance.next_timer_at is None
    statuses = session.scalars(select(HumanTask.status).where(HumanTask.instance_id == instance.id)).all()
    assert statuses and set(statuses) == {TaskStatus.cancelled}
    kinds = session.scalars(select(InstanceEvent.kind).where(InstanceEvent.instance_id == instance.id)).all()
    assert "cancelled" in kinds
    assert not cancel_instance(session, SYSTEM, instance.id, "again")  # already ended: nothing to do


def test_a_cancel_after_another_transaction_ended_the_instance_returns_false(committed: Committed) -> None:
    """The instance was loaded before another transaction cancelled it: the row lock's fresh row decides,
    not the stale copy in the session (which made the flush fail with a version mismatch)."""
    committed.start(CANCEL_OWNER, CANCEL_PERIOD)
    instance_id = committed.instance_ids[-1]
    with committed.factory() as late:
        stale = late.get(ProcessInstance, instance_id)
        assert stale is not None and stale.status is InstanceStatus.running
        late.commit()  # the session keeps the object (expire_on_commit=False), as a request keeps what it read
        with committed.factory() as first:
            assert cancel_instance(first, SYSTEM, instance_id, "round closed")
            first.commit()
        assert not cancel_instance(late, SYSTEM, instance_id, "round closed")
        late.commit()
    with committed.factory() as s:
        events = s.scalars(
            select(InstanceEvent.kind).where(
                InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "cancelled"
            )
        ).all()
        assert len(events) == 1
