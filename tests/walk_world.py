"""The world of the authorisation walk: objects of every kind owned by one person, section or unit.

Each is created through its service as people would: a periodic appraisal with its record and tasks, an
indicator set with its setting process, a unit task with an assignment and progress (with evidence), a weekly
log with evidence, a notification, a common indicator, bonus items with evidence, an evaluation round with the
owner's rating task, confirmed quarter results, their approved publication with the owner's objection, a bonus
distribution, and the unit's monthly analysis report with its task and a showcase post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.models import (
    AppraisalRecord,
    HumanTask,
    IndicatorSet,
    Notification,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    TaskStatus,
    UserAccount,
)
from app.services import evidence
from app.services.actor import SYSTEM, Actor, actor_for_user
from app.services.analysis import reports as analysis_reports
from app.services.analysis import showcase
from app.services.appraisal import bonus_items, distribution, evaluation, logs, objections, publication
from app.services.appraisal.bonus import quarter_of
from app.services.indicators import common, unit_tasks
from app.services.indicators import flow as indicator_flow
from app.services.indicators.unit_tasks import TaskInput
from app.workflow import runtime
from tests.publication_data import add_results, approve
from tests.test_appraisal_flow import PERIOD, YEAR
from tests.test_appraisal_logs import PDF, weeks_ago

OWNER, PEER, HEAD, ADMIN, UNIT = "ljjd103", "ljjd104", "ljjd101", "ljjd102", "ljjd"
OWNER_NAME = "走查对象甲"  # unique in the district, so finding it in a page is a leak and not a namesake
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
MAX_BYTES = 1 << 20


@dataclass
class Appraisal:
    """Ids of the owner's (or the owner's unit's) appraisal objects, by URL variable, and their tasks."""

    ids: dict[str, list[Any]] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)  # URL prefix → a waiting task of the owner's objects


def ready_task(session: Any, instance_id: int | None) -> int:
    task = session.scalar(
        select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )
    assert task is not None, f"instance {instance_id} waits for nobody"
    return int(task)


def _appraisal_objects(
    session: Any, owner: Person, unit: OrgUnit, period: str, *, me: Actor, admin: Actor, store: Path
) -> Appraisal:
    """Create the objects; ``me`` acts as the owner, ``admin`` as the unit's performance administrator."""
    out = Appraisal()
    month = date(int(period[:4]), int(period[5:7]), 1)
    quarter = quarter_of(month)

    # the owner's own bonus proposal, with evidence, waiting for its check
    data = {"kind": "innovation", "points": "2", "occurred_on": month, "reason": "走查加分"}
    proposal = bonus_items.propose(session, me, owner.id, data, month.replace(day=20))
    item = proposal.item
    bonus_evidence = bonus_items.add_evidence(
        session, me, item.id, evidence.Upload(filename="加分.pdf", data=PDF), store, MAX_BYTES
    )
    out.tasks["/bonus/"] = ready_task(session, item.instance_id)
    out.ids["bonus_item_id"] = [item.id]
    out.ids["bonus_evidence_id"] = [bonus_evidence.id]

    # the unit's evaluation round of the quarter: the owner rates (and is rated by) the section
    opened = evaluation.open_round(session, admin, unit.id, quarter)
    rating = session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.process_key == evaluation.PROCESS,
            ProcessInstance.subject_id == owner.id,
            ProcessInstance.period == quarter,
        )
    )
    out.tasks["/evaluation/"] = ready_task(session, rating)
    out.ids["round_id"] = [opened.round.id]
    out.ids["period"] = [quarter]

    # the quarter's confirmed results, published (the owner objects to their row) and distributed
    add_results(session, unit.code, quarter)
    published = publication.prepare_publication(session, admin, unit.id, quarter)
    approve(session, published.instance_id, unit.code)
    session.refresh(published)
    row = next(r for r in published.rows if r.person_id == owner.id)
    objection = objections.file_objection(session, me, row.id, "走查异议")
    bonus_pool = distribution.create_distribution(session, admin, unit.id, quarter, "100000")
    out.ids["publication_id"] = [published.id]
    out.ids["row_id"] = [row.id]
    out.ids["objection_id"] = [objection.id]
    out.ids["distribution_id"] = [bonus_pool.id]

    # the unit's monthly analysis report (its drafting task) and a highlight awaiting curation
    report, _ = analysis_reports.open_report(session, SYSTEM, unit.id, period)
    out.tasks["/analysis/"] = ready_task(session, report.instance_id)
    post = showcase.create_post(
        session,
        admin,
        showcase.NewPost(unit.id, quarter, "走查亮点", "走查"),
        [evidence.Upload(filename="走查.png", data=PNG)],
        store=store,
        max_bytes=MAX_BYTES,
    )
    out.ids["report_id"] = [report.id]
    out.ids["post_id"] = [post.id]
    out.ids["picture_id"] = [post.pictures[0].id]
    return out


@dataclass
class World:
    owner: Person
    ids: dict[str, list[Any]] = field(default_factory=dict)
    appraisal_task: int = 0
    indicator_task: int = 0
    unit_task: int = 0
    instance_ids: list[int] = field(default_factory=list)
    set_id: int = 0
    tasks: dict[str, int] = field(default_factory=dict)  # URL prefix → a task of the owner's objects there


def _account(session: Any, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _actor(session: Any, username: str) -> Any:
    return actor_for_user(session, _account(session, username))


def build_world(session: Any, store: Path) -> World:
    """The whole world, committed; evidence files go to ``store``."""
    owner = _account(session, OWNER).person
    owner.name = OWNER_NAME
    session.flush()
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == UNIT))
    section = owner.section

    # a periodic appraisal (its record is created by the process listener) and the owner's summary task
    appraisal = runtime.start_process(session, SYSTEM, "periodic_appraisal", PERIOD, owner.id).instance
    record_id = session.scalar(select(AppraisalRecord.id).where(AppraisalRecord.instance_id == appraisal.id))
    # the year's indicator setting: the set and the owner's drafting task
    indicator_flow.start_for(session, SYSTEM, owner, YEAR)
    indicator_set = session.scalar(
        select(IndicatorSet).where(IndicatorSet.person_id == owner.id, IndicatorSet.year == YEAR)
    )
    indicator_instance = indicator_set.versions[-1].instance_id
    # a unit task decomposed to the owner, with progress and evidence
    admin = _actor(session, ADMIN)
    task = unit_tasks.create_task(
        session, admin, unit.id, TaskInput(title="走查任务", deadline=date(YEAR, 12, 31), year=YEAR)
    )
    assignment = unit_tasks.assign(session, admin, task.id, owner.id, "lead")
    progress = unit_tasks.record_progress(
        session,
        _actor(session, OWNER),
        assignment.id,
        20,
        "走查进展",
        evidence.Upload(filename="进展.pdf", data=PDF),
        store=store,
        max_bytes=1 << 20,
    )
    # last week's log with evidence
    me = _actor(session, OWNER)
    log = logs.save_week(session, me, weeks_ago(1), [{"content": "走查周记"}])
    log_evidence = logs.add_evidence(
        session, me, log.entries[0].id, evidence.Upload(filename="周记.pdf", data=PDF), store=store, max_bytes=1 << 20
    )
    # bonus items, an evaluation round, results with their publication and distribution, the analysis report
    appraisal_objects = _appraisal_objects(session, owner, unit, PERIOD, me=me, admin=admin, store=store)
    session.commit()
    notification = session.scalar(
        select(Notification.id).where(Notification.recipient_id == owner.id).order_by(Notification.id.desc())
    )
    definition = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == "periodic_appraisal").order_by(ProcessDefinition.id)
    )
    common_item = common.create_item(
        session, _actor(session, "office1"), YEAR, common.CommonInput(name="走查共性", standard="标准", weight="5")
    ).id
    assert record_id and indicator_instance and notification and common_item, "the world is incomplete"
    appraisal_task, indicator_task = ready_task(session, appraisal.id), ready_task(session, indicator_instance)
    return World(
        owner=owner,
        appraisal_task=appraisal_task,
        indicator_task=indicator_task,
        unit_task=task.id,
        instance_ids=[appraisal.id, indicator_instance],
        set_id=indicator_set.id,
        ids={
            "instance_id": [appraisal.id, indicator_instance],
            "set_id": [indicator_set.id],
            "person_id": [owner.id],
            "user_id": [_account(session, OWNER).id],
            "unit_id": [unit.id],
            "section_id": [section.id],
            "record_id": [record_id],
            "assignment_id": [assignment.id],
            "entry_id": [log.entries[0].id],
            "evidence_id": [log_evidence.id],
            "progress_id": [progress.id],
            "notification_id": [notification],
            "item_id": [common_item],
            "number": [1],
            "key": [definition.key],
            "definition_id": [definition.id],
            "code": ["en"],
            "name": ["weekly_logs"],
            "year": [str(YEAR)],
            **appraisal_objects.ids,
        },
        tasks=appraisal_objects.tasks,
    )
