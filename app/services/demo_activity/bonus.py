"""The demo's bonus and deduction items (绩优加分/绩差扣分): a few per unit, through the real approval process.

Each is proposed by the person's section head with an evidence file, and approved by the unit's
principal (``bonus_deduction``), at simulated moments inside the quarter; the engine's rows and the
item's timestamps are then moved there like every other step (``clock``). Deterministic per unit;
a unit that already has items dated in the quarter is left alone, so re-running adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from app.models import (
    BonusEvidence,
    BonusItem,
    HumanTask,
    InstanceEvent,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessInstance,
    Role,
    RoleAssignment,
)
from app.models.base import utcnow
from app.services import evidence
from app.services.appraisal import bonus_items, common
from app.services.demo_activity.clock import Run, local, move_task, move_timestamps

# (kind, points, reason) of the items handed out, in this order, to people drawn from the unit.
ITEMS = (
    ("innovation", "2", "牵头推行公文流转电子化，被区里作为经验推广"),
    ("commendation", "3", "获评市级“优秀政务服务窗口”先进个人"),
    ("over_fulfilment", "1.5", "超额完成季度资产清查任务"),
    ("criticism", "1", "报送材料出现差错，被区督查通报批评"),
)
# A one-page PDF as the evidence file (a real upload is content-checked the same way).
EVIDENCE = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MAX_BYTES = 5 * 1024 * 1024


def _head_of(run: Run, section_id: int, person_id: int) -> int | None:
    return run.session.scalar(
        select(RoleAssignment.person_id)
        .where(
            RoleAssignment.role == Role.section_head,
            RoleAssignment.org_unit_id == section_id,
            RoleAssignment.person_id != person_id,
        )
        .order_by(RoleAssignment.person_id)
    )


def _settle(run: Run, item: BonusItem, mark: datetime, proposed: datetime) -> None:
    """Move the proposal (item, evidence, instance, first task, history) from the real time to ``proposed``."""
    s = run.session
    instance = s.get(ProcessInstance, item.instance_id)
    assert instance is not None
    instance.created_at = proposed
    for task in s.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)):
        move_task(task, proposed)
    move_timestamps(
        s, InstanceEvent, (InstanceEvent.instance_id == instance.id) & (InstanceEvent.at >= mark), {"at": proposed}
    )
    s.flush()


def approve_items(run: Run, unit: OrgUnit, months: list[str], store: Path, rng: random.Random) -> None:
    """Up to ``len(ITEMS)`` approved items of the unit, dated in ``months``, decided a few days later."""
    s = run.session
    first = date(int(months[0][:4]), int(months[0][5:]), 1)
    today = common.local_date(run.now)
    if s.scalar(select(BonusItem.id).where(BonusItem.unit_id == unit.id, BonusItem.occurred_on >= first)):
        return
    people = s.scalars(
        select(Person)
        .join(OrgUnit, Person.section_id == OrgUnit.id)
        .where(OrgUnit.parent_id == unit.id, Person.status == PersonStatus.active)
        .order_by(Person.staff_no)
    ).all()
    chosen = rng.sample(list(people), k=min(len(ITEMS), len(people)))
    for person, (kind, points, reason) in zip(chosen, ITEMS, strict=False):
        month = rng.choice(months)
        day = date(int(month[:4]), int(month[5:]), rng.randint(3, 25))
        proposed = local(day + timedelta(days=rng.randint(1, 4)), 9 + rng.uniform(0, 8))
        decided = proposed + timedelta(days=rng.uniform(1, 6))
        head = _head_of(run, person.section_id, person.id) if person.section_id else None
        if head is None or decided > run.now:
            continue
        actor = run.actor(head)
        mark = utcnow()
        data = {"kind": kind, "points": points, "occurred_on": day.isoformat(), "reason": reason}
        item = bonus_items.propose(s, actor, person.id, data, today).item
        bonus_items.add_evidence(s, actor, item.id, evidence.Upload("证明材料.pdf", EVIDENCE), store, MAX_BYTES)
        _settle(run, item, mark, proposed)
        instance = s.get(ProcessInstance, item.instance_id)
        assert instance is not None
        if run.act(instance, {"decision": "approve", "comment": "经集体研究，同意"}, decided) is None:
            continue
        where = BonusItem.id == item.id
        values = {"proposed_at": proposed, "created_at": proposed, "updated_at": decided, "decided_at": decided}
        move_timestamps(s, BonusItem, where, values)
        move_timestamps(s, BonusEvidence, BonusEvidence.item_id == item.id, {"uploaded_at": proposed})
        s.expire_all()
        run.summary.bonus_items += 1
